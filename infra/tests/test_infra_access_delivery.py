"""Access (Client VPN, mutual TLS) and delivery (ECR, GitHub OIDC deploy role)."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
import pytest
from infra_helpers import as_list, logical_id, only, resources, statements
from infra_settings import (
    GITHUB_REPOSITORY,
    PROD_CONTEXT,
    REPO,
    VPN_CLIENT_CERTIFICATE,
    VPN_SERVER_CERTIFICATE,
)
from logger_app_infra.app_builder import LoggerAppStacks, build_stacks
from logger_app_infra.config import ConfigError
from logger_app_infra.delivery import IMAGES


def test_client_vpn_uses_mutual_tls_split_tunnel_and_logs(prod: LoggerAppStacks) -> None:
    endpoint = only(prod.access, "AWS::EC2::ClientVpnEndpoint")
    # The SAML sign-in the production context adds: test_infra_staff_sign_in.py.
    assert endpoint["AuthenticationOptions"][0] == {
        "Type": "certificate-authentication",
        "MutualAuthentication": {"ClientRootCertificateChainArn": VPN_CLIENT_CERTIFICATE},
    }
    assert endpoint["ServerCertificateArn"] == VPN_SERVER_CERTIFICATE
    assert endpoint["SplitTunnel"] is True
    assert endpoint["DnsServers"] == ["10.40.0.2"]
    assert endpoint["ConnectionLogOptions"]["Enabled"] is True


def test_vpn_is_authorised_only_for_the_private_subnets_and_resolver(
    prod: LoggerAppStacks,
) -> None:
    rules = resources(prod.access, "AWS::EC2::ClientVpnAuthorizationRule").values()
    targets = sorted(rule["Properties"]["TargetNetworkCidr"] for rule in rules)
    private = sorted(subnet.ipv4_cidr_block for subnet in prod.network.vpc.private_subnets)
    assert targets == sorted([*private, "10.40.0.2/32"])
    assert "10.40.0.0/16" not in targets
    associations = resources(prod.access, "AWS::EC2::ClientVpnTargetNetworkAssociation")
    assert len(associations) == 2
    assert all("PrivateSubnet" in str(a["Properties"]["SubnetId"]) for a in associations.values())


def test_without_certificates_there_is_no_vpn_and_grafana_stays_closed(
    dev: LoggerAppStacks,
) -> None:
    assert resources(dev.access, "AWS::EC2::ClientVpnEndpoint") == {}
    # Fail closed: nothing opens Grafana to anything but the (absent) VPN group.
    grafana = logical_id(dev.access, dev.access.grafana_security_group)
    assert grafana in resources(dev.access, "AWS::EC2::SecurityGroup")


def test_ecr_repositories_scan_on_push_with_immutable_tags(prod: LoggerAppStacks) -> None:
    repositories = resources(prod.delivery, "AWS::ECR::Repository")
    assert sorted(r["Properties"]["RepositoryName"] for r in repositories.values()) == sorted(
        f"logger-app-prod/{image}" for image in IMAGES
    )
    for repository in repositories.values():
        assert repository["Properties"]["ImageScanningConfiguration"] == {"ScanOnPush": True}
        assert repository["Properties"]["ImageTagMutability"] == "IMMUTABLE"


def _trust(stacks: LoggerAppStacks, role: object) -> dict[str, object]:
    found = resources(stacks.delivery, "AWS::IAM::Role")[logical_id(stacks.delivery, role)]
    (statement,) = found["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    condition: dict[str, object] = statement["Condition"]
    return condition


def test_image_role_trusts_only_the_configured_repository_and_branch(
    prod: LoggerAppStacks,
) -> None:
    provider = only(prod.delivery, "AWS::IAM::OIDCProvider")
    assert provider["Url"] == "https://token.actions.githubusercontent.com"
    assert provider["ClientIdList"] == ["sts.amazonaws.com"]
    assert _trust(prod, prod.delivery.image_role) == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": (
                f"repo:{GITHUB_REPOSITORY}:ref:refs/heads/main"
            ),
        }
    }


def test_deploy_role_trusts_only_jobs_in_the_github_environment(prod: LoggerAppStacks) -> None:
    """Production deploys go through the GitHub environment (required reviewers): a job in it
    gets the subject ...:environment:<name>, and only that subject may deploy."""
    assert _trust(prod, prod.delivery.deploy_role) == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": f"repo:{GITHUB_REPOSITORY}:environment:prod",
        }
    }


def test_image_role_can_only_push_images(prod: LoggerAppStacks) -> None:
    role = logical_id(prod.delivery, prod.delivery.image_role)
    by_sid = {s["Sid"]: s for s in statements(prod.delivery, role)}
    assert set(by_sid) == {"PushImages", "EcrLogin"}
    assert len(as_list(by_sid["PushImages"]["Resource"])) == len(IMAGES)
    assert "Repository" in str(by_sid["PushImages"]["Resource"])
    assert by_sid["EcrLogin"]["Action"] == "ecr:GetAuthorizationToken"


def test_deploy_role_can_only_assume_the_cdk_bootstrap_roles_and_run_verify(
    prod: LoggerAppStacks,
) -> None:
    role = logical_id(prod.delivery, prod.delivery.deploy_role)
    by_sid = {s["Sid"]: s for s in statements(prod.delivery, role)}
    # The verify task's statements: test_infra_verify.py.
    assert set(by_sid) == {
        "AssumeCdkBootstrapRoles",
        "RunVerifyTask",
        "PassVerifyRoles",
        "WatchVerifyTask",
        "ReadVerifyReport",
    }
    assumed = [str(arn) for arn in as_list(by_sid["AssumeCdkBootstrapRoles"]["Resource"])]
    assert len(assumed) == 4
    assert all(":role/cdk-hnb659fds-" in arn for arn in assumed)


def test_no_github_roles_without_a_repository(dev: LoggerAppStacks) -> None:
    assert dev.delivery.deploy_role is None
    assert dev.delivery.image_role is None
    assert resources(dev.delivery, "AWS::IAM::Role") == {}


def test_an_existing_oidc_provider_is_used_not_created(tmp_path: Path) -> None:
    arn = "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"
    context = {**PROD_CONTEXT, "githubOidcProvider": arn}
    stacks = build_stacks(cdk.App(context=context, outdir=str(tmp_path)), REPO)
    assert resources(stacks.delivery, "AWS::IAM::OIDCProvider") == {}
    for role in (stacks.delivery.image_role, stacks.delivery.deploy_role):
        found = resources(stacks.delivery, "AWS::IAM::Role")[logical_id(stacks.delivery, role)]
        (statement,) = found["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Federated": arn}


def test_with_a_repository_the_oidc_provider_must_be_stated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An account holds one provider per URL: creating a second fails the deploy, so the input
    says which it is, and its absence stops the synth instead."""
    monkeypatch.delenv("DEPLOY_GITHUB_OIDC_PROVIDER", raising=False)
    context = {k: v for k, v in PROD_CONTEXT.items() if k != "githubOidcProvider"}
    with pytest.raises(ConfigError, match="githubOidcProvider is not set"):
        build_stacks(cdk.App(context=context), REPO)
    with pytest.raises(ConfigError, match="githubOidcProvider"):
        build_stacks(cdk.App(context={**context, "githubOidcProvider": "arn:aws:iam::1:x"}), REPO)
