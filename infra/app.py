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


def main() -> None:
    # The CDK CLI sets CDK_OUTDIR; run directly, the templates go to infra/cdk.out.
    app = cdk.App(outdir=os.environ.get("CDK_OUTDIR", str(INFRA_DIR / "cdk.out")))
    build_stacks(app)
    app.synth()


if __name__ == "__main__":
    main()
