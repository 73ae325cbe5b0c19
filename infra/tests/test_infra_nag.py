"""cdk-nag AwsSolutions and HIPAA Security: no unsuppressed error, every suppression explained."""

from __future__ import annotations

import re

import pytest
from aws_cdk.assertions import Annotations, Match
from infra_helpers import template
from logger_app_infra.app_builder import LoggerAppStacks

PACKS = ("AwsSolutions-.*", "HIPAA\\.Security-.*", "CdkNagValidationFailure.*")
STACKS = ("network", "data", "delivery", "access", "observability", "service")


@pytest.mark.parametrize("stack_name", STACKS)
@pytest.mark.parametrize("config", ["full", "prod", "dev"])
def test_no_unsuppressed_nag_errors(
    config: str, stack_name: str, request: pytest.FixtureRequest
) -> None:
    stacks: LoggerAppStacks = request.getfixturevalue(config)
    stack = getattr(stacks, stack_name)
    for pack in PACKS:
        errors = Annotations.from_stack(stack).find_error("*", Match.string_like_regexp(pack))
        assert errors == [], [f"{e.id}: {str(e.entry.data)[:160]}" for e in errors]


def test_every_suppression_has_a_specific_reason(prod: LoggerAppStacks) -> None:
    seen = 0
    for stack in prod.all():
        for resource in template(stack).to_json()["Resources"].values():
            rules = resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
            for rule in rules:
                seen += 1
                assert re.match(
                    r"^(AwsSolutions|HIPAA\.Security|CdkNagValidationFailure)", rule["id"]
                )
                assert len(rule["reason"]) >= 60, rule
    assert seen > 10
