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

# Where the repository's shared files (otel-collector.yaml) are read from.
REPO = Path(os.environ.get("INFRA_TEST_REPO_ROOT", str(REPO_ROOT)))
