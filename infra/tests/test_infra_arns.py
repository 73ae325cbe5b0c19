"""Every ARN the templates pass to AWS has its type's documented format (arn_formats.py), and
every condition that names a resource by ARN names one the app has, as AWS spells its ARN.

An ARN with the wrong shape is accepted by CloudFormation and by IAM alike and simply matches
nothing: the logs key's `log-group/*` condition (CloudWatch Logs ARNs have `log-group:`) made
every encrypted log group fail to create. Nothing here is deployed; the formats are AWS's
documentation, and the templates are read as CloudFormation resolves them
(template_values.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from arn_formats import ARN_FORMATS, ArnFormat, arn_like, conforms, formats_of, string_like
from infra_helpers import app_values
from logger_app_infra.app_builder import LoggerAppStacks
from template_values import RESOURCE_ARNS, TemplateValues

# Every input (full), production and development without the optional ones, and a synth with
# no account or region (a bare `make synth`).
CONFIGS = ("full", "prod", "dev", "agnostic")
# The statements CDK writes for the account's log delivery (flow logs and ALB access logs to
# the logs bucket) name their source as AWS documents it, arn:aws:logs:<region>:<account>:*:
# a delivery of the account, not a resource of these templates.
LOG_DELIVERY = "delivery.logs.amazonaws.com"
ARN_KEY = re.compile(r"arn$", re.IGNORECASE)
LOGS_CONTEXT_KEY = "kms:EncryptionContext:aws:logs:arn"
# Null and Bool only test a key's presence or truth; every other operator here compares it.
NOT_COMPARING = ("Null", "Bool")


def _values(config: str, request: pytest.FixtureRequest) -> TemplateValues:
    stacks: LoggerAppStacks = request.getfixturevalue(config)
    return app_values(stacks)


@pytest.mark.parametrize("config", CONFIGS)
def test_every_arn_in_the_templates_has_a_documented_format(
    config: str, request: pytest.FixtureRequest
) -> None:
    values = _values(config, request)
    found = list(values.arns())
    assert len(found) > 50
    undocumented = [f"{a.stack} {a.where}: {a.value}" for a in found if not formats_of(a.value)]
    assert undocumented == [], "no documented ARN format (arn_formats.py) matches these"


@pytest.mark.parametrize("arn_format", ARN_FORMATS, ids=lambda f: f.key)
def test_each_format_of_the_table_is_documented_and_used(
    arn_format: ArnFormat, full: LoggerAppStacks, dev: LoggerAppStacks
) -> None:
    assert arn_format.source.startswith("https://docs.aws.amazon.com/")
    # The example (AWS's own shape) is of this format and of no other in the table.
    assert formats_of(arn_format.example) == [arn_format]
    # A format no template uses any more goes from the table, so the table stays the live one.
    used = [
        found.value
        for values in (app_values(full), app_values(dev))
        for found in values.arns()
        if conforms(found.value, arn_format)
    ]
    assert used, f"no ARN in the templates is a {arn_format.key}: remove it from the table"


def _separator_swapped(arn_format: ArnFormat) -> str | None:
    """The example with the other separator (':' or '/') after its resource type, e.g.
    log-group:<name> -> log-group/<name>; None for formats with no resource type word."""
    resource = arn_format.template.split(":", 5)[5]
    prefix = resource.split("${", 1)[0]
    if not re.fullmatch(r"[a-z][a-z/-]*[:/]", prefix):
        return None
    other = "/" if prefix.endswith(":") else ":"
    head, _, tail = arn_format.example.partition(":" + prefix)
    assert tail, arn_format.example
    return f"{head}:{prefix[:-1]}{other}{tail}"


SWAPPED = [(f, _separator_swapped(f)) for f in ARN_FORMATS if _separator_swapped(f)]


@pytest.mark.parametrize(("arn_format", "wrong"), SWAPPED, ids=[f.key for f, _ in SWAPPED])
def test_the_wrong_separator_after_the_resource_type_matches_no_format(
    arn_format: ArnFormat, wrong: str
) -> None:
    assert not conforms(wrong, arn_format)
    assert formats_of(wrong) == [], wrong


def test_the_matcher_reads_wildcards_as_iam_does() -> None:
    log_group, log_stream = ARN_FORMATS[0], ARN_FORMATS[1]
    assert conforms("arn:aws:logs:eu-west-1:111111111111:log-group:*", log_group)
    # A log group's Fn::GetAtt Arn (":*" after the name) covers its streams.
    assert conforms("arn:aws:logs:eu-west-1:111111111111:log-group:/ecs/app:*", log_stream)
    assert not conforms("arn:aws:logs:eu-west-1:111111111111:log-group/*", log_group)
    assert formats_of("arn:aws:logs:eu-west-1:111111111111:log-group/*") == []
    assert arn_like(
        "arn:aws:logs:eu-west-1:111111111111:log-group:*",
        "arn:aws:logs:eu-west-1:111111111111:log-group:/ecs/app",
    )
    # In ArnLike a wildcard stays inside its part: `*` in the region matches no colon.
    assert not arn_like("arn:aws:logs:*:log-group:x", "arn:aws:logs:eu-west-1:1:log-group:x")
    assert string_like("repo:org/*", "repo:org/app:ref:refs/heads/main")


def _statements(values: TemplateValues) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(stack, logical id, statement) for every policy statement in the templates."""

    def walk(value: Any) -> Iterator[dict[str, Any]]:
        if isinstance(value, dict):
            statements = value.get("Statement")
            if isinstance(statements, list):
                yield from (s for s in statements if isinstance(s, dict) and "Effect" in s)
            for item in value.values():
                yield from walk(item)
        elif isinstance(value, list):
            for item in value:
                yield from walk(item)

    for stack, template in values.templates.items():
        for logical_id, resource in template["Resources"].items():
            for statement in walk(resource.get("Properties", {})):
                yield stack, logical_id, statement


