"""survsim: fast agent-based simulation of mass-surveillance states and civil violence.

Every person in survsim is synthetic.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("survsim")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
