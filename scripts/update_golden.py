"""Rewrite the golden baseline of the surveillance-state model (tests/data/golden_dprk.csv).

Run this only after a change that is meant to change results, and say why in the commit:

    python scripts/update_golden.py

The test ``test_golden_baseline_and_its_negative_control`` in
tests/test_surveillance_state.py compares a fixed run (the dprk scenario, 5,000 agents,
150 days, seed 3) with this file, and checks that a perturbed run does not match it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.test_surveillance_state import GOLDEN, golden_run  # noqa: E402


def main() -> None:
    """Run the golden configuration and write its time series."""
    table = golden_run()
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    tmp = GOLDEN.with_suffix(".tmp")
    pacsv.write_csv(table, tmp)
    tmp.replace(GOLDEN)
    print(f"wrote {GOLDEN.relative_to(ROOT)}: {table.num_rows} days x {table.num_columns} columns")


if __name__ == "__main__":
    main()
