"""Small readers over synthesized templates."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aws_cdk import Stack
from aws_cdk.assertions import Template
from infra_settings import ACCOUNT, REGION
from logger_app_infra.app_builder import LoggerAppStacks
from template_values import TemplateValues

# The `synthesize` fixture: the app synthesized for a context (conftest.py).
Synthesize = Callable[[Mapping[str, str]], LoggerAppStacks]


def template(stack: Stack) -> Template:
    return Template.from_stack(stack)


def app_values(stacks: LoggerAppStacks) -> TemplateValues:
    """Every template of the app, read as AWS would (template_values.py). A synth without an
    account or region gets the tests' ones through the pseudo parameters."""
    return TemplateValues(
        {stack.stack_name: template(stack).to_json() for stack in stacks.all()},
        region=stacks.config.region or REGION,
        account=stacks.config.account or ACCOUNT,
    )


def resources(stack: Stack, resource_type: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = template(stack).find_resources(resource_type)
    return found


def only(stack: Stack, resource_type: str) -> dict[str, Any]:
    found = resources(stack, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    props: dict[str, Any] = next(iter(found.values()))["Properties"]
    return props


def logical_id(stack: Stack, construct: Any) -> str:
    return stack.get_logical_id(construct.node.default_child)


def statements(stack: Stack, role_logical_id: str) -> list[dict[str, Any]]:
    """Every statement of the policies attached to one role."""
    found: list[dict[str, Any]] = []
    for policy in resources(stack, "AWS::IAM::Policy").values():
        roles = policy["Properties"].get("Roles", [])
        if {"Ref": role_logical_id} in roles:
            found.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def ingress_sources(stack: Stack, group_logical_id: str) -> set[tuple[str, int]]:
    """(source, port) for every ingress rule of a security group; source is a logical id or CIDR."""
    group = {"Fn::GetAtt": [group_logical_id, "GroupId"]}
    sources: set[tuple[str, int]] = set()
    for rule in resources(stack, "AWS::EC2::SecurityGroupIngress").values():
        props = rule["Properties"]
        if props["GroupId"] != group:
            continue
        source = props.get("SourceSecurityGroupId", {}).get("Fn::GetAtt", [None])[0]
        sources.add((source or props.get("CidrIp", "?"), props["FromPort"]))
    inline = resources(stack, "AWS::EC2::SecurityGroup")[group_logical_id]["Properties"]
    for props in inline.get("SecurityGroupIngress", []):
        sources.add((props.get("CidrIp", "?"), props["FromPort"]))
    return sources


def container(task_definition: dict[str, Any], name: str) -> dict[str, Any]:
    for definition in task_definition["Properties"]["ContainerDefinitions"]:
        if definition["Name"] == name:
            found: dict[str, Any] = definition
            return found
    raise AssertionError(f"no container {name}")


def environment(definition: dict[str, Any]) -> dict[str, Any]:
    return {item["Name"]: item["Value"] for item in definition.get("Environment", [])}
