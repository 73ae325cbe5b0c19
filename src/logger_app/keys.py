"""The tables' key schemas and the formats of the keys stored in them, each written once.

The records table is keyed by a record's ``id`` and ``timestamp``. The patients table holds
several kinds of item under one partition key, ``pk``, told apart by prefix: a patient, the
guard on its email (a digest), the owner of an interaction, an idempotency key (a digest), a
doctor's interaction count. The outbox table keeps pending events in a few partitions, sorted
by time, beside the worker's processed-event markers.
"""

from typing import Literal

KeySchema = tuple[tuple[str, Literal["HASH", "RANGE"]], ...]

RECORDS_KEY: KeySchema = (("id", "HASH"), ("timestamp", "RANGE"))
PATIENTS_KEY: KeySchema = (("pk", "HASH"),)
OUTBOX_KEY: KeySchema = (("pk", "HASH"), ("sk", "RANGE"))


def patient(patient_id: object) -> str:
    return f"patient#{patient_id}"


def email(digest: str) -> str:
    return f"email#{digest}"


def interaction(record_id: object) -> str:
    return f"interaction#{record_id}"


def idempotency(digest: str) -> str:
    return f"idempotency#{digest}"


def doctor(doctor_id: str) -> str:
    return f"doctor#{doctor_id}"


def pending(shard: int) -> str:
    """An outbox partition of pending events."""
    return f"pending#{shard}"


def pending_sort(occurred_at: str, event_id: str) -> str:
    """A pending event's sort key: its time first, so a drain reads the oldest first."""
    return f"{occurred_at}#{event_id}"


def processed(event_id: str) -> str:
    """The worker's marker of an event it has handled."""
    return f"processed#{event_id}"
