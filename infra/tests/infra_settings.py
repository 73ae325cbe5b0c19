"""The configurations the infra tests synthesize, and where the shared repository files are."""

from __future__ import annotations

import os
from pathlib import Path

from logger_app_infra.repo_files import REPO_ROOT
from logger_app_infra.third_party import THIRD_PARTY_IMAGES

ACCOUNT = "111111111111"
REGION = "eu-west-1"
ALB_CERTIFICATE = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/alb-0001"
VPN_SERVER_CERTIFICATE = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/vpn-server-0001"
VPN_CLIENT_CERTIFICATE = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/vpn-client-0001"
GRAFANA_CERTIFICATE = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/grafana-0001"
VPN_SAML_PROVIDER = f"arn:aws:iam::{ACCOUNT}:saml-provider/company-idp"
GITHUB_REPOSITORY = "example-org/logger-app"
PUBLIC_API_CERTIFICATE = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/public-api-0001"

# Test placeholders for the digests the deploy workflow resolves: one repeated hex digit per
# image, so a test can tell them apart. Not the digest of any image.
DIGESTS: dict[str, str] = {
    image.context_key: "sha256:" + "abcd"[index] * 64
    for index, image in enumerate(THIRD_PARTY_IMAGES)
}

# A complete production configuration: every input a real deployment sets.
PROD_CONTEXT: dict[str, str] = {
    "environment": "prod",
    "account": ACCOUNT,
    "region": REGION,
    "imageTag": "0123abc",
    "vpcCidr": "10.40.0.0/16",
    "albCertificateArn": ALB_CERTIFICATE,
    "vpnServerCertificateArn": VPN_SERVER_CERTIFICATE,
    "vpnClientCertificateArn": VPN_CLIENT_CERTIFICATE,
    "githubRepository": GITHUB_REPOSITORY,
    "githubBranch": "main",
    "githubOidcProvider": "create",
    "grafanaCertificateArn": GRAFANA_CERTIFICATE,
    "vpnSamlProviderArn": VPN_SAML_PROVIDER,
    **DIGESTS,
    "alertEmails": "oncall@example.org, ops@example.org",
}
# A minimal development configuration: no certificates, no VPN, no GitHub role. The image tag
# is required; tests pass an explicit placeholder.
DEV_CONTEXT: dict[str, str] = {
    "environment": "dev",
    "account": ACCOUNT,
    "region": REGION,
    "imageTag": "test-placeholder",
    **DIGESTS,
}

# Production with the public API edge (publicApiCertificateArn): an opt-in input.
PUBLIC_CONTEXT: dict[str, str] = {**PROD_CONTEXT, "publicApiCertificateArn": PUBLIC_API_CERTIFICATE}

# Every input a deployment can give: production with the public edge, and each input that has
# a default set to something else. The inputs a synth cannot do without (environment, account,
# region, imageTag, the digests; githubOidcProvider with githubRepository) are never unset.
FULL_CONTEXT: dict[str, str] = {
    **PUBLIC_CONTEXT,
    "githubBranch": "release",
    "availabilityZones": f"{REGION}a,{REGION}b",
    "companyTimeZone": "Europe/London",
    "apiClients": "patient-signup:signups:write;care-records:records:write+records:read;"
    "reports:records:read",
    "vpcCidr": "10.50.0.0/16",
    "vpnClientCidr": "10.200.0.0/22",
}
# Each optional input, and the keys unsetting it removes from FULL_CONTEXT: the Client VPN's
# two certificates go together (the configuration refuses one without the other), and with
# them the SAML provider that needs them.
OPTIONAL_INPUTS: dict[str, tuple[str, ...]] = {
    "vpnCertificates": ("vpnServerCertificateArn", "vpnClientCertificateArn", "vpnSamlProviderArn"),
    **{
        key: (key,)
        for key in (
            "vpnSamlProviderArn",
            "albCertificateArn",
            "grafanaCertificateArn",
            "publicApiCertificateArn",
            "githubRepository",
            "githubBranch",
            "alertEmails",
            "availabilityZones",
            "companyTimeZone",
            "apiClients",
            "vpnClientCidr",
        )
    },
}
# dataRemovalPolicy=destroy is refused in production: it is unset from a non-production copy.
STAGING_FULL_CONTEXT: dict[str, str] = {
    **FULL_CONTEXT,
    "environment": "staging",
    "dataRemovalPolicy": "destroy",
}


def without(context: dict[str, str], keys: tuple[str, ...]) -> dict[str, str]:
    return {key: value for key, value in context.items() if key not in keys}


# Each optional input turned off on a deployment that has every input: (before, after).
TURNED_OFF: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    **{name: (FULL_CONTEXT, without(FULL_CONTEXT, keys)) for name, keys in OPTIONAL_INPUTS.items()},
    "dataRemovalPolicy": (
        STAGING_FULL_CONTEXT,
        without(STAGING_FULL_CONTEXT, ("dataRemovalPolicy",)),
    ),
}

# vpcCidr is fixed once an environment exists (it replaces the VPC): changed, not turned off.
VPC_CIDR_CHANGED = (FULL_CONTEXT, without(FULL_CONTEXT, ("vpcCidr",)))

# Where the repository's shared files (otel-collector.yaml) are read from.
REPO = Path(os.environ.get("INFRA_TEST_REPO_ROOT", str(REPO_ROOT)))
