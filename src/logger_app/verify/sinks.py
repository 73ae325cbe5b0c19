"""What a sink check is given and what it answers."""

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Journey:
    """What one synthetic journey produced, for the sinks to look for."""

    # The trace ids (32 lowercase hex digits) of the journey's sign-up and record requests.
    trace_ids: tuple[str, ...]
    patient_id: str
    record_id: str
    # When the journey started, in epoch seconds: sinks search from here.
    started: float


class Sink(Protocol):
    """One place the journey's telemetry must reach."""

    # As the report prints it, e.g. "prometheus", "loki", "tempo", "worker", "amp", "xray",
    # "cloudwatch".
    name: str

    def missing(self, journey: Journey) -> str | None:
        """None once what the journey produced has arrived; else what is still missing, in
        words a person can act on (the likely cause when known). Called repeatedly until the
        deadline; an unreachable sink is a missing one, never an exception."""
        ...


@runtime_checkable
class ReadsBefore(Protocol):
    """A sink that takes a reading before the journey (cumulative counters, to see them grow)."""

    def before(self) -> None:
        """Never raises: a failure is kept and reported by `missing`."""
        ...
