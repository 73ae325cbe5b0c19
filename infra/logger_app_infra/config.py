"""Deployment inputs, read from CDK context first and the environment second.

Nothing account- or team-specific is hard-coded: the account, region, environment name,
certificate ARNs, GitHub repository and branch, and image tag all come from here.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass

from constructs import Node

# context key -> environment variable, for `cdk deploy -c key=value` or `KEY=value make synth`.
_ENV_FALLBACK: dict[str, str] = {
    "environment": "DEPLOY_ENVIRONMENT",
    "account": "CDK_DEFAULT_ACCOUNT",
    "region": "CDK_DEFAULT_REGION",
    "imageTag": "IMAGE_TAG",
    "vpcCidr": "VPC_CIDR",
    "vpnClientCidr": "VPN_CLIENT_CIDR",
    "vpnServerCertificateArn": "VPN_SERVER_CERTIFICATE_ARN",
    "vpnClientCertificateArn": "VPN_CLIENT_CERTIFICATE_ARN",
    "albCertificateArn": "ALB_CERTIFICATE_ARN",
    "githubRepository": "DEPLOY_GITHUB_REPOSITORY",
    "githubBranch": "DEPLOY_GITHUB_BRANCH",
    "githubOidcProviderArn": "OIDC_PROVIDER_ARN",  # GitHub reserves GITHUB_*
    "adotImage": "ADOT_IMAGE",
    "alertEmails": "ALERT_EMAILS",
}

PRODUCTION_ENVIRONMENTS = frozenset({"prod", "production"})
DEFAULT_ADOT_IMAGE = "public.ecr.aws/aws-observability/aws-otel-collector:v0.50.0"
UNSET_IMAGE_TAG = "unset"

_ENV_NAME = re.compile(r"^[a-z][a-z0-9-]{0,15}$")
_GITHUB_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_ACM_ARN = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[A-Za-z0-9-]+$")
# An address SNS can send to: local@domain.tld, no spaces or commas.
_EMAIL = re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$")


class ConfigError(ValueError):
    """A deployment input is missing or malformed."""


@dataclass(frozen=True)
class DeploymentConfig:
    environment: str
    account: str | None
    region: str | None
    image_tag: str
    vpc_cidr: str
    vpn_client_cidr: str
    vpn_server_certificate_arn: str | None
    vpn_client_certificate_arn: str | None
    alb_certificate_arn: str | None
    github_repository: str | None
    github_branch: str
    github_oidc_provider_arn: str | None
    adot_image: str
    # Who is emailed the alerts (AMP's alert manager and the CloudWatch alarms, through SNS).
    alert_emails: tuple[str, ...] = ()

    @property
    def is_production(self) -> bool:
        return self.environment in PRODUCTION_ENVIRONMENTS

    @property
    def vpn_enabled(self) -> bool:
        return bool(self.vpn_server_certificate_arn and self.vpn_client_certificate_arn)

    @property
    def vpc_dns_server(self) -> str:
        """The Amazon-provided resolver sits at the VPC CIDR base + 2."""
        return str(ipaddress.ip_network(self.vpc_cidr).network_address + 2)

    @property
    def prefix(self) -> str:
        """Stack id prefix, so several environments can live in one account."""
        return f"LoggerApp-{self.environment.capitalize()}"

    @property
    def service_namespace(self) -> str:
        """Private DNS zone that names Loki and Grafana."""
        return f"{self.environment}.logger-app.internal"


def _lookup(node: Node, key: str) -> str | None:
    value = node.try_get_context(key)
    if value is None:
        value = os.environ.get(_ENV_FALLBACK[key])
    if value is None or str(value).strip() == "":
        return None
    return str(value).strip()


def _cidr(value: str, key: str, max_prefix: int) -> str:
    try:
        network = ipaddress.ip_network(value)
    except ValueError as exc:
        raise ConfigError(f"{key}={value!r} is not a CIDR block") from exc
    if network.prefixlen > max_prefix:
        raise ConfigError(f"{key}={value!r} must be a /{max_prefix} or larger")
    return str(network)


def _acm_arn(value: str | None, key: str) -> str | None:
    if value is not None and not _ACM_ARN.match(value):
        raise ConfigError(f"{key}={value!r} is not an ACM certificate ARN")
    return value


def _emails(value: str | None) -> tuple[str, ...]:
    """Comma-separated addresses, e.g. "oncall@example.org,ops@example.org"."""
    if value is None:
        return ()
    emails = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
    for email in emails:
        if not _EMAIL.match(email):
            raise ConfigError(f"alertEmails: {email!r} is not an email address")
    return emails


def load_config(node: Node) -> DeploymentConfig:
    environment = _lookup(node, "environment") or "dev"
    if not _ENV_NAME.match(environment):
        raise ConfigError(
            f"environment={environment!r}: use 1-16 lower-case letters, digits or '-'"
        )
    github_repository = _lookup(node, "githubRepository")
    if github_repository is not None and not _GITHUB_REPO.match(github_repository):
        raise ConfigError(f"githubRepository={github_repository!r} must look like owner/name")
    vpn_server = _acm_arn(_lookup(node, "vpnServerCertificateArn"), "vpnServerCertificateArn")
    vpn_client = _acm_arn(_lookup(node, "vpnClientCertificateArn"), "vpnClientCertificateArn")
    if bool(vpn_server) != bool(vpn_client):
        raise ConfigError(
            "set both vpnServerCertificateArn and vpnClientCertificateArn, or neither"
        )
    return DeploymentConfig(
        environment=environment,
        account=_lookup(node, "account"),
        region=_lookup(node, "region"),
        image_tag=_lookup(node, "imageTag") or UNSET_IMAGE_TAG,
        # Client VPN needs a /22 or larger client range; the VPC a /16../24.
        vpc_cidr=_cidr(_lookup(node, "vpcCidr") or "10.40.0.0/16", "vpcCidr", 24),
        vpn_client_cidr=_cidr(
            _lookup(node, "vpnClientCidr") or "10.100.0.0/22", "vpnClientCidr", 22
        ),
        vpn_server_certificate_arn=vpn_server,
        vpn_client_certificate_arn=vpn_client,
        alb_certificate_arn=_acm_arn(_lookup(node, "albCertificateArn"), "albCertificateArn"),
        github_repository=github_repository,
        github_branch=_lookup(node, "githubBranch") or "main",
        github_oidc_provider_arn=_lookup(node, "githubOidcProviderArn"),
        adot_image=_lookup(node, "adotImage") or DEFAULT_ADOT_IMAGE,
        alert_emails=_emails(_lookup(node, "alertEmails")),
    )
