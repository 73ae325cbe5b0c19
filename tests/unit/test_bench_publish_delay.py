"""bench/publish_delay.py: commit lines and SQS messages matched into a publish delay."""

import json
from pathlib import Path

import pytest

from bench.publish_delay import (
    Commit,
    Message,
    collect,
    parse_commits,
    parse_message,
    parse_time,
    percentile,
    read_commits,
    summarise,
)

T0 = "2026-11-29T13:00:00.000000Z"
T0_MS = parse_time(T0)


def _line(event: str, time: str = T0, **fields: str) -> str:
    return json.dumps({"time": time, "level": "INFO", "event": event, **fields})


def _sqs(event_type: str, data: dict[str, str], sent_ms: int) -> dict[str, object]:
    body = {"id": "e1", "type": event_type, "occurred_at": T0, "data": data}
    return {"Body": json.dumps(body), "Attributes": {"SentTimestamp": str(sent_ms)}}


def test_parse_time_is_epoch_milliseconds_to_the_microsecond() -> None:
    assert parse_time("1970-01-01T00:00:01.234567Z") == pytest.approx(1234.567)


def test_commit_lines_name_the_event_they_publish() -> None:
    lines = [
        _line("signup.created", patient_id="p1"),
        _line("record.created", "2026-11-29T13:00:00.005000Z", record_id="r1", kind="message"),
        _line("audit", patient_id="p1"),  # not a commit
        _line("signup.created"),  # no id: skipped
        "INFO:     Started server process",  # not JSON
        "{not json",
    ]
    assert parse_commits(lines) == [
        Commit(("patient.signed_up", "p1"), T0_MS),
        Commit(("record.created", "r1"), T0_MS + 5),
    ]


def test_read_commits_stops_at_the_last_complete_line(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    warmup = _line("signup.created", patient_id="warm") + "\n"
    measured = _line("signup.created", patient_id="p1") + "\n"
    partial = _line("signup.created", patient_id="p2")[:20]
    log.write_text(warmup + measured + partial)
    commits, end = read_commits(log, start=len(warmup))
    assert [c.key[1] for c in commits] == ["p1"]
    assert end == len(warmup) + len(measured)


def test_messages_are_keyed_like_the_commits() -> None:
    signup = _sqs("patient.signed_up", {"patient_id": "p1", "created_at": T0}, 5)
    record = _sqs("record.created", {"id": "r1", "patient_id": "p1"}, 6)
    assert parse_message(signup) == Message(("patient.signed_up", "p1"), 5)
    assert parse_message(record) == Message(("record.created", "r1"), 6)
    assert parse_message({"Body": "{}", "Attributes": {"SentTimestamp": "1"}}) is None
    assert parse_message({"Body": "not json"}) is None


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([3.0], 0.99) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile(list(map(float, range(101))), 0.99) == pytest.approx(99.0)
    with pytest.raises(ValueError, match="no values"):
        percentile([], 0.5)


def test_summary_matches_each_commit_to_its_first_send_and_counts_the_missing() -> None:
    commits = [Commit(("patient.signed_up", f"p{i}"), T0_MS + i) for i in range(4)]
    messages = [
        Message(("patient.signed_up", "p0"), int(T0_MS) + 10),
        Message(("patient.signed_up", "p1"), int(T0_MS) + 21),
        Message(("patient.signed_up", "p1"), int(T0_MS) + 900),  # sent again by a drain
        Message(("patient.signed_up", "p2"), int(T0_MS) + 32),
        Message(("patient.signed_up", "warm-up"), int(T0_MS) - 500),  # not of this window
    ]
    found = summarise(commits, messages)
    assert (found.commits, found.published, found.missing) == (4, 3, 1)
    assert found.p50_ms == pytest.approx(20.0)
    assert found.max_ms == pytest.approx(30.0)
    assert found.p99_ms == pytest.approx(29.8)


def test_summary_without_messages_has_no_percentiles() -> None:
    found = summarise([Commit(("record.created", "r1"), T0_MS)], [])
    assert (found.missing, found.p50_ms, found.p99_ms) == (1, None, None)


def test_collect_polls_until_every_commit_is_published() -> None:
    commits = [Commit(("record.created", "r1"), 0.0), Commit(("record.created", "r2"), 0.0)]
    batches = [[], [Message(("record.created", "r1"), 4)], [Message(("record.created", "r2"), 7)]]
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    found = collect(commits, lambda: batches.pop(0), clock=lambda: now[0], sleep=sleep)
    assert (found.published, found.missing, found.max_ms) == (2, 0, 7)
    assert batches == []
    assert found.waited_seconds == pytest.approx(0.1)


def test_collect_gives_up_after_the_time_limit() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    found = collect(
        [Commit(("record.created", "r1"), 0.0)],
        list,
        timeout_seconds=1.0,
        clock=lambda: now[0],
        sleep=sleep,
    )
    assert found.missing == 1
    assert found.waited_seconds == pytest.approx(1.0)
