"""Turning any optional input off, on a deployment that has every input, deletes no export that
a stack still imports and changes none.

`cdk deploy` updates a stack that exports before the stacks that import from it, and
CloudFormation refuses to delete or change an export that another stack's current template
imports ("Export ... cannot be deleted as it is in use by ..."). So the exports synthesized
without the input must hold every export the full configuration imports, with the same value,
or the deploy that turns the input off fails at its first stack. (Turning an input on only
adds exports, which CloudFormation creates before the importing stack is updated.)

The same value means the same expression, naming resources that are not replaced: a resource
whose create-only property changes (AWS's resource schemas, as cfn-lint ships them) gets a new
physical id, and every export of it a new value.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER
from infra_helpers import Synthesize, app_values, template
from infra_settings import REGION, TURNED_OFF, VPC_CIDR_CHANGED
from logger_app_infra.app_builder import LoggerAppStacks
from template_values import TemplateValues


def _exports(stacks: LoggerAppStacks) -> dict[str, str]:
    """Export name -> its value as the template gives it."""
    return {
        output["Export"]["Name"]: json.dumps(output["Value"], sort_keys=True)
        for stack in stacks.all()
        for output in template(stack).to_json().get("Outputs", {}).values()
        if "Export" in output
    }


def _imports(stacks: LoggerAppStacks) -> dict[str, set[str]]:
    """Export name -> the stacks that import it."""

    def walk(value: Any) -> Iterator[str]:
        if isinstance(value, dict):
            if set(value) == {"Fn::ImportValue"}:
                assert isinstance(value["Fn::ImportValue"], str), value
                yield value["Fn::ImportValue"]
            for item in value.values():
                yield from walk(item)
        elif isinstance(value, list):
            for item in value:
                yield from walk(item)

    imported: dict[str, set[str]] = {}
    for stack in stacks.all():
        for name in walk(template(stack).to_json()):
            imported.setdefault(name, set()).add(stack.stack_name)
    return imported


def _create_only(resource_type: str) -> list[list[str]]:
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(REGION, resource_type).schema
    return [
        pointer.removeprefix("/properties/").split("/")
        for pointer in schema.get("createOnlyProperties", [])
    ]


def _at(properties: Any, path: list[str]) -> Any:
    for part in path:
        if not isinstance(properties, dict) or part not in properties:
            return None
        properties = properties[part]
    return properties


def _replaced(
    before: TemplateValues, after: TemplateValues, stack: str, logical_id: str
) -> str | None:
    """Why CloudFormation replaces the resource going from `before` to `after`, or None."""
    old = before.templates[stack]["Resources"][logical_id]
    new = after.templates.get(stack, {}).get("Resources", {}).get(logical_id)
    if new is None or new["Type"] != old["Type"]:
        return f"{logical_id} is removed"
    for path in _create_only(old["Type"]):
        was, becomes = _at(old.get("Properties"), path), _at(new.get("Properties"), path)
        if before.resolve(stack, was) != after.resolve(stack, becomes):
            return f"{logical_id}'s {'/'.join(path)} changes (create-only)"
        for named_stack, named in before.referenced(stack, was):
            why = _replaced(before, after, named_stack, named)
            if why is not None:
                return f"{logical_id}'s {'/'.join(path)} names {named}: {why}"
    return None


def _exports_replaced(before: LoggerAppStacks, after: LoggerAppStacks) -> list[str]:
    """The exports in use whose resource the change replaces."""
    old, new = app_values(before), app_values(after)
    replaced = []
    for export in _imports(before):
        producer, value = old.exports[export]
        for stack, logical_id in old.referenced(producer, value):
            why = _replaced(old, new, stack, logical_id)
            if why is not None:
                replaced.append(f"{export}: {why}")
    return sorted(set(replaced))


@pytest.mark.parametrize("name", TURNED_OFF)
def test_turning_an_input_off_deletes_no_export_in_use(name: str, synthesize: Synthesize) -> None:
    before_context, after_context = TURNED_OFF[name]
    before, after = synthesize(before_context), synthesize(after_context)
    assert after.config != before.config, f"{name} was not unset"
    in_use = _imports(before)
    assert len(in_use) > 10
    exported_before, exported_after = _exports(before), _exports(after)
    deleted = sorted(
        f"{export} (imported by {', '.join(sorted(importers))})"
        for export, importers in in_use.items()
        if export not in exported_after
    )
    assert deleted == [], f"turning {name} off deletes exports still in use"
    changed = sorted(
        export
        for export in in_use
        if export in exported_after and exported_after[export] != exported_before[export]
    )
    assert changed == [], f"turning {name} off changes exports still in use"
    replaced = _exports_replaced(before, after)
    assert replaced == [], f"turning {name} off replaces what exports still in use name"


def test_the_vpc_cidr_stays_what_the_environment_was_created_with(synthesize: Synthesize) -> None:
    """vpcCidr is the one input no deploy can change: the VPC is replaced, and with it every
    subnet and security group other stacks use (docs/deployment.md, Inputs). The check above
    sees it."""
    before_context, after_context = VPC_CIDR_CHANGED
    replaced = _exports_replaced(synthesize(before_context), synthesize(after_context))
    assert any("VpcPrivateSubnet1Subnet" in export for export in replaced), replaced
    assert any("CidrBlock changes" in export for export in replaced), replaced


def test_every_import_of_a_configuration_is_exported_by_it(full: LoggerAppStacks) -> None:
    """The comparison above reads CDK's own exports and imports: both sides are real."""
    assert set(_imports(full)) <= set(_exports(full))
