"""``python -m survsim`` runs the command line."""

from survsim.cli import main

raise SystemExit(main())
