"""Every stack output names something the same configuration creates and has enabled.

An output is what a person copies into a browser, a VPN client or a repository variable
(docs/deployment.md). Each one is listed in OUTPUTS with the resource it must name and what
makes that resource usable; an output not listed fails, so an output CDK adds on its own
(ClientVpnSelfServicePortalUrl, for a portal the endpoint did not have) is caught and looked at.
Checked in every configuration: every input set, each optional input turned off, development,
and no account or region.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from infra_helpers import Synthesize, app_values
from infra_settings import TURNED_OFF
from logger_app_infra.app_builder import LoggerAppStacks
from template_values import TemplateValues

Check = Callable[[TemplateValues, str, Any], list[str]]  # (values, stack, value) -> problems


def _references(value: Any) -> Iterator[str]:
    """The logical ids (or pseudo parameters) a value refers to."""
    if isinstance(value, dict):
        if "Ref" in value:
            yield value["Ref"]
        elif "Fn::GetAtt" in value:
            yield value["Fn::GetAtt"][0]
        elif "Fn::Sub" in value:
            text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
            yield from (name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", text))
        for item in value.values():
            yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def _types(values: TemplateValues, stack: str, value: Any) -> set[str]:
    resources = values.templates[stack]["Resources"]
    return {resources[name]["Type"] for name in _references(value) if name in resources}


def refers_to(*types: str, enabled: Callable[[dict[str, Any]], bool] | None = None) -> Check:
    """The output names resources of these types (and of no other), each one `enabled`."""

    def check(values: TemplateValues, stack: str, value: Any) -> list[str]:
        found = _types(values, stack, value)
        problems = [] if found == set(types) else [f"names {sorted(found)}, not {list(types)}"]
        resources = values.templates[stack]["Resources"]
        for name in _references(value):
            if enabled is not None and name in resources and not enabled(resources[name]):
                problems.append(f"{name} is not enabled for what this output offers")
        return problems

    return check


def internet_facing(resource: dict[str, Any]) -> bool:
    return bool(resource["Properties"].get("Scheme") == "internet-facing")


def self_service_portal(resource: dict[str, Any]) -> bool:
    return bool(resource["Properties"].get("SelfServicePortal") == "enabled")


def a_url_the_app_serves(values: TemplateValues, stack: str, value: Any) -> list[str]:
    """A URL whose host the app names in its private DNS: a Route 53 record aliasing a load
    balancer that listens with the URL's scheme and port, or a Cloud Map service."""
    url = urlsplit(str(values.render(stack, value)))
    scheme, host = url.scheme.upper(), url.hostname or ""
    port = url.port or (443 if scheme == "HTTPS" else 80)
    for name, template in values.templates.items():
        resources = template["Resources"]
        for record in resources.values():
            props = record["Properties"]
            if record["Type"] != "AWS::Route53::RecordSet" or props["Name"] != host + ".":
                continue
            (load_balancer,) = set(_references(props["AliasTarget"]["DNSName"]))
            listeners = {
                (listener["Properties"]["Protocol"], listener["Properties"]["Port"])
                for listener in resources.values()
                if listener["Type"] == "AWS::ElasticLoadBalancingV2::Listener"
                and listener["Properties"]["LoadBalancerArn"] == {"Ref": load_balancer}
            }
            if (scheme, port) in listeners:
                return []
            return [
                f"{host} is {load_balancer} in {name}, which has no {scheme} listener on {port}"
            ]
        namespaces = {
            logical_id: resource["Properties"]["Name"]
            for logical_id, resource in resources.items()
            if resource["Type"] == "AWS::ServiceDiscovery::PrivateDnsNamespace"
        }
        for service in resources.values():
            if service["Type"] != "AWS::ServiceDiscovery::Service":
                continue
            namespace = namespaces[service["Properties"]["NamespaceId"]["Fn::GetAtt"][0]]
            if f"{service['Properties']['Name']}.{namespace}" == host:
                return []
    return [f"no DNS name of the app is {host}"]


def a_task_definition_family(values: TemplateValues, stack: str, value: Any) -> list[str]:
    families = {
        resource["Properties"].get("Family")
        for resource in values.templates[stack]["Resources"].values()
        if resource["Type"] == "AWS::ECS::TaskDefinition"
    }
    return [] if value in families else [f"no task definition of family {value}"]


def any_resource(values: TemplateValues, stack: str, value: Any) -> list[str]:
    return [] if _types(values, stack, value) else ["names no resource"]


@dataclass(frozen=True)
class Output:
    pattern: str  # the output's logical id (CDK adds a hash to those of nested constructs)
    check: Check