def _principal_services(values: TemplateValues, stack: str, statement: dict[str, Any]) -> set[str]:
    principal = statement.get("Principal", {})
    services = values.render(stack, principal.get("Service", [])) if principal != "*" else []
    return set(services if isinstance(services, list) else [services])


def _condition_admits(
    values: TemplateValues, stack: str, statement: dict[str, Any], key: str, arn: str
) -> bool:
    """Whether the statement's conditions on `key` (if any) admit `arn`."""
    for operator, conditions in statement.get("Condition", {}).items():
        if key not in conditions or operator in NOT_COMPARING:
            continue
        rendered = values.render(stack, conditions[key])
        patterns = rendered if isinstance(rendered, list) else [rendered]
        if operator in ("ArnLike", "ArnEquals"):
            admitted = any(arn_like(p, arn) for p in patterns)
        elif operator == "StringLike":
            admitted = any(string_like(p, arn) for p in patterns)
        elif operator == "StringEquals":
            admitted = arn in patterns
        else:
            raise AssertionError(f"{operator} on {key}: teach _condition_admits to read it")
        if not admitted:
            return False
    return True


@pytest.mark.parametrize("config", CONFIGS)
def test_the_logs_key_admits_every_log_group_it_encrypts(
    config: str, request: pytest.FixtureRequest
) -> None:
    """CloudWatch Logs uses a log group's key only if the key policy lets it, for that log
    group: the encryption context names the group, arn:aws:logs:<region>:<account>:log-group:
    <name> (AWS, "Encrypt log data in CloudWatch Logs using AWS KMS")."""
    values = _values(config, request)
    checked = []
    for stack in values.templates:
        for log_group in values.resources(stack, "AWS::Logs::LogGroup"):
            if "KmsKeyId" not in log_group.properties:
                continue
            key_id = log_group.properties["KmsKeyId"]["Fn::GetAtt"][0]
            key = values.resource(stack, key_id)
            logs = f"logs.{values.pseudo['AWS::Region']}.amazonaws.com"
            grants = [
                statement
                for statement in key.properties["KeyPolicy"]["Statement"]
                if statement["Effect"] == "Allow"
                and logs in _principal_services(values, stack, statement)
            ]
            assert grants, f"{stack}/{key_id} does not let CloudWatch Logs use it"
            arn = values.arn_of(log_group)
            assert any(
                _condition_admits(values, stack, grant, LOGS_CONTEXT_KEY, arn) for grant in grants
            ), f"{stack}/{key_id}'s policy does not admit {arn}"
            checked.append(arn)
    assert len(checked) >= 4, checked


@pytest.mark.parametrize("config", CONFIGS)
def test_every_arn_condition_names_a_resource_of_the_app(
    config: str, request: pytest.FixtureRequest
) -> None:
    """aws:SourceArn, elasticfilesystem:AccessPointArn, kms:EncryptionContext:aws:logs:arn,
    ...: a condition whose value matches none of the app's resources admits nothing."""
    values = _values(config, request)
    app_arns = [
        values.arn_of(values.resource(stack, logical_id))
        for stack, template in values.templates.items()
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] in RESOURCE_ARNS
    ]
    checked, unmatched = 0, []
    for stack, logical_id, statement in _statements(values):
        if LOG_DELIVERY in _principal_services(values, stack, statement):
            continue
        for operator, conditions in statement.get("Condition", {}).items():
            if operator in NOT_COMPARING:
                continue
            for key in filter(ARN_KEY.search, conditions):
                checked += 1
                if not any(
                    _condition_admits(values, stack, statement, key, arn) for arn in app_arns
                ):
                    unmatched.append(f"{stack}/{logical_id} {key}: {conditions[key]}")
    assert checked >= 3
    assert unmatched == [], "these conditions match no resource of the app"
