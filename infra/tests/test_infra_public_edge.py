"""The public API edge (publicApiCertificateArn): absent, nothing public; set, an
internet-facing HTTPS-only ALB forwarding /v1/* only, behind AWS WAF with logs kept."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Annotations, Match
from infra_helpers import ingress_sources, logical_id, only, resources, template
from infra_settings import DIGESTS, PUBLIC_API_CERTIFICATE, REGION, REPO
from logger_app_infra.app_builder import LoggerAppStacks
from logger_app_infra.config import ConfigError, load_config
from logger_app_infra.ports import APP_PORT

PUBLIC_TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"
MANAGED_GROUPS = {
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
}
WAF_TYPES = (
    "AWS::WAFv2::WebACL",
    "AWS::WAFv2::WebACLAssociation",
    "AWS::WAFv2::LoggingConfiguration",
)


def _edge(stacks: LoggerAppStacks) -> Any:
    edge = stacks.service.public_edge
    assert edge is not None
    return edge


def _public_lb(stacks: LoggerAppStacks) -> dict[str, Any]:
    found: dict[str, Any] = resources(stacks.service, "AWS::ElasticLoadBalancingV2::LoadBalancer")[
        logical_id(stacks.service, _edge(stacks).load_balancer)
    ]["Properties"]
    return found


def _listener(stacks: LoggerAppStacks, listener: Any) -> dict[str, Any]:
    found: dict[str, Any] = resources(stacks.service, "AWS::ElasticLoadBalancingV2::Listener")[
        logical_id(stacks.service, listener)
    ]["Properties"]
    return found


def _rules(stacks: LoggerAppStacks) -> dict[str, dict[str, Any]]:
    return {rule["Name"]: rule for rule in only(stacks.service, "AWS::WAFv2::WebACL")["Rules"]}


@pytest.mark.parametrize("config", ["prod", "dev"])
def test_without_the_input_nothing_is_public(config: str, request: pytest.FixtureRequest) -> None:
    stacks: LoggerAppStacks = request.getfixturevalue(config)
    assert stacks.service.public_edge is None
    for stack in stacks.all():
        for lb in resources(stack, "AWS::ElasticLoadBalancingV2::LoadBalancer").values():
            assert lb["Properties"]["Scheme"] == "internal"
        for resource_type in WAF_TYPES:
            assert resources(stack, resource_type) == {}, (stack.stack_name, resource_type)
    # The edge's group stays in Access (so its export does too) but lets nothing in, and the
    # app tasks admit nothing from it.
    access = stacks.access
    group_id = logical_id(access, access.public_api_load_balancer_security_group)
    assert ingress_sources(access, group_id) == set()
    app_id = logical_id(access, access.app_security_group)
    assert [source for source, _ in ingress_sources(access, app_id) if source == group_id] == []


def test_the_public_alb_is_internet_facing_in_the_public_subnets(
    public: LoggerAppStacks,
) -> None:
    lb = _public_lb(public)
    assert lb["Scheme"] == "internet-facing"
    assert "PublicSubnet" in str(lb["Subnets"])
    assert "PrivateSubnet" not in str(lb["Subnets"])
    attributes = {a["Key"]: a["Value"] for a in lb["LoadBalancerAttributes"]}
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attributes["deletion_protection.enabled"] == "true"
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["access_logs.s3.prefix"] == "public-alb/prod"
    # The internal ALB is still there, unchanged.
    schemes = sorted(
        r["Properties"]["Scheme"]
        for r in resources(public.service, "AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    )
    assert schemes == ["internal", "internet-facing"]


def test_https_with_the_certificate_and_a_modern_tls_policy(public: LoggerAppStacks) -> None:
    https = _listener(public, _edge(public).https_listener)
    assert https["Protocol"] == "HTTPS"
    assert https["Port"] == 443
    assert https["Certificates"] == [{"CertificateArn": PUBLIC_API_CERTIFICATE}]
    assert https["SslPolicy"] == PUBLIC_TLS_POLICY
    # Nothing is forwarded by default: outside /v1/* the ALB itself answers 404.
    [action] = https["DefaultActions"]
    assert action["Type"] == "fixed-response"
    assert action["FixedResponseConfig"]["StatusCode"] == "404"


def test_http_only_redirects_to_https(public: LoggerAppStacks) -> None:
    http = _listener(public, _edge(public).http_listener)
    assert http["Protocol"] == "HTTP"
    assert http["Port"] == 80
    assert http["DefaultActions"] == [
        {
            "Type": "redirect",
            "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"},
        }
    ]
    listener_id = logical_id(public.service, _edge(public).http_listener)
    rules = resources(public.service, "AWS::ElasticLoadBalancingV2::ListenerRule").values()
    assert not [r for r in rules if r["Properties"]["ListenerArn"] == {"Ref": listener_id}]


def test_only_v1_is_forwarded_to_the_api(public: LoggerAppStacks) -> None:
    edge = _edge(public)
    https_id = logical_id(public.service, edge.https_listener)
    group_id = logical_id(public.service, edge.target_group)
    rules = [
        r["Properties"]
        for r in resources(public.service, "AWS::ElasticLoadBalancingV2::ListenerRule").values()
        if r["Properties"]["ListenerArn"] == {"Ref": https_id}
    ]
    assert len(rules) == 1
    assert rules[0]["Conditions"] == [
        {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/v1/*"]}}
    ]
    assert rules[0]["Actions"] == [{"Type": "forward", "TargetGroupArn": {"Ref": group_id}}]
    # The public target group is the API service's second one (a group serves one ALB).
    service = resources(public.service, "AWS::ECS::Service")[
        logical_id(public.service, public.service.service)
    ]["Properties"]
    targets = [lb["TargetGroupArn"] for lb in service["LoadBalancers"]]
    assert len(targets) == 2
    assert {"Ref": group_id} in targets
    for lb in service["LoadBalancers"]:
        assert lb["ContainerName"] == "app"
        assert lb["ContainerPort"] == APP_PORT


def test_security_groups_open_the_edge_to_the_internet_and_only_to_the_app(
    public: LoggerAppStacks,
) -> None:
    access = public.access
    group_id = access.get_logical_id(
        access.node.find_child("PublicApiLoadBalancerSecurityGroup").node.default_child  # type: ignore[arg-type]
    )
    assert ingress_sources(access, group_id) == {("0.0.0.0/0", 443), ("0.0.0.0/0", 80)}
    app_id = logical_id(access, access.app_security_group)
    assert (group_id, APP_PORT) in ingress_sources(access, app_id)
    egress = [
        r["Properties"]
        for r in resources(access, "AWS::EC2::SecurityGroupEgress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [group_id, "GroupId"]}
    ]
    assert [(e["DestinationSecurityGroupId"], e["FromPort"]) for e in egress] == [
        ({"Fn::GetAtt": [app_id, "GroupId"]}, APP_PORT)
    ]
    [group] = _public_lb(public)["SecurityGroups"]
    assert "PublicApiLoadBalancerSecurityGroup" in group["Fn::ImportValue"]


def test_the_web_acl_runs_the_managed_groups_and_limits_signups(
    public: LoggerAppStacks,
) -> None:
    acl = only(public.service, "AWS::WAFv2::WebACL")
    assert acl["Scope"] == "REGIONAL"
    assert acl["DefaultAction"] == {"Allow": {}}
    rules = _rules(public)
    assert set(rules) >= MANAGED_GROUPS
    for name in MANAGED_GROUPS:
        statement = rules[name]["Statement"]["ManagedRuleGroupStatement"]
        assert statement["VendorName"] == "AWS"
        assert statement["Name"] == name
        assert rules[name]["OverrideAction"] == {"None": {}}
    # Only the 8 KB body-size rule is counted (the app takes up to 64 KiB itself).
    overrides = rules["AWSManagedRulesCommonRuleSet"]["Statement"]["ManagedRuleGroupStatement"][
        "RuleActionOverrides"
    ]
    assert overrides == [{"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}]
    rate = rules["SignupsRateLimit"]
    assert rate["Action"] == {"Block": {}}
    statement = rate["Statement"]["RateBasedStatement"]
    assert statement["AggregateKeyType"] == "IP"
    assert statement["Limit"] == 100
    assert statement["EvaluationWindowSec"] == 300
    match = statement["ScopeDownStatement"]["ByteMatchStatement"]
    assert match["FieldToMatch"] == {"UriPath": {}}
    assert match["PositionalConstraint"] == "STARTS_WITH"
    assert match["SearchString"] == "/v1/signups"
    priorities = [rule["Priority"] for rule in rules.values()]
    assert len(set(priorities)) == len(priorities)
    for rule in [*rules.values(), acl]:
        visibility = rule["VisibilityConfig"]
        assert visibility["CloudWatchMetricsEnabled"]
        assert visibility["SampledRequestsEnabled"]


def test_the_web_acl_guards_the_public_alb(public: LoggerAppStacks) -> None:
    association = only(public.service, "AWS::WAFv2::WebACLAssociation")
    edge = _edge(public)
    assert association["ResourceArn"] == {"Ref": logical_id(public.service, edge.load_balancer)}
    assert association["WebACLArn"] == {
        "Fn::GetAtt": [public.service.get_logical_id(edge.web_acl), "Arn"]
    }


def test_waf_logs_are_kept_encrypted_without_tokens(public: LoggerAppStacks) -> None:
    edge = _edge(public)
    logging = only(public.service, "AWS::WAFv2::LoggingConfiguration")
    assert logging["ResourceArn"] == {
        "Fn::GetAtt": [public.service.get_logical_id(edge.web_acl), "Arn"]
    }
    assert logging["RedactedFields"] == [{"SingleHeader": {"Name": "authorization"}}]
    group_id = logical_id(public.service, edge.waf_log_group)
    group = resources(public.service, "AWS::Logs::LogGroup")[group_id]
    assert group["Properties"]["LogGroupName"].startswith("aws-waf-logs-")
    assert "KmsKeyId" in group["Properties"]
    assert group["Properties"]["RetentionInDays"] == 365
    assert group["DeletionPolicy"] == "RetainExceptOnCreate"
    # The log group's own ARN (no ':*' suffix, which WAF refuses).
    [destination] = logging["LogDestinationConfigs"]
    assert destination["Fn::Join"][1][-1] == {"Ref": group_id}
    assert destination["Fn::Join"][1][0].endswith(":log-group:")


def test_the_public_dns_name_is_an_output(public: LoggerAppStacks) -> None:
    outputs = template(public.service).to_json()["Outputs"]
    [output] = [o for name, o in outputs.items() if "PublicApiDnsName" in name]
    lb_id = logical_id(public.service, _edge(public).load_balancer)
    assert output["Value"] == {"Fn::GetAtt": [lb_id, "DNSName"]}


def test_nag_stays_clean_with_the_edge(public: LoggerAppStacks) -> None:
    for stack in public.all():
        for pack in ("AwsSolutions-.*", "HIPAA\\.Security-.*", "CdkNagValidationFailure.*"):
            errors = Annotations.from_stack(stack).find_error("*", Match.string_like_regexp(pack))
            assert errors == [], [f"{e.id}: {str(e.entry.data)[:160]}" for e in errors]


def test_cfn_lint_passes_with_the_edge(public: LoggerAppStacks) -> None:
    outdir = str(public.network.node.root.outdir)  # type: ignore[attr-defined]
    result = subprocess.run(
        [str(REPO / "scripts" / "cfn-lint.sh"), REGION, outdir],
        capture_output=True,
        text=True,
        env={"VENV_BIN": str(Path(sys.executable).parent), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _config(**context: str) -> Any:
    return load_config(cdk.App(context={"imageTag": "test-placeholder", **DIGESTS, **context}).node)


def test_the_certificate_input_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PUBLIC_API_CERTIFICATE_ARN", raising=False)
    assert _config().public_api_certificate_arn is None
    with pytest.raises(ConfigError, match="publicApiCertificateArn"):
        _config(publicApiCertificateArn="not-an-arn")
    monkeypatch.setenv("PUBLIC_API_CERTIFICATE_ARN", PUBLIC_API_CERTIFICATE)
    assert _config().public_api_certificate_arn == PUBLIC_API_CERTIFICATE
