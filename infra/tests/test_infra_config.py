"""Deployment inputs: validated, nothing hard-coded, and shared files required."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
import pytest
from infra_settings import DIGESTS
from logger_app_infra.app_builder import build_stacks
from logger_app_infra.config import ConfigError, load_config
from logger_app_infra.repo_files import MissingRepoFileError


def _config(**context: str):  # type: ignore[no-untyped-def]
    return load_config(cdk.App(context={"imageTag": "test-placeholder", **DIGESTS, **context}).node)


def test_defaults_are_a_dev_environment_without_optional_inputs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("DEPLOY_ENVIRONMENT", "IMAGE_TAG", "ALB_CERTIFICATE_ARN", "CDK_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    config = _config()
    assert config.environment == "dev"
    assert not config.is_production
    assert not config.vpn_enabled
    assert config.alb_certificate_arn is None
    assert config.region is None
    assert config.vpc_dns_server == "10.40.0.2"
    assert config.company_time_zone == "UTC"


def test_the_company_time_zone_is_an_input() -> None:
    assert _config(companyTimeZone="Europe/Lisbon").company_time_zone == "Europe/Lisbon"


def test_environment_variables_fill_in_missing_context(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPLOY_ENVIRONMENT", "staging")
    monkeypatch.setenv("IMAGE_TAG", "feedbeef")
    config = load_config(cdk.App(context={"environment": "prod", **DIGESTS}).node)
    assert config.environment == "prod"  # context wins
    assert config.image_tag == "feedbeef"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("environment", "Prod!"),
        ("vpcCidr", "10.0.0.0/28"),
        ("vpnClientCidr", "10.100.0.0/24"),
        ("albCertificateArn", "not-an-arn"),
        ("githubRepository", "just-a-name"),
        ("availabilityZones", "eu-west-1a"),
        ("availabilityZones", "eu-west-1a,eu-west-1a"),
        ("availabilityZones", "eu-west-1a,not a zone"),
        ("companyTimeZone", "Mars/Olympus_Mons"),
        ("alertEmails", "oncall@example.org, not-an-address"),
    ],
)
def test_malformed_inputs_are_rejected(key: str, value: str) -> None:
    with pytest.raises(ConfigError, match=key):
        _config(**{key: value})


def test_synth_without_an_image_tag_fails_naming_the_input(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("IMAGE_TAG", raising=False)
    app = cdk.App(context={"environment": "dev"}, outdir=str(tmp_path))
    with pytest.raises(ConfigError, match=r"imageTag is not set.*-c imageTag=.*IMAGE_TAG"):
        build_stacks(app)


@pytest.mark.parametrize("tag", ["", "   "])
def test_an_empty_image_tag_is_no_tag(monkeypatch: pytest.MonkeyPatch, tag: str) -> None:
    monkeypatch.delenv("IMAGE_TAG", raising=False)
    with pytest.raises(ConfigError, match="imageTag is not set"):
        load_config(cdk.App(context={"imageTag": tag}).node)


def test_a_malformed_image_tag_is_rejected() -> None:
    with pytest.raises(ConfigError, match="imageTag"):
        _config(imageTag="has:colon")


def test_vpn_needs_both_certificates() -> None:
    with pytest.raises(ConfigError, match="both"):
        _config(vpnServerCertificateArn="arn:aws:acm:eu-west-1:111111111111:certificate/x")


def test_synth_fails_clearly_without_the_collector_config(tmp_path: Path) -> None:
    with pytest.raises(MissingRepoFileError, match=r"otel-collector\.yaml"):
        build_stacks(
            cdk.App(
                context={"imageTag": "test-placeholder", **DIGESTS}, outdir=str(tmp_path / "out")
            ),
            tmp_path,
        )


def test_alert_emails_are_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALERT_EMAILS", raising=False)
    assert _config().alert_emails == ()
    assert _config(alertEmails=" a@example.org,b@example.org, a@example.org ").alert_emails == (
        "a@example.org",
        "b@example.org",
    )
    monkeypatch.setenv("ALERT_EMAILS", "oncall@example.org")
    assert _config().alert_emails == ("oncall@example.org",)


def test_synth_fails_clearly_without_the_generated_slo_rules(tmp_path: Path) -> None:
    (tmp_path / "otel-collector.yaml").write_text("receivers: {}\n")
    (tmp_path / "alerts").mkdir()
    (tmp_path / "alerts" / "logger-app.rules.yaml").write_text("groups: []\n")
    with pytest.raises(MissingRepoFileError, match=r"alerts/logger-app\.slo\.rules\.yaml"):
        build_stacks(
            cdk.App(
                context={"imageTag": "test-placeholder", **DIGESTS}, outdir=str(tmp_path / "out")
            ),
            tmp_path,
        )


def test_synth_fails_clearly_without_the_alert_rules(tmp_path: Path) -> None:
    (tmp_path / "otel-collector.yaml").write_text("receivers: {}\n")
    with pytest.raises(MissingRepoFileError, match=r"alerts/logger-app\.rules\.yaml"):
        build_stacks(
            cdk.App(
                context={"imageTag": "test-placeholder", **DIGESTS}, outdir=str(tmp_path / "out")
            ),
            tmp_path,
        )