OUTPUTS = (
    Output(r"ClientVpnEndpointId", refers_to("AWS::EC2::ClientVpnEndpoint")),
    Output(
        r"ClientVpnSelfServicePortalUrl\w*",
        refers_to("AWS::EC2::ClientVpnEndpoint", enabled=self_service_portal),
    ),
    Output(r"(App|LogRouter|Grafana|Loki)RepositoryUri", refers_to("AWS::ECR::Repository")),
    Output(r"GitHub(Image|Deploy)RoleArn", refers_to("AWS::IAM::Role")),
    Output(r"GrafanaStaffSignInStaffUserPoolId\w+", refers_to("AWS::Cognito::UserPool")),
    Output(r"GrafanaStaffSignInStaffSignInDomain\w+", refers_to("AWS::Cognito::UserPoolDomain")),
    Output(r"GrafanaUrl", a_url_the_app_serves),
    Output(r"GrafanaAdminSecret", refers_to("AWS::SecretsManager::Secret")),
    Output(r"PrometheusQueryUrl", refers_to("AWS::APS::Workspace")),
    Output(r"AlertsTopicArn", refers_to("AWS::SNS::Topic")),
    Output(r"ApiAuthClientId\w+", refers_to("AWS::Cognito::UserPoolClient")),
    Output(r"ApiAuthTokenEndpoint\w+", refers_to("AWS::Cognito::UserPoolDomain")),
    Output(r"AppUrl", a_url_the_app_serves),
    # What the deploy workflow starts `logger-app verify` with (verify_task.py).
    Output(r"ApiAuthVerifyClientId\w+", refers_to("AWS::Cognito::UserPoolClient")),
    Output(r"VerifyCluster", refers_to("AWS::ECS::Cluster")),
    Output(r"VerifyTaskDefinition", a_task_definition_family),
    Output(r"VerifySubnets", refers_to("AWS::EC2::Subnet")),
    Output(r"VerifySecurityGroup", refers_to("AWS::EC2::SecurityGroup")),
    Output(r"VerifyLogGroup", refers_to("AWS::Logs::LogGroup")),
    Output(
        r"PublicEdgePublicApiDnsName\w+",
        refers_to("AWS::ElasticLoadBalancingV2::LoadBalancer", enabled=internet_facing),
    ),
    # Cross-stack references (CDK's exports); test_infra_exports.py checks they stay.
    Output(r"ExportsOutput\w+", any_resource),
)

CONFIGS = {
    "full": None,
    "dev": None,
    "agnostic": None,
    **{f"{name}-off": after for name, (_, after) in TURNED_OFF.items()},
}


def _problems(stacks: LoggerAppStacks) -> tuple[int, list[str]]:
    values = app_values(stacks)
    checked, problems = 0, list[str]()
    for stack, template in values.templates.items():
        resources = template["Resources"]
        for output_id, output in template.get("Outputs", {}).items():
            checked += 1
            value = output["Value"]
            missing = [
                name
                for name in _references(value)
                if name not in resources and not name.startswith("AWS::")
            ]
            rules = [rule for rule in OUTPUTS if re.fullmatch(rule.pattern, output_id)]
            found = [f"refers to {name}, which this stack does not create" for name in missing]
            if len(rules) != 1:
                found.append("not in OUTPUTS: say what it must name there")
            else:
                found.extend(rules[0].check(values, stack, value))
            problems.extend(f"{stack} {output_id}: {problem}" for problem in found)
    return checked, problems


@pytest.mark.parametrize("config", CONFIGS)
def test_every_output_names_something_that_exists_and_is_enabled(
    config: str, request: pytest.FixtureRequest, synthesize: Synthesize
) -> None:
    context = CONFIGS[config]
    stacks: LoggerAppStacks = (
        request.getfixturevalue(config) if context is None else synthesize(context)
    )
    checked, problems = _problems(stacks)
    assert checked > 20
    assert problems == []


def test_an_output_for_a_disabled_feature_is_caught(full: LoggerAppStacks) -> None:
    """The portal check reads the endpoint's SelfServicePortal as CloudFormation does: absent,
    the portal is disabled. (CDK outputs the URL whenever SAML is set: the bug this catches.)"""
    values = app_values(full)
    access = full.access.stack_name
    endpoint = next(
        logical_id
        for logical_id, resource in values.templates[access]["Resources"].items()
        if resource["Type"] == "AWS::EC2::ClientVpnEndpoint"
    )
    url = {"Fn::Join": ["", ["https://self-service.clientvpn.amazonaws.com/", {"Ref": endpoint}]]}
    portal_rule, endpoint_rule = (
        next(rule for rule in OUTPUTS if rule.pattern.startswith(prefix))
        for prefix in ("ClientVpnSelfServicePortalUrl", "ClientVpnEndpointId")
    )
    assert portal_rule.check(values, access, url) == [
        f"{endpoint} is not enabled for what this output offers"
    ]
    assert endpoint_rule.check(values, access, {"Ref": endpoint}) == []
