"""The verify runner: each sink polled until it has the journey or the deadline passes, and
the table it prints. A sink read through another (the worker, through Loki) is `unknown`, not
a second failure, while that one is missing."""

import subprocess
import sys
from dataclasses import dataclass, field

from logger_app.verify.runner import table, watch
from logger_app.verify.sinks import Journey

JOURNEY = Journey(trace_ids=("a" * 32, "b" * 32), patient_id="p", record_id="r", started=0.0)


@dataclass
class Clock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Sink:
    name: str
    clock: Clock
    arrives_at: float | None
    via: str | None = None
    calls: list[float] = field(default_factory=list)

    def missing(self, journey: Journey) -> str | None:
        self.calls.append(self.clock.now)
        if self.arrives_at is not None and self.clock.now >= self.arrives_at:
            return None
        return f"{self.name} not yet"


def test_every_sink_arrives_and_is_not_asked_again() -> None:
    clock = Clock()
    fast, slow = Sink("loki", clock, 0.0), Sink("prometheus", clock, 10.0)
    outcomes = watch([fast, slow], JOURNEY, 60, poll_seconds=2, clock=clock, sleep=clock.sleep)
    assert [(o.sink, o.arrived_after, o.failed) for o in outcomes] == [
        ("loki", 0.0, False),
        ("prometheus", 10.0, False),
    ]
    assert fast.calls == [0.0]
    assert clock.now == 10.0
    assert table(outcomes) == "loki        arrived in 0 s\nprometheus  arrived in 10 s"


def test_a_sink_missing_at_the_deadline_is_named_with_its_reason() -> None:
    clock = Clock()
    outcomes = watch(
        [Sink("tempo", clock, None), Sink("loki", clock, 4.0)],
        JOURNEY,
        30,
        poll_seconds=2,
        clock=clock,
        sleep=clock.sleep,
    )
    assert clock.now == 30
    assert [o.failed for o in outcomes] == [True, False]
    assert table(outcomes).splitlines()[0] == "tempo  missing: tempo not yet"


def test_a_sink_read_through_a_missing_one_is_unknown_not_failed() -> None:
    clock = Clock()
    outcomes = watch(
        [Sink("loki", clock, None), Sink("worker", clock, None, via="loki")],
        JOURNEY,
        10,
        clock=clock,
        sleep=clock.sleep,
    )
    assert [o.failed for o in outcomes] == [True, False]
    assert table(outcomes).splitlines()[1] == (
        "worker  unknown: read through loki, which is missing"
    )


def test_a_sink_whose_carrier_arrived_is_missing_itself() -> None:
    clock = Clock()
    outcomes = watch(
        [Sink("loki", clock, 0.0), Sink("worker", clock, None, via="loki")],
        JOURNEY,
        10,
        clock=clock,
        sleep=clock.sleep,
    )
    assert [o.failed for o in outcomes] == [False, True]


def test_verify_imports_no_test_dependency() -> None:
    """It runs in the app's image, which has the runtime dependencies only (httpx is a test
    one)."""
    blocked = "import sys; sys.modules['httpx'] = None; import logger_app.verify.command"
    result = subprocess.run(
        [sys.executable, "-c", blocked], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
