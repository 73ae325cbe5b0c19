"""Deployment inputs, read from CDK context first and the environment second.

Nothing account- or team-specific is hard-coded: the account, region, environment name,
certificate ARNs, GitHub repository and branch, and image tag all come from here.
"""

from __future__ import annotations

import ipaddress
import os
import re
import zoneinfo
from dataclasses import dataclass

from constructs import Node

from logger_app.scopes import SCOPES

from .third_party import DIGEST, THIRD_PARTY_IMAGES

# context key -> environment variable, for `cdk deploy -c key=value` or `KEY=value make synth`.
ENV_FALLBACK: dict[str, str] = {
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
    "githubOidcProvider": "DEPLOY_GITHUB_OIDC_PROVIDER",
    "availabilityZones": "AVAILABILITY_ZONES",
    "dataRemovalPolicy": "DATA_REMOVAL_POLICY",
    "companyTimeZone": "COMPANY_TIME_ZONE",
    "apiClients": "API_CLIENTS",
    "grafanaCertificateArn": "GRAFANA_CERTIFICATE_ARN",
    "vpnSamlProviderArn": "VPN_SAML_PROVIDER_ARN",
    # Digests of the third-party images (third_party.py), resolved by the deploy workflow.
    **{image.context_key: image.env for image in THIRD_PARTY_IMAGES},
    # Set: a public HTTPS edge for the API (public_edge.py); unset: the API stays internal.
    "publicApiCertificateArn": "PUBLIC_API_CERTIFICATE_ARN",
    "alertEmails": "ALERT_EMAILS",
}

PRODUCTION_ENVIRONMENTS = frozenset({"prod", "production"})
# What `python infra/app.py` (make synth) passes for the inputs that name deployed artefacts
# when the CDK CLI is not the caller: a synth to read and lint, never to deploy (app.py).
# The digest placeholder is all zeros: no image has it, and it is obviously not a resolved one.
OFFLINE_SYNTH_CONTEXT: dict[str, str] = {
    "imageTag": "offline-synth-placeholder",
    **{image.context_key: "sha256:" + "0" * 64 for image in THIRD_PARTY_IMAGES},
}

_ENV_NAME = re.compile(r"^[a-z][a-z0-9-]{0,15}$")
_GITHUB_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_AZ_NAME = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d[a-z]$")
_IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_OIDC_PROVIDER_ARN = re.compile(
    r"^arn:aws[a-z-]*:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com$"
)
CREATE_OIDC_PROVIDER = "create"
_ACM_ARN = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[A-Za-z0-9-]+$")
_SAML_PROVIDER_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:saml-provider/[A-Za-z0-9_.-]+$")


# The API's scopes, as the app defines them (src/logger_app/scopes.py).
API_SCOPES = tuple(SCOPES)
# One Cognito app client per caller of the API: name:scope+scope;name:scope.
DEFAULT_API_CLIENTS = "patient-signup:signups:write;care-records:records:write+records:read"
_CLIENT_NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")

# An address SNS can send to: local@domain.tld, no spaces or commas.
_EMAIL = re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$")


class ConfigError(ValueError):
    """A deployment input is missing or malformed."""


