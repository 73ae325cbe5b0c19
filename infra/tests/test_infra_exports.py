"""Turning any optional input off, on a deployment that has every input, deletes no export that
a stack still imports and changes none.

`cdk deploy` updates a stack that exports before the stacks that import from it, and
CloudFormation refuses to delete or change an export that another stack's current template
imports ("Export ... cannot be deleted as it is in use by ..."). So the exports synthesized
without the input must hold every export the full configuration imports, with the same value,
or the deploy that turns the input off fails at its first stack. (Turning an input on only
adds exports, which CloudFormation creates before the importing stack is updated.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from infra_helpers import Synthesize, template
from infra_settings import TURNED_OFF
from logger_app_infra.app_builder import LoggerAppStacks


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


def test_every_import_of_a_configuration_is_exported_by_it(full: LoggerAppStacks) -> None:
    """The comparison above reads CDK's own exports and imports: both sides are real."""
    assert set(_imports(full)) <= set(_exports(full))
