"""Each contract written once and derived elsewhere: the record kinds (``schemas.RecordKind``),
the event types (``events``), the key prefixes and formats (``keys``).

worker.py still spells some of them out: it is the next to take them from these modules."""

import re
from pathlib import Path

import logger_app
from logger_app import metrics
from logger_app.schemas import RecordKind

SOURCE = Path(logger_app.__file__).parent
NOT_YET = {"worker.py"}


def _modules_matching(pattern: str) -> list[str]:
    return sorted(
        str(module.relative_to(SOURCE))
        for module in SOURCE.rglob("*.py")
        if module.name not in NOT_YET and re.search(pattern, module.read_text())
    )


def test_the_counted_record_kinds_are_the_schemas() -> None:
    assert tuple(kind.value for kind in RecordKind) == metrics.RECORD_KINDS
    assert _modules_matching(r'"call_started"') == ["schemas.py"]


def test_event_types_are_written_in_events_only() -> None:
    assert _modules_matching(r'"patient\.signed_up"') == ["events.py"]
    # "record.created" is also a log line's event name (records.py): no event is made from a
    # literal type.
    assert _modules_matching(r'Event\(\s*"') == []


def test_key_prefixes_are_written_in_keys_only() -> None:
    prefixes = r"(patient|email|interaction|idempotency|doctor|pending|processed)#"
    assert _modules_matching(rf"[\"']{prefixes}") == ["keys.py"]


def test_table_key_schemas_are_written_in_keys_only() -> None:
    assert _modules_matching(r'\(\s*"(pk|id)",\s*"HASH"\s*\)') == ["keys.py"]