@dataclass(frozen=True)
class ApiClient:
    """A caller of the API: one Cognito app client (client credentials) with these scopes."""

    name: str
    scopes: tuple[str, ...]


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
    # "create", or the ARN of the account's existing GitHub provider; None without a repository.
    github_oidc_provider: str | None
    # context key (third_party.py) -> sha256 digest of that image.
    third_party_digests: dict[str, str]
    # Two zone names; empty: the region's first two (Fn::GetAZs, resolved at deploy time).
    availability_zones: tuple[str, ...] = ()
    # dataRemovalPolicy=destroy: tables, queues, buckets and file systems go with their stacks.
    destroy_data: bool = False
    # Grafana's default time zone: "today" on the staff dashboard is this zone's day.
    company_time_zone: str = "UTC"
    # The API's callers: name -> the scopes its app client may request (apiClients).
    api_clients: tuple[ApiClient, ...] = ()
    # ACM certificate of the API's public name: set, an internet-facing ALB with AWS WAF
    # forwards /v1/* to the API (public_edge.py); None, nothing public is created.
    public_api_certificate_arn: str | None = None
    # Certificate of Grafana's internal HTTPS load balancer; with it, staff sign in by SSO.
    grafana_certificate_arn: str | None = None
    # IAM SAML provider: Client VPN users also sign in through the company's IdP.
    vpn_saml_provider_arn: str | None = None
    # Who is emailed the alerts (AMP's alert manager and the CloudWatch alarms, through SNS).
    alert_emails: tuple[str, ...] = ()

    @property
    def is_production(self) -> bool:
        return self.environment in PRODUCTION_ENVIRONMENTS

    @property
    def vpn_enabled(self) -> bool:
        return bool(self.vpn_server_certificate_arn and self.vpn_client_certificate_arn)

    @property
    def staff_sso_enabled(self) -> bool:
        """Staff sign in to Grafana through the staff user pool (needs HTTPS callbacks)."""
        return self.grafana_certificate_arn is not None

    @property
    def vpc_dns_server(self) -> str:
        """The Amazon-provided resolver sits at the VPC CIDR base + 2."""
        return str(ipaddress.ip_network(self.vpc_cidr).network_address + 2)

    @property
    def github_environment(self) -> str:
        """The GitHub environment whose jobs may deploy: named like the deployment environment
        (production's has required reviewers; docs/delivery.md)."""
        return self.environment

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
        value = os.environ.get(ENV_FALLBACK[key])
    if value is None or str(value).strip() == "":
        return None
    return str(value).strip()


def _required(node: Node, key: str, meaning: str) -> str:
    value = _lookup(node, key)
    if value is None:
        raise ConfigError(
            f"{key} is not set: {meaning}. Pass -c {key}=... to the CDK CLI or set "
            f"{ENV_FALLBACK[key]}; a deploy without it would point the tasks at nothing."
        )
    return value


def _image_tag(node: Node) -> str:
    tag = _required(
        node,
        "imageTag",
        "it is the tag of the four images in ECR (the deploy workflow uses the commit SHA)",
    )
    if not _IMAGE_TAG.match(tag):
        raise ConfigError(f"imageTag={tag!r} is not a valid image tag")
    return tag


def _digests(node: Node) -> dict[str, str]:
    digests = {}
    for image in THIRD_PARTY_IMAGES:
        digest = _required(
            node,
            image.context_key,
            f"it is the digest of {image.reference()} that the deploy workflow resolved and "
            "scanned (python3 infra/third_party_images.py resolve)",
        )
        if not DIGEST.match(digest):
            raise ConfigError(f"{image.context_key}={digest!r} is not a sha256:<64 hex> digest")
        digests[image.context_key] = digest
    return digests


def _oidc_provider(node: Node, github_repository: str | None) -> str | None:
    value = _lookup(node, "githubOidcProvider")
    if github_repository is None:
        return None
    if value is None:
        raise ConfigError(
            "githubOidcProvider is not set: an account holds one GitHub OIDC provider, so say "
            "whether this stack creates it (-c githubOidcProvider=create) or uses the existing "
            "one (-c githubOidcProvider=arn:aws:iam::<account>:oidc-provider/"
            "token.actions.githubusercontent.com; `aws iam list-open-id-connect-providers` "
            "shows it); or set DEPLOY_GITHUB_OIDC_PROVIDER"
        )
    if value != CREATE_OIDC_PROVIDER and not _OIDC_PROVIDER_ARN.match(value):
        raise ConfigError(
            f"githubOidcProvider={value!r}: use 'create' or the ARN of the account's "
            "token.actions.githubusercontent.com provider"
        )
    return value


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


