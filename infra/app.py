#!/usr/bin/env python3
"""CDK entry point: `cdk synth|deploy` from infra/, or `python infra/app.py` (to infra/cdk.out)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

INFRA_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(INFRA_DIR))

import aws_cdk as cdk  # noqa: E402
from logger_app_infra.app_builder import build_stacks  # noqa: E402
from logger_app_infra.config import ENV_FALLBACK, OFFLINE_SYNTH_CONTEXT  # noqa: E402

# Set by the CDK CLI (synth, deploy, diff) for the app it runs; absent for `python infra/app.py`.
CDK_CLI_ENV = "CDK_CLI_ASM_VERSION"
OFFLINE_SYNTH = "logger-app:offline-synth"


def main() -> None:
    # The CDK CLI sets CDK_OUTDIR; run directly, the templates go to infra/cdk.out.
    app = cdk.App(outdir=os.environ.get("CDK_OUTDIR", str(INFRA_DIR / "cdk.out")))
    placeholders = [] if CDK_CLI_ENV in os.environ else offline_placeholders(app)
    stacks = build_stacks(app)
    if placeholders:
        note = (
            f"Offline synth: placeholder {', '.join(placeholders)}; these templates are for "
            "reading and linting only. Deploy with the CDK CLI and real inputs "
            "(docs/deployment.md)."
        )
        print(note, file=sys.stderr)
        for stack in stacks.all():
            # Shown again by any CLI command that reads this assembly (cdk.out).
            cdk.Annotations.of(stack).add_warning_v2(OFFLINE_SYNTH, note)
    app.synth()


def offline_placeholders(app: cdk.App) -> list[str]:
    """Run without the CDK CLI (make synth, from a fresh clone): inputs that name deployed
    artefacts and are not given get an explicit placeholder. The CLI never gets them: there a
    missing input stops the synth (config.py)."""
    used = []
    for key, value in OFFLINE_SYNTH_CONTEXT.items():
        if app.node.try_get_context(key) is None and not os.environ.get(ENV_FALLBACK[key]):
            app.node.set_context(key, value)
            used.append(key)
    return used


if __name__ == "__main__":
    main()
