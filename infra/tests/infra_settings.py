"""The configurations the infra tests synthesize, and where the shared repository files are."""

from __future__ import annotations

import os
from pathlib import Path

from logger_app_infra.repo_files import REPO_ROOT

ACCOUNT = "111111111111"
REGION = "eu-west-1"
ALB_CERTIFICATE = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/alb-0001"
VPN_SERVER_CERTIFICATE = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/vpn-server-0001"
VPN_CLIENT_CERTIFICATE = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/vpn-client-0001"
GITHUB_REPOSITORY = "example-org/logger-app"

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
    "alertEmails": "oncall@example.org, ops@example.org",
}
# A minimal development configuration: no certificates, no VPN, no GitHub role.
DEV_CONTEXT: dict[str, str] = {"environment": "dev", "account": ACCOUNT, "region": REGION}

# Where the repository's shared files (otel-collector.yaml) are read from.
REPO = Path(os.environ.get("INFRA_TEST_REPO_ROOT", str(REPO_ROOT)))
