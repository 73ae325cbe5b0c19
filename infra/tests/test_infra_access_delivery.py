"""Access (Client VPN, mutual TLS) and delivery (ECR, GitHub OIDC deploy role)."""

from __future__ import annotations

from infra_helpers import as_list, logical_id, only, resources, statements
from infra_settings import GITHUB_REPOSITORY, VPN_CLIENT_CERTIFICATE, VPN_SERVER_CERTIFICATE
from logger_app_infra.app_builder import LoggerAppStacks
from logger_app_infra.delivery import IMAGES


def test_client_vpn_uses_mutual_tls_split_tunnel_and_logs(prod: LoggerAppStacks) -> None:
    endpoint = only(prod.access, "AWS::EC2::ClientVpnEndpoint")
    assert endpoint["AuthenticationOptions"] == [
        {
            "Type": "certificate-authentication",
            "MutualAuthentication": {"ClientRootCertificateChainArn": VPN_CLIENT_CERTIFICATE},
        }
    ]
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


def test_deploy_role_trusts_only_the_configured_repository_and_branch(
    prod: LoggerAppStacks,
) -> None:
    assert prod.delivery.deploy_role is not None
    provider = only(prod.delivery, "AWS::IAM::OIDCProvider")
    assert provider["Url"] == "https://token.actions.githubusercontent.com"
    assert provider["ClientIdList"] == ["sts.amazonaws.com"]
    role = resources(prod.delivery, "AWS::IAM::Role")[
        logical_id(prod.delivery, prod.delivery.deploy_role)
    ]
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": (
                f"repo:{GITHUB_REPOSITORY}:ref:refs/heads/main"
            ),
        }
    }


def test_deploy_role_can_only_assume_cdk_roles_and_push_images(prod: LoggerAppStacks) -> None:
    assert prod.delivery.deploy_role is not None
    role = logical_id(prod.delivery, prod.delivery.deploy_role)
    by_sid = {s["Sid"]: s for s in statements(prod.delivery, role)}
    assert set(by_sid) == {"AssumeCdkBootstrapRoles", "PushImages", "EcrLogin"}
    assumed = [str(arn) for arn in as_list(by_sid["AssumeCdkBootstrapRoles"]["Resource"])]
    assert len(assumed) == 4
    assert all(":role/cdk-hnb659fds-" in arn for arn in assumed)
    assert len(as_list(by_sid["PushImages"]["Resource"])) == len(IMAGES)
    assert "Repository" in str(by_sid["PushImages"]["Resource"])
    assert by_sid["EcrLogin"]["Action"] == "ecr:GetAuthorizationToken"


def test_no_deploy_role_without_a_repository(dev: LoggerAppStacks) -> None:
    assert dev.delivery.deploy_role is None
    assert resources(dev.delivery, "AWS::IAM::Role") == {}
