"""Publish delay: from a write's commit to its event being in SQS, measured outside the app.

Both ends come from outside the app's own reckoning:
- the commit: the JSON line the app writes to stdout right after its DynamoDB transaction
  commits (``signup.created`` with ``patient_id``, ``record.created`` with ``record_id``), with
  its ``time`` (UTC, microseconds);
- the message: every message of the queue, received with ``SentTimestamp`` (epoch ms, set by
  the emulator when it accepts the send), its body naming the patient (``patient.signed_up``,
  ``data.patient_id``) or the record (``record.created``, ``data.id``).

Delay = SentTimestamp - commit time, per commit of the measured window. The harness polls the
queue until every commit has its message or a time limit passes, and reports how many never
arrived. Messages of other commits (the warm-up's, the fixtures') are ignored; a message sent
twice (an outbox drain publishing again) counts once, at its first send.
"""

import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3

from harness.emulator import AWS_TEST_ENV

# The app's log event after a commit -> (the event type it publishes, the log field naming it).
COMMIT_EVENTS = {
    "signup.created": ("patient.signed_up", "patient_id"),
    "record.created": ("record.created", "record_id"),
}
# The event type -> the field of the message's `data` naming the same thing.
MESSAGE_KEYS = {"patient.signed_up": "patient_id", "record.created": "id"}

Key = tuple[str, str]  # (event type, patient or record id)


@dataclass(frozen=True)
class Commit:
    key: Key
    epoch_ms: float


@dataclass(frozen=True)
class Message:
    key: Key
    sent_epoch_ms: int


@dataclass(frozen=True)
class PublishDelay:
    commits: int
    published: int
    missing: int  # commits whose message never arrived within the time limit
    waited_seconds: float  # from the start of the collection to the last message needed
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    mean_ms: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_time(text: str) -> float:
    """The log line's ``time`` (``2026-11-29T13:54:23.123456Z``) as epoch milliseconds."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000


def read_commits(log_path: Path, start: int, end: int | None = None) -> tuple[list[Commit], int]:
    """The commit lines written between the byte offsets `start` and `end` (default: the end of
    the file), and the offset where the complete lines stop (a line still being written is left
    for later)."""
    with log_path.open("rb") as log:
        log.seek(start)
        chunk = log.read() if end is None else log.read(max(end - start, 0))
    complete = chunk[: chunk.rfind(b"\n") + 1]
    return parse_commits(complete.decode(errors="replace").splitlines()), start + len(complete)


def parse_commits(lines: Iterable[str]) -> list[Commit]:
    """Commit lines among the app's output (other lines, JSON or not, are skipped)."""
    commits = []
    for line in lines:
        if not line.startswith("{"):
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        found = COMMIT_EVENTS.get(entry.get("event", "")) if isinstance(entry, dict) else None
        if found is None or not entry.get(found[1]) or not entry.get("time"):
            continue
        event_type, field = found
        commits.append(Commit((event_type, str(entry[field])), parse_time(entry["time"])))
    return commits


def parse_message(raw: dict[str, Any]) -> Message | None:
    """An SQS message (as ReceiveMessage returns it) as (event key, SentTimestamp); None for a
    message that is not one of the write events."""
    try:
        body = json.loads(raw["Body"])
        field = MESSAGE_KEYS[body["type"]]
        return Message(
            (body["type"], str(body["data"][field])), int(raw["Attributes"]["SentTimestamp"])
        )
    except (KeyError, TypeError, ValueError):
        return None


def percentile(values: Sequence[float], fraction: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default), `fraction` in [0, 1]."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def first_sends(messages: Iterable[Message]) -> dict[Key, int]:
    """Each event's earliest SentTimestamp (a drain may publish an event again)."""
    first: dict[Key, int] = {}
    for message in messages:
        if message.key not in first or message.sent_epoch_ms < first[message.key]:
            first[message.key] = message.sent_epoch_ms
    return first


def delays_ms(commits: Sequence[Commit], sent: dict[Key, int]) -> list[float]:
    return [sent[c.key] - c.epoch_ms for c in commits if c.key in sent]


def summarise(
    commits: Sequence[Commit], messages: Iterable[Message], waited_seconds: float = 0.0
) -> PublishDelay:
    delays = delays_ms(commits, first_sends(messages))
    return PublishDelay(
        commits=len(commits),
        published=len(delays),
        missing=len(commits) - len(delays),
        waited_seconds=round(waited_seconds, 3),
        p50_ms=percentile(delays, 0.50) if delays else None,
        p99_ms=percentile(delays, 0.99) if delays else None,
        max_ms=max(delays) if delays else None,
        mean_ms=sum(delays) / len(delays) if delays else None,
    )


def collect(
    commits: Sequence[Commit],
    receive: Callable[[], list[Message]],
    timeout_seconds: float = 10.0,
    poll_seconds: float = 0.05,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> PublishDelay:
    """Receive messages (each call of `receive` returns those not received before) until every
    commit has its message or `timeout_seconds` pass."""
    started = clock()
    wanted = {c.key for c in commits}
    messages: list[Message] = []
    while True:
        messages.extend(receive())
        seen = {m.key for m in messages}
        if wanted <= seen or clock() - started >= timeout_seconds:
            return summarise(commits, messages, clock() - started)
        sleep(poll_seconds)


class QueueReader:
    """Receives every message of the app's queue in the emulator, each once: the visibility
    timeout (12 h, SQS's maximum) outlasts the run."""

    def __init__(self, endpoint: str, queue_name: str) -> None:
        self._sqs = boto3.client(
            "sqs",
            endpoint_url=endpoint,
            region_name=AWS_TEST_ENV["AWS_REGION"],
            aws_access_key_id=AWS_TEST_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=AWS_TEST_ENV["AWS_SECRET_ACCESS_KEY"],
        )
        self._queue_name = queue_name

    def receiver(self) -> Callable[[], list[Message]]:
        """What `collect` polls: the queue (as bootstrapped after the last reset) is looked up
        once, then each call returns every message visible now, until a receive comes back
        empty."""
        url = self._sqs.get_queue_url(QueueName=self._queue_name)["QueueUrl"]

        def receive() -> list[Message]:
            found: list[Message] = []
            while True:
                answer = self._sqs.receive_message(
                    QueueUrl=url,
                    MaxNumberOfMessages=10,
                    WaitTimeSeconds=0,
                    VisibilityTimeout=43_200,
                    AttributeNames=["SentTimestamp"],
                )
                raw = answer.get("Messages", [])
                if not raw:
                    return found
                parsed = (parse_message(dict(r)) for r in raw)
                found.extend(m for m in parsed if m is not None)

        return receive
