"""Named constants of the surveillance model: statuses, roles, regions, contexts, evidence.

Kernels compare with these module constants (numba reads a module's integer globals as
constants, so ``status[i] == FREE`` compiles to the same code as ``status[i] == 0``); the
``IntEnum`` classes give the same numbers names for Python users. The numbers are pinned
by tests/test_society.py: they are stored in the per-person arrays and in the order of
result columns (``reports_<kind>``), so changing one changes saved results.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = [
    "CONTEXTS",
    "EVIDENCE",
    "REGIONS",
    "ROLES",
    "STATUSES",
    "Context",
    "Evidence",
    "Region",
    "Role",
    "Status",
]

# -- status of a person (``status``) ----------------------------------------------------
FREE, DETAINED, IMPRISONED, DEAD = 0, 1, 2, 3
STATUSES = ("free", "detained", "imprisoned", "dead")

# -- role of a person (``role``) --------------------------------------------------------
CHILD, CIVILIAN, SOLDIER, OFFICER, SENIOR = 0, 1, 2, 3, 4
ROLES = ("child", "civilian", "soldier", "officer", "senior")

# -- devices of a person (``devices``, bits) ------------------------------------------------
HAS_COMPUTER, HAS_INTERNET = 1, 2

# -- region (``region``) ------------------------------------------------------------------
CAPITAL, INTERIOR, BORDER = 0, 1, 2
REGIONS = ("capital", "interior", "border")

# -- contexts in which people talk ----------------------------------------------------------
HOUSEHOLD, WORK, NEIGHBOURHOOD, FRIENDS, PHONE, LETTERS, PUBLIC = range(7)
CONTEXTS = ("household", "work", "neighbourhood", "friends", "phone", "letters", "public")

# -- kinds of evidence (the ``reports_<kind>`` columns, in this order) -----------------------
# The first five come from people (listeners, fabricating informants, charges against
# silent witnesses); the others from the apparatus's own watchers; ``crossing`` is an
# attempt to cross the border that a border team saw (society/exit.py).
(
    INFORMANT_REPORT,
    ORDINARY_REPORT,
    DEFENSIVE_REPORT,
    FABRICATED,
    FAILURE_TO_REPORT,
    MICROPHONE,
    WIRETAP,
    CORRESPONDENCE,
    BORDER_TEAM,
    CCTV,
    COMPUTER,
    CROSSING,
) = range(12)
EVIDENCE = (
    "informant",
    "ordinary",
    "defensive",
    "fabricated",
    "failure_to_report",
    "microphone",
    "wiretap",
    "correspondence",
    "border",
    "cctv",
    "computer",
    "crossing",
)
#: "No report" from a listener.
NO_REPORT = -1


Status = IntEnum("Status", {name.upper(): i for i, name in enumerate(STATUSES)})
Role = IntEnum("Role", {name.upper(): i for i, name in enumerate(ROLES)})
Region = IntEnum("Region", {name.upper(): i for i, name in enumerate(REGIONS)})
Context = IntEnum("Context", {name.upper(): i for i, name in enumerate(CONTEXTS)})
Evidence = IntEnum("Evidence", {name.upper(): i for i, name in enumerate(EVIDENCE)})
