"""Each contract written once and derived elsewhere: the record kinds (``schemas.RecordKind``),
the event types (``events``), the key prefixes and formats (``keys``), the scopes and their
audit actions (``scopes``, for the app and ``infra/``), the problem types (where each is
raised), the counters' outcome labels (``metrics``), the log lines ``logger-app verify`` reads
(``log_events``) and what an access token is (``token_claims``)."""

import re
from pathlib import Path

import pytest

import logger_app
from logger_app import audit, cli, metrics, scopes
from logger_app.schemas import RecordKind

SOURCE = Path(logger_app.__file__).parent
INFRA = SOURCE.parents[1] / "infra" / "logger_app_infra"


def _modules_matching(pattern: str, source: Path = SOURCE) -> list[str]:
    return sorted(
        str(module.relative_to(source))
        for module in source.rglob("*.py")
        if re.search(pattern, module.read_text())
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


def test_scopes_are_written_in_scopes_only() -> None:
    literal = r'"(signups:write|records:write|records:read)"'
    assert _modules_matching(literal) == ["scopes.py"]
    assert _modules_matching(literal, INFRA) == []
    assert _modules_matching(r'"(patient\.sign_up|record\.create|record\.read)"') == ["scopes.py"]


def test_the_audit_log_and_the_token_command_have_the_scopes_of_scopes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert tuple(scopes.ACTIONS.values()) == (audit.SIGN_UP, audit.RECORD_CREATE, audit.RECORD_READ)
    with pytest.raises(SystemExit):
        cli.main(["token", "--scope", "records:delete"])
    refusal = capsys.readouterr().err
    assert all(scope in refusal for scope in scopes.SCOPES)


def test_the_outbox_write_is_made_in_one_place() -> None:
    # "Transact with the event's outbox entry, then submit it": sign-ups and records call it.
    assert _modules_matching(r"transactions\.write\(|\.put\(event\)|\.submit\(") == [
        "outbox_write.py"
    ]


def test_each_problem_type_is_written_where_it_is_raised_only() -> None:
    # The routes' OpenAPI listings and the audit log's reason name them by these constants.
    owners = {
        "problems.py": [
            "bad-request",
            "body-too-large",
            "dependency-unavailable",
            "internal-error",
            "malformed-json",
            "unsupported-media-type",
            "validation-error",
        ],
        "records.py": [
            "interaction-of-another-patient",
            "patient-not-found",
            "record-id-taken",
            "record-not-found",
        ],
        "signups.py": ["email-already-registered"],
        "idempotency.py": ["idempotency-key-reused"],
        "auth/tokens.py": ["issuer-unavailable", "unauthorized"],
        "auth/dependency.py": ["insufficient-scope"],
    }
    written = {slug: _modules_matching(f'"{slug}"') for slugs in owners.values() for slug in slugs}
    assert written == {slug: [owner] for owner, slugs in owners.items() for slug in slugs}


def test_the_counters_outcome_labels_are_written_in_metrics_only() -> None:
    labels = "created replayed rejected failed clash duplicate found not_found published"
    labels += " processed dead_lettered"
    written = {label: _modules_matching(f'"{label}"') for label in labels.split()}
    assert written == {label: ["metrics.py"] for label in labels.split()} | {
        # The journey's PromQL (verify imports no telemetry).
        "created": ["metrics.py", "verify/prometheus.py"],
        # The audit log's own outcomes, by status (not the counters').
        "failed": ["audit.py", "metrics.py"],
        "not_found": ["audit.py", "metrics.py"],
        # The processed marker's sort key, and a log line's field.
        "processed": ["metrics.py", "outbox.py"],
        "published": ["metrics.py", "publisher.py"],
    }


def test_the_worker_processed_line_is_named_in_log_events_only() -> None:
    assert _modules_matching(r'"worker\.processed"') == ["log_events.py"]


def test_the_request_line_is_named_in_log_events_only() -> None:
    # body_limit.py reads the ASGI message type of the same name.
    assert _modules_matching(r'"http\.request"') == ["body_limit.py", "log_events.py"]


def test_the_worker_service_is_named_in_log_events_only() -> None:
    assert _modules_matching(r"logger-app-worker\b") == ["log_events.py"]


def test_the_token_algorithm_and_use_are_written_in_token_claims_only() -> None:
    assert _modules_matching(r'"(RS256|token_use|access)"') == ["token_claims.py"]


def test_the_bearer_challenge_is_made_in_tokens_only() -> None:
    assert _modules_matching(r'Bearer realm|"Bearer "') == ["auth/tokens.py"]


def test_the_synthetic_client_is_named_in_synthetic_only() -> None:
    assert _modules_matching(r'"logger-app-verify"') == ["synthetic.py"]
