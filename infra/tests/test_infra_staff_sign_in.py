"""Staff sign-in: Grafana over HTTPS, SSO against a staff pool with MFA, SAML on the VPN."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from infra_helpers import container, environment, logical_id, only, resources
from infra_settings import DIGESTS, GRAFANA_CERTIFICATE, VPN_SAML_PROVIDER
from logger_app_infra.app_builder import LoggerAppStacks
from logger_app_infra.config import ConfigError, load_config


def _grafana(stacks: LoggerAppStacks) -> dict[str, Any]:
    service = stacks.observability.grafana.service
    props = resources(stacks.observability, "AWS::ECS::Service")[
        logical_id(stacks.observability, service)
    ]["Properties"]
    task = resources(stacks.observability, "AWS::ECS::TaskDefinition")[
        props["TaskDefinition"]["Ref"]
    ]
    return container(task, "grafana")


def _secrets(definition: dict[str, Any]) -> dict[str, str]:
    return {s["Name"]: str(s["ValueFrom"]) for s in definition["Secrets"]}


def test_staff_pool_requires_totp_mfa_and_has_no_self_sign_up(prod: LoggerAppStacks) -> None:
    pool = only(prod.observability, "AWS::Cognito::UserPool")
    assert pool["MfaConfiguration"] == "ON"
    assert pool["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["UserPoolAddOns"] == {"AdvancedSecurityMode": "ENFORCED"}
    assert pool["AccountRecoverySetting"]["RecoveryMechanisms"] == [
        {"Name": "verified_email", "Priority": 1}
    ]
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] >= 14
    assert pool["DeletionProtection"] == "ACTIVE"


def test_groups_are_staff_engineers_and_admins(prod: LoggerAppStacks) -> None:
    groups = resources(prod.observability, "AWS::Cognito::UserPoolGroup")
    assert sorted(g["Properties"]["GroupName"] for g in groups.values()) == [
        "admins",
        "engineers",
        "staff",
    ]


def test_grafana_client_uses_the_code_flow_back_to_grafana_over_https(
    prod: LoggerAppStacks,
) -> None:
    client = only(prod.observability, "AWS::Cognito::UserPoolClient")
    assert client["AllowedOAuthFlows"] == ["code"]
    assert client["AllowedOAuthFlowsUserPoolClient"] is True
    assert sorted(client["AllowedOAuthScopes"]) == ["email", "openid", "profile"]
    assert client["GenerateSecret"] is True
    assert client["CallbackURLs"] == [
        "https://dashboards.prod.logger-app.internal/login/generic_oauth"
    ]
    assert client["SupportedIdentityProviders"] == ["COGNITO"]


def test_grafana_signs_staff_in_with_generic_oauth_and_maps_groups_to_roles(
    prod: LoggerAppStacks,
) -> None:
    env = environment(_grafana(prod))
    assert env["GF_SERVER_ROOT_URL"] == "https://dashboards.prod.logger-app.internal"
    assert env["GF_AUTH_GENERIC_OAUTH_ENABLED"] == "true"
    assert env["GF_AUTH_GENERIC_OAUTH_SCOPES"] == "openid email profile"
    assert env["GF_AUTH_GENERIC_OAUTH_USE_PKCE"] == "true"
    assert env["GF_AUTH_GENERIC_OAUTH_AUTO_LOGIN"] == "true"
    assert env["GF_AUTH_GENERIC_OAUTH_ALLOW_SIGN_UP"] == "true"
    assert env["GF_AUTH_GENERIC_OAUTH_ROLE_ATTRIBUTE_STRICT"] == "true"
    assert env["GF_AUTH_GENERIC_OAUTH_ROLE_ATTRIBUTE_PATH"] == (
        "contains(\"cognito:groups\"[*], 'admins') && 'Admin' || "
        "contains(\"cognito:groups\"[*], 'engineers') && 'Editor' || "
        "contains(\"cognito:groups\"[*], 'staff') && 'Viewer'"
    )
    for name, path in (("AUTH", "authorize"), ("TOKEN", "token"), ("API", "userInfo")):
        url = str(env[f"GF_AUTH_GENERIC_OAUTH_{name}_URL"])
        assert "amazoncognito.com/oauth2/" + path in url
    assert env["GF_SECURITY_COOKIE_SECURE"] == "true"


def test_grafana_secrets_come_from_secrets_manager(prod: LoggerAppStacks) -> None:
    definition = _grafana(prod)
    secrets = _secrets(definition)
    assert "GrafanaSecurityKey" in secrets["GF_SECURITY_SECRET_KEY"]
    assert "StaffSignInClientSecret" in secrets["GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET"]
    assert "GrafanaAdminPassword" in secrets["GF_SECURITY_ADMIN_PASSWORD"]
    env = environment(definition)
    for name in secrets:
        assert name not in env


def test_without_a_certificate_grafana_keeps_plain_http_but_still_its_own_secret_key(
    dev: LoggerAppStacks,
) -> None:
    assert resources(dev.observability, "AWS::Cognito::UserPool") == {}
    assert resources(dev.observability, "AWS::ElasticLoadBalancingV2::LoadBalancer") == {}
    definition = _grafana(dev)
    env = environment(definition)
    assert env["GF_SERVER_ROOT_URL"] == "http://grafana.dev.logger-app.internal:3000"
    assert not any(name.startswith("GF_AUTH_GENERIC_OAUTH") for name in env)
    assert "GrafanaSecurityKey" in _secrets(definition)["GF_SECURITY_SECRET_KEY"]


def test_grafana_alb_is_internal_and_https_with_the_given_certificate(
    prod: LoggerAppStacks,
) -> None:
    balancer = only(prod.observability, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert balancer["Scheme"] == "internal"
    listener = only(prod.observability, "AWS::ElasticLoadBalancingV2::Listener")
    assert listener["Protocol"] == "HTTPS"
    assert listener["Port"] == 443
    assert listener["Certificates"] == [{"CertificateArn": GRAFANA_CERTIFICATE}]
    target_group = only(prod.observability, "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert target_group["Port"] == 3000
    assert target_group["HealthCheckPath"] == "/api/health"
    record = only(prod.observability, "AWS::Route53::RecordSet")
    assert record["Name"] == "dashboards.prod.logger-app.internal."


def test_vpn_adds_saml_sign_in_beside_certificates(prod: LoggerAppStacks) -> None:
    endpoint = only(prod.access, "AWS::EC2::ClientVpnEndpoint")
    options = {option["Type"]: option for option in endpoint["AuthenticationOptions"]}
    assert set(options) == {"certificate-authentication", "federated-authentication"}
    assert options["federated-authentication"]["FederatedAuthentication"] == {
        "SAMLProviderArn": VPN_SAML_PROVIDER
    }


def _config(**context: str):  # type: ignore[no-untyped-def]
    return load_config(cdk.App(context={"imageTag": "test-placeholder", **DIGESTS, **context}).node)


def test_saml_needs_the_vpn_and_a_saml_provider_arn() -> None:
    with pytest.raises(ConfigError, match="without the Client VPN"):
        _config(vpnSamlProviderArn=VPN_SAML_PROVIDER)
    with pytest.raises(ConfigError, match="not an IAM SAML provider ARN"):
        _config(vpnSamlProviderArn="arn:aws:iam::111111111111:role/not-saml")
    with pytest.raises(ConfigError, match="not an ACM certificate ARN"):
        _config(grafanaCertificateArn="not-an-arn")


def test_sso_and_vpn_saml_are_off_unless_their_inputs_are_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("GRAFANA_CERTIFICATE_ARN", "VPN_SAML_PROVIDER_ARN"):
        monkeypatch.delenv(name, raising=False)
    config = _config()
    assert config.grafana_certificate_arn is None
    assert not config.staff_sso_enabled
    assert config.vpn_saml_provider_arn is None
    assert _config(grafanaCertificateArn=GRAFANA_CERTIFICATE).staff_sso_enabled
