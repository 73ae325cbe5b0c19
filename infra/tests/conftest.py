"""One synthesized app per configuration, shared by every infra test (jsii start-up is slow)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

INFRA_DIR = Path(__file__).resolve().parents[1]
if str(INFRA_DIR) not in sys.path:
    sys.path.insert(0, str(INFRA_DIR))

import aws_cdk as cdk  # noqa: E402
from infra_helpers import Synthesize  # noqa: E402
from infra_settings import (  # noqa: E402
    DEV_CONTEXT,
    FULL_CONTEXT,
    PROD_CONTEXT,
    PUBLIC_CONTEXT,
    REPO,
)
from logger_app_infra.app_builder import LoggerAppStacks, build_stacks  # noqa: E402
from logger_app_infra.config import ENV_FALLBACK  # noqa: E402


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


@pytest.fixture(scope="session")
def synthesize(tmp_path_factory: pytest.TempPathFactory) -> Synthesize:
    """Synthesizes the app for a context, once per context. No deployment variable of the
    environment fills in an input the context leaves out: what is unset stays unset."""
    synthesized: dict[tuple[tuple[str, str], ...], LoggerAppStacks] = {}

    def synthesized_for(context: Mapping[str, str]) -> LoggerAppStacks:
        key = tuple(sorted(context.items()))
        if key not in synthesized:
            with pytest.MonkeyPatch.context() as environment:
                for variable in ENV_FALLBACK.values():
                    environment.delenv(variable, raising=False)
                synthesized[key] = _synth(dict(context), tmp_path_factory.mktemp("cdk"))
        return synthesized[key]

    return synthesized_for


@pytest.fixture(scope="session")
def full(synthesize: Synthesize) -> LoggerAppStacks:
    """Every input set (infra_settings.FULL_CONTEXT)."""
    return synthesize(FULL_CONTEXT)


@pytest.fixture(scope="session")
def agnostic(synthesize: Synthesize) -> LoggerAppStacks:
    """No account or region, as a bare `make synth`: ARNs are built from AWS::Region and
    AWS::AccountId."""
    return synthesize({k: v for k, v in DEV_CONTEXT.items() if k not in ("account", "region")})
