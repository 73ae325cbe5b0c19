"""Batches on a real event loop: size, linger, the limit on batches in flight, back-pressure."""

import asyncio
import logging

import pytest

from logger_app.batching import Batches


def batches(
    handled: list[list[int]], *, gate: asyncio.Event | None = None, **options: float
) -> Batches[int]:
    async def handle(batch: list[int]) -> None:
        handled.append(batch)
        if gate is not None:
            await gate.wait()

    settings = {"size": 10, "linger_seconds": 60.0, "max_in_flight": 4, "max_waiting": 100}
    return Batches(handle, **{**settings, **options})  # type: ignore[arg-type]


def test_full_batches_leave_at_once_and_the_rest_after_the_linger() -> None:
    async def scenario() -> list[list[int]]:
        handled: list[list[int]] = []
        gathered = batches(handled, linger_seconds=0.05)
        for item in range(23):
            gathered.add(item)
        await asyncio.sleep(0)  # the full batches' tasks run
        full = [list(batch) for batch in handled]
        await asyncio.sleep(0.1)  # the linger passes
        return [*full, *handled[len(full) :]]

    assert asyncio.run(scenario()) == [list(range(10)), list(range(10, 20)), [20, 21, 22]]


def test_batches_beyond_the_limit_in_flight_wait_and_extra_items_are_refused() -> None:
    async def scenario() -> tuple[int, bool, int]:
        handled: list[list[int]] = []
        gate = asyncio.Event()
        gathered = batches(handled, gate=gate, max_in_flight=2, max_waiting=15)
        accepted = [gathered.add(item) for item in range(36)]
        await asyncio.sleep(0)
        in_flight = len(handled)
        gate.set()
        await gathered.flush()
        return in_flight, accepted[-1], sum(len(batch) for batch in handled)

    in_flight, last_accepted, total = asyncio.run(scenario())
    assert in_flight == 2  # two batches of ten handled; the others wait
    assert not last_accepted  # 20 in flight and 15 waiting: the 36th is refused
    assert total == 35


def test_a_failing_batch_is_logged_and_the_others_go_on(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> list[list[int]]:
        handled: list[list[int]] = []

        async def handle(batch: list[int]) -> None:
            if batch[0] == 0:
                raise RuntimeError("a bug")
            handled.append(batch)

        gathered = Batches(handle, size=2, linger_seconds=0, max_in_flight=1, max_waiting=10)
        for item in range(4):
            gathered.add(item)
        await gathered.flush()
        return handled

    with caplog.at_level(logging.ERROR):
        assert asyncio.run(scenario()) == [[2, 3]]
    assert "a batch failed" in caplog.text
