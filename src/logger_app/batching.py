"""Items gathered into batches, each batch handled by a background task of the event loop."""

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Batches(Generic[T]):
    """A batch leaves when it is full, or ``linger_seconds`` after its first item.

    At most ``max_in_flight`` batches are handled at once; meanwhile the items wait, up to
    ``max_waiting`` of them, after which ``add`` refuses more. ``handle`` runs in a fresh
    context (it belongs to no one caller of ``add``) and should not raise: an exception is
    logged and the batch forgotten.
    """

    def __init__(
        self,
        handle: Callable[[list[T]], Awaitable[None]],
        *,
        size: int,
        linger_seconds: float,
        max_in_flight: int,
        max_waiting: int,
    ) -> None:
        self._handle = handle
        self._size = size
        self._linger_seconds = linger_seconds
        self._max_in_flight = max_in_flight
        self._max_waiting = max_waiting
        self._waiting: list[T] = []
        self._timer: asyncio.TimerHandle | None = None
        self._in_flight: set[asyncio.Task[None]] = set()

    def add(self, item: T) -> bool:
        """Take the item for a batch; False when too many are waiting already."""
        if len(self._waiting) >= self._max_waiting:
            return False
        self._waiting.append(item)
        if len(self._waiting) >= self._size:
            self._start()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(
                self._linger_seconds, self._start, context=contextvars.Context()
            )
        return True

    async def flush(self) -> None:
        """Start what is waiting now, and return when every batch has been handled."""
        while self._waiting or self._in_flight:
            self._start()
            await asyncio.wait(set(self._in_flight))

    def _start(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        loop = asyncio.get_running_loop()
        while self._waiting and len(self._in_flight) < self._max_in_flight:
            batch = self._waiting[: self._size]
            del self._waiting[: self._size]
            task = loop.create_task(self._run(batch), context=contextvars.Context())
            self._in_flight.add(task)
            task.add_done_callback(self._done)

    async def _run(self, batch: list[T]) -> None:
        try:
            await self._handle(batch)
        except Exception:
            logger.exception("a batch failed", extra={"event": "batch.failed"})

    def _done(self, task: "asyncio.Task[None]") -> None:
        self._in_flight.discard(task)
        # Items held back by the limit on batches in flight go now; a partial batch that is
        # still lingering keeps its timer.
        if len(self._waiting) >= self._size or (self._waiting and self._timer is None):
            self._start()
