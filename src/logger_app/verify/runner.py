"""Poll every sink until what the journey produced has arrived there, or the deadline."""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from logger_app.verify.sinks import Journey, Sink

# Fits the SDK's default 60 s metric export interval, then the collector's and Prometheus's
# own delays, with room to spare.
DEFAULT_DEADLINE_SECONDS = 180.0
POLL_SECONDS = 2.0


@dataclass(frozen=True)
class Outcome:
    sink: str
    # Seconds after the journey, when it arrived; None while missing.
    arrived_after: float | None
    missing: str | None
    # A sink read through another one (the worker's lines, through Loki) cannot be told while
    # that one is missing: it is then not reported missing itself.
    unknown_because: str | None = None

    @property
    def failed(self) -> bool:
        return self.arrived_after is None and self.unknown_because is None


def watch(
    sinks: Sequence[Sink],
    journey: Journey,
    deadline_seconds: float,
    *,
    poll_seconds: float = POLL_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Outcome]:
    start = clock()
    arrived: dict[str, float] = {}
    why: dict[str, str] = {}
    while True:
        for sink in sinks:
            if sink.name in arrived:
                continue
            reason = sink.missing(journey)
            if reason is None:
                arrived[sink.name] = clock() - start
            else:
                why[sink.name] = reason
        if len(arrived) == len(sinks) or clock() - start >= deadline_seconds:
            break
        sleep(poll_seconds)
    outcomes = []
    for sink in sinks:
        via = getattr(sink, "via", None)
        blocked = via is not None and via not in arrived and any(s.name == via for s in sinks)
        if sink.name in arrived:
            outcomes.append(Outcome(sink.name, arrived[sink.name], None))
        else:
            outcomes.append(Outcome(sink.name, None, why[sink.name], via if blocked else None))
    return outcomes


def table(outcomes: Sequence[Outcome]) -> str:
    width = max((len(outcome.sink) for outcome in outcomes), default=4)
    rows = []
    for outcome in outcomes:
        if outcome.arrived_after is not None:
            verdict = f"arrived in {outcome.arrived_after:.0f} s"
        elif outcome.unknown_because is not None:
            verdict = f"unknown: read through {outcome.unknown_because}, which is missing"
        else:
            verdict = f"missing: {outcome.missing}"
        rows.append(f"{outcome.sink.ljust(width)}  {verdict}")
    return "\n".join(rows)
