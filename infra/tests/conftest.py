"""One synthesized app per configuration, shared by every infra test (jsii start-up is slow)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

INFRA_DIR = Path(__file__).resolve().parents[1]
if str(INFRA_DIR) not in sys.path:
    sys.path.insert(0, str(INFRA_DIR))

import aws_cdk as cdk  # noqa: E402
from infra_settings import DEV_CONTEXT, PROD_CONTEXT, PUBLIC_CONTEXT, REPO  # noqa: E402
from logger_app_infra.app_builder import LoggerAppStacks, build_stacks  # noqa: E402


def _synth(context: dict[str, str], outdir: Path) -> LoggerAppStacks:
    app = cdk.App(context=context, outdir=str(outdir))
    stacks = build_stacks(app, REPO)
    app.synth()
    return stacks


@pytest.fixture(scope="session")
def prod(tmp_path_factory: pytest.TempPathFactory) -> LoggerAppStacks:
    return _synth(PROD_CONTEXT, tmp_path_factory.mktemp("cdk-prod"))


@pytest.fixture(scope="session")
def dev(tmp_path_factory: pytest.TempPathFactory) -> LoggerAppStacks:
    return _synth(DEV_CONTEXT, tmp_path_factory.mktemp("cdk-dev"))


@pytest.fixture(scope="session")
def public(tmp_path_factory: pytest.TempPathFactory) -> LoggerAppStacks:
    return _synth(PUBLIC_CONTEXT, tmp_path_factory.mktemp("cdk-public"))