def _availability_zones(value: str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    zones = tuple(zone.strip() for zone in value.split(",") if zone.strip())
    if len(zones) != 2 or len(set(zones)) != 2 or not all(_AZ_NAME.match(z) for z in zones):
        raise ConfigError(
            f"availabilityZones={value!r}: give two zone names, comma-separated "
            "(e.g. eu-west-1a,eu-west-1b)"
        )
    return zones


def _destroy_data(value: str | None, environment: str) -> bool:
    if value is None or value == "retain":
        return False
    if value != "destroy":
        raise ConfigError(f"dataRemovalPolicy={value!r}: use 'retain' (default) or 'destroy'")
    if environment in PRODUCTION_ENVIRONMENTS:
        raise ConfigError(
            f"dataRemovalPolicy=destroy is refused for environment={environment!r}: "
            "production data is always kept"
        )
    return True


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
        image_tag=_image_tag(node),
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
        github_oidc_provider=_oidc_provider(node, github_repository),
        third_party_digests=_digests(node),
        availability_zones=_availability_zones(_lookup(node, "availabilityZones")),
        destroy_data=_destroy_data(_lookup(node, "dataRemovalPolicy"), environment),
        company_time_zone=_time_zone(_lookup(node, "companyTimeZone") or "UTC"),
        api_clients=_api_clients(_lookup(node, "apiClients") or DEFAULT_API_CLIENTS),
        public_api_certificate_arn=_acm_arn(
            _lookup(node, "publicApiCertificateArn"), "publicApiCertificateArn"
        ),
        grafana_certificate_arn=_acm_arn(
            _lookup(node, "grafanaCertificateArn"), "grafanaCertificateArn"
        ),
        vpn_saml_provider_arn=_saml_provider(
            _lookup(node, "vpnSamlProviderArn"), vpn_enabled=bool(vpn_server)
        ),
        alert_emails=_emails(_lookup(node, "alertEmails")),
    )


def _saml_provider(value: str | None, *, vpn_enabled: bool) -> str | None:
    if value is None:
        return None
    if not _SAML_PROVIDER_ARN.match(value):
        raise ConfigError(
            f"vpnSamlProviderArn={value!r} is not an IAM SAML provider ARN "
            "(arn:aws:iam::<account>:saml-provider/<name>)"
        )
    if not vpn_enabled:
        raise ConfigError(
            "vpnSamlProviderArn is set without the Client VPN: set vpnServerCertificateArn and "
            "vpnClientCertificateArn too (federated sign-in is added beside the certificates)"
        )
    return value


def _api_clients(value: str) -> tuple[ApiClient, ...]:
    """`name:scope+scope;name:scope`: each caller once, each scope one of the API's."""
    usage = (
        "give name:scope+scope;name:scope, e.g. "
        f"{DEFAULT_API_CLIENTS} (names: lower-case letters, digits, '-'; scopes: "
        f"{', '.join(API_SCOPES)})"
    )
    clients: list[ApiClient] = []
    for entry in (part.strip() for part in value.split(";")):
        if not entry:
            continue
        name, sep, scope_list = entry.partition(":")
        name = name.strip()
        scopes = tuple(scope.strip() for scope in scope_list.split("+") if scope.strip())
        if not sep or not _CLIENT_NAME.match(name) or not scopes:
            raise ConfigError(f"apiClients={value!r}: {entry!r} is malformed: {usage}")
        unknown = [scope for scope in scopes if scope not in API_SCOPES]
        if unknown:
            raise ConfigError(f"apiClients={value!r}: unknown scope {unknown[0]!r}: {usage}")
        if len(set(scopes)) != len(scopes):
            raise ConfigError(f"apiClients={value!r}: {name!r} lists a scope twice")
        if any(client.name == name for client in clients):
            raise ConfigError(f"apiClients={value!r}: {name!r} is listed twice")
        clients.append(ApiClient(name, scopes))
    if not clients:
        raise ConfigError(f"apiClients={value!r}: name at least one caller: {usage}")
    return tuple(clients)


def _time_zone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"companyTimeZone={name!r} is not an IANA time zone") from exc
    return name
