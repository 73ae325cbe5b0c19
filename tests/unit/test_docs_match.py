"""The docs say what the code does: every metric series in docs/telemetry.md; in the README,
every problem type the service answers with, every reason code of the audit log, the PHI
problems in the OpenAPI document (and the timestamp format), and the trust model."""

import re
from pathlib import Path

from logger_app.main import create_app
from logger_app.scopes import SCOPES
from logger_app.settings import ApiSettings

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "src" / "logger_app"
README = (REPO / "README.md").read_text(encoding="utf-8")


def _slugs() -> set[str]:
    """Every problem type raised anywhere in the service: Problem(<status>, <slug>, ...), the
    slug written there or named by its module's constant (``NAME = "<slug>"``)."""
    texts = [path.read_text() for path in SOURCE.rglob("*.py")]
    constant = re.compile(r'^([A-Z_]+) = "([a-z-]+)"$', re.MULTILINE)
    slugs = {name: slug for text in texts for name, slug in constant.findall(text)}
    raised = re.compile(r'Problem\(\s*\d{3},\s*(?:"([a-z-]+)"|([A-Z_]+),)')
    return {written or slugs[name] for text in texts for written, name in raised.findall(text)}


def test_every_problem_type_is_in_the_readme() -> None:
    slugs = _slugs()
    assert {"patient-not-found", "interaction-of-another-patient", "unauthorized"} <= slugs
    missing = sorted(
        slug for slug in slugs if f"`{slug}`" not in README and f"problem:{slug}`" not in README
    )
    assert missing == []


def test_every_audit_reason_code_is_in_the_readme() -> None:
    auth = "".join(module.read_text() for module in (SOURCE / "auth").glob("*.py"))
    codes = set(re.findall(r'"(token-[a-z-]+)"', auth))
    assert {"token-missing", "token-expired", "token-lifetime", "token-audience"} <= codes
    assert sorted(code for code in codes if f"`{code}`" not in README) == []


def test_the_openapi_document_names_the_write_refusals(tmp_path: Path) -> None:
    document = create_app(ApiSettings(local_issuer_dir=tmp_path)).openapi()
    responses = document["paths"]["/v1/records"]["post"]["responses"]
    assert "urn:logger-app:problem:patient-not-found" in responses["422"]["description"]
    assert (
        "urn:logger-app:problem:interaction-of-another-patient" in responses["409"]["description"]
    )
    assert "urn:logger-app:problem:idempotency-key-reused" in responses["409"]["description"]
    assert "urn:logger-app:problem:record-id-taken" in responses["409"]["description"]
    assert "Idempotent-Replayed" in responses["201"]["headers"]
    parameters = document["paths"]["/v1/records"]["post"]["parameters"]
    assert [p["name"] for p in parameters] == ["idempotency-key"]
    signups = document["paths"]["/v1/signups"]["post"]["responses"]
    assert "urn:logger-app:problem:email-already-registered" in signups["409"]["description"]
    # A body that is not JSON, or not sent as JSON, is refused with a type of its own.
    for write in (responses, signups):
        assert "urn:logger-app:problem:bad-request" in write["400"]["description"]
        assert "urn:logger-app:problem:unsupported-media-type" in write["415"]["description"]
        assert "urn:logger-app:problem:malformed-json" in write["422"]["description"]
        assert "urn:logger-app:problem:validation-error" in write["422"]["description"]
    timestamp = document["paths"]["/v1/records/{id}/{timestamp}"]["get"]["parameters"][1]
    assert "2026-12-02T10:00:00.000000Z" in timestamp["description"]


def test_the_readme_states_the_trust_model() -> None:
    start = README.index("**Who may see what (the trust model).**")
    model = README[start : README.index("```sh", start)]
    assert all(f"`{scope}`" in model for scope in SCOPES)
    assert "reads every patient's records" in model
    assert "`apiClients`" in model  # least privilege: scopes per Cognito app client, in infra/
    assert "every read and every write, allowed or refused" in model


def test_every_metric_the_code_records_is_in_the_telemetry_doc() -> None:
    telemetry = (REPO / "docs" / "telemetry.md").read_text(encoding="utf-8")
    # Each instrument's name and unit, as metrics.py and the gauges' owners declare them.
    declared = re.compile(
        r'(?:create_\w+|observe)\(\s*"(logger_app\.[a-z_.]+)",\s*(?:unit=)?"([^"]*)"'
    )
    names = {
        (name, unit)
        for path in SOURCE.rglob("*.py")
        for name, unit in declared.findall(path.read_text())
    }
    assert {
        ("logger_app.worker_events", "{event}"),
        ("logger_app.outbox.pending", "{event}"),
    } <= names
    suffix = {"s": "_seconds"}
    missing = []
    for name, unit in sorted(names):
        exported = name.replace(".", "_") + suffix.get(unit, "")
        if (
            f"`{exported}`" not in telemetry
            and f"`{exported}_total`" not in telemetry
            and (f"`{exported}_{{bucket,count,sum}}`" not in telemetry)
        ):
            missing.append(exported)
    assert missing == []
