"""The generic engine: state arrays, random streams, the step loop, results.

It knows nothing about surveillance or civil violence; models build on it.
"""

from survsim.engine.plan import Plan, PlanStep
from survsim.engine.results import (
    OutputExistsError,
    check_output_dir,
    environment,
    write_json_atomic,
    write_parquet_atomic,
    write_run_dir,
)
from survsim.engine.rng import Streams, stream_id
from survsim.engine.sim import Hook, Recorder, Reporter, ReporterError, Sim
from survsim.engine.state import AGENT_ID, Attribute, State

__all__ = [
    "AGENT_ID",
    "Attribute",
    "Hook",
    "OutputExistsError",
    "Plan",
    "PlanStep",
    "Recorder",
    "Reporter",
    "ReporterError",
    "Sim",
    "State",
    "Streams",
    "check_output_dir",
    "environment",
    "stream_id",
    "write_json_atomic",
    "write_parquet_atomic",
    "write_run_dir",
]
