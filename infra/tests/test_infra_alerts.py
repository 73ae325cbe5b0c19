"""Alerting on AWS: the repository's rules files in AMP (the files themselves, not copies), AMP's
alert manager routing by severity to one KMS-encrypted SNS topic, email subscriptions only from the
alertEmails input, and CloudWatch alarms to the same topic for what Prometheus cannot see."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from infra_helpers import logical_id, only, resources, template
from infra_settings import REGION, REPO
from logger_app_infra.alerts import (
    ROUTING_FILE,
    RULES_FILE,
    SLO_RULES_FILE,
    alert_manager_definition,
)
from logger_app_infra.app_builder import LoggerAppStacks

TOPIC = "TOPIC-ARN"


def _topic_id(stacks: LoggerAppStacks) -> str:
    return logical_id(stacks.observability, stacks.observability.alerts.topic)


def _workspace(stacks: LoggerAppStacks) -> dict[str, Any]:
    return only(stacks.observability, "AWS::APS::Workspace")


def _definition(stacks: LoggerAppStacks) -> dict[str, Any]:
    """The alert manager definition with the topic's reference written as TOPIC-ARN."""
    definition = _workspace(stacks)["AlertManagerDefinition"]
    parts = definition["Fn::Join"][1] if isinstance(definition, dict) else [definition]
    topic = {"Ref": _topic_id(stacks)}
    text = "".join(TOPIC if part == topic else part for part in parts)
    assert all(isinstance(part, str) or part == topic for part in parts), parts
    outer: dict[str, Any] = yaml.safe_load(text)
    assert set(outer) == {"alertmanager_config"}
    config: dict[str, Any] = yaml.safe_load(outer["alertmanager_config"])
    return config


def test_each_rules_file_is_one_of_the_workspaces_rule_groups_namespaces(
    prod: LoggerAppStacks,
) -> None:
    """The symptom alerts and the SLO rules generated from the SLO spec: the files compose and
    the e2e Prometheus load (tests/deploy/test_compose.py, tests/e2e/rules.py)."""
    namespaces = {
        n["Properties"]["Name"]: n["Properties"]
        for n in resources(prod.observability, "AWS::APS::RuleGroupsNamespace").values()
    }
    assert {name: n["Data"] for name, n in namespaces.items()} == {
        "logger-app": (REPO / RULES_FILE).read_text(encoding="utf-8"),
        "logger-app-slo": (REPO / SLO_RULES_FILE).read_text(encoding="utf-8"),
    }
    workspace_id = prod.observability.get_logical_id(prod.observability.workspace)
    for namespace in namespaces.values():
        assert namespace["Workspace"] == {"Fn::GetAtt": [workspace_id, "Arn"]}


def test_the_alert_manager_routes_as_the_repository_says_to_the_topic(
    prod: LoggerAppStacks,
) -> None:
    config = _definition(prod)
    routing = yaml.safe_load((REPO / ROUTING_FILE).read_text(encoding="utf-8"))
    assert config["route"] == routing["route"]
    assert config["inhibit_rules"] == routing["inhibit_rules"]
    assert [r["name"] for r in config["receivers"]] == ["page", "ticket"]
    for receiver in config["receivers"]:
        [sns] = receiver["sns_configs"]
        assert sns["topic_arn"] == TOPIC
        assert sns["sigv4"] == {"region": REGION}  # AMP requires the region
        assert sns["attributes"] == {"severity": receiver["name"]}
        assert "{{ .CommonLabels.alertname }}" in sns["subject"]
        assert "{{ .Annotations.summary }}" in sns["message"]
        # Not allowed in AMP's alert manager.
        assert "api_url" not in sns
        assert "http_config" not in sns


def test_the_definition_is_built_from_the_routing_file_alone() -> None:
    routing = (REPO / ROUTING_FILE).read_text(encoding="utf-8")
    text = alert_manager_definition(routing, "arn:aws:sns:eu-west-1:111111111111:alerts", REGION)
    assert text.startswith("alertmanager_config: |\n")
    config = yaml.safe_load(yaml.safe_load(text)["alertmanager_config"])
    assert config["route"] == yaml.safe_load(routing)["route"]


def test_alertmanager_accepts_the_definitions_config(tmp_path: Path) -> None:
    """amtool (Debian's prometheus-alertmanager, installed by make test) parses the config AMP
    receives, SNS receivers and templates included."""
    amtool = shutil.which("amtool")
    if amtool is None:
        pytest.fail("amtool is missing: scripts/install-deploy-tools.sh installs it", pytrace=False)
    routing = (REPO / ROUTING_FILE).read_text(encoding="utf-8")
    text = alert_manager_definition(routing, "arn:aws:sns:eu-west-1:111111111111:alerts", REGION)
    config = tmp_path / "alertmanager.yml"
    config.write_text(yaml.safe_load(text)["alertmanager_config"], encoding="utf-8")
    result = subprocess.run(
        [amtool, "check-config", str(config)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 receivers" in result.stdout


def test_the_topic_is_encrypted_with_its_own_rotating_key_and_refuses_plain_http(
    prod: LoggerAppStacks,
) -> None:
    topic = only(prod.observability, "AWS::SNS::Topic")
    key_id = logical_id(prod.observability, prod.observability.alerts.key)
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    key = resources(prod.observability, "AWS::KMS::Key")[key_id]["Properties"]
    assert key["EnableKeyRotation"] is True
    publishers = [
        s for s in key["KeyPolicy"]["Statement"] if s.get("Sid") == "AlertPublishersUseTheKey"
    ]
    [statement] = publishers
    assert set(statement["Principal"]["Service"]) == {
        "aps.amazonaws.com",
        "cloudwatch.amazonaws.com",
    }
    assert set(statement["Action"]) == {"kms:GenerateDataKey*", "kms:Decrypt"}
    assert "aws:SourceAccount" in statement["Condition"]["StringEquals"]


def _topic_statements(stacks: LoggerAppStacks) -> list[dict[str, Any]]:
    policy = only(stacks.observability, "AWS::SNS::TopicPolicy")
    assert policy["Topics"] == [{"Ref": _topic_id(stacks)}]
    statements: list[dict[str, Any]] = policy["PolicyDocument"]["Statement"]
    return statements


def test_only_this_workspace_and_this_accounts_alarms_may_publish(prod: LoggerAppStacks) -> None:
    statements = {s.get("Sid"): s for s in _topic_statements(prod)}
    amp = statements["AmpAlertManagerPublishes"]
    assert amp["Principal"] == {"Service": "aps.amazonaws.com"}
    assert set(amp["Action"]) == {"sns:Publish", "sns:GetTopicAttributes"}
    workspace_id = prod.observability.get_logical_id(prod.observability.workspace)
    assert amp["Condition"]["ArnEquals"]["aws:SourceArn"] == {"Fn::GetAtt": [workspace_id, "Arn"]}
    alarms = statements["CloudWatchAlarmsPublish"]
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert alarms["Action"] == "sns:Publish"
    assert "aws:SourceAccount" in alarms["Condition"]["StringEquals"]
    denies = [s for s in _topic_statements(prod) if s["Effect"] == "Deny"]
    assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in denies)


def test_email_subscriptions_come_from_alert_emails(prod: LoggerAppStacks) -> None:
    subscriptions = resources(prod.observability, "AWS::SNS::Subscription").values()
    assert sorted(
        (s["Properties"]["Protocol"], s["Properties"]["Endpoint"]) for s in subscriptions
    ) == [("email", "oncall@example.org"), ("email", "ops@example.org")]


def test_no_alert_emails_no_subscription(dev: LoggerAppStacks) -> None:
    assert resources(dev.observability, "AWS::SNS::Subscription") == {}
    # The topic, the rules and the routing are there all the same.
    only(dev.observability, "AWS::SNS::Topic")
    assert len(resources(dev.observability, "AWS::APS::RuleGroupsNamespace")) == 2
    assert "AlertManagerDefinition" in _workspace(dev)


def _alarms(stacks: LoggerAppStacks) -> dict[str, dict[str, Any]]:
    found = {}
    for stack in stacks.all():
        for alarm in resources(stack, "AWS::CloudWatch::Alarm").values():
            if "AlarmName" in alarm["Properties"]:  # not the autoscaling policies' own
                found[alarm["Properties"]["AlarmName"]] = alarm["Properties"]
    return found


def _notifies_the_topic(stacks: LoggerAppStacks, alarm: dict[str, Any]) -> bool:
    return all(
        "AlertsTopic" in str(action) for action in alarm["AlarmActions"] + alarm["OKActions"]
    ) and bool(alarm["AlarmActions"])


@pytest.mark.parametrize(
    ("name", "namespace", "metric", "operator", "threshold", "periods", "missing"),
    [
        (
            "DeadLetterQueueDepth",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "GreaterThanOrEqualToThreshold",
            1,
            1,
            "notBreaching",
        ),
        (
            "LoadBalancer5xx",
            "AWS/ApplicationELB",
            "HTTPCode_ELB_5XX_Count",
            "GreaterThanOrEqualToThreshold",
            5,
            1,
            "notBreaching",
        ),
        (
            "UnhealthyTargets",
            "AWS/ApplicationELB",
            "UnHealthyHostCount",
            "GreaterThanOrEqualToThreshold",
            1,
            5,
            "notBreaching",
        ),
        (
            "LokiNotRunning",
            "ECS/ContainerInsights",
            "RunningTaskCount",
            "LessThanThreshold",
            1,
            5,
            "breaching",
        ),
        (
            "GrafanaNotRunning",
            "ECS/ContainerInsights",
            "RunningTaskCount",
            "LessThanThreshold",
            1,
            5,
            "breaching",
        ),
    ],
)
def test_cloudwatch_alarms_cover_what_prometheus_cannot_see(
    prod: LoggerAppStacks,
    name: str,
    namespace: str,
    metric: str,
    operator: str,
    threshold: float,
    periods: int,
    missing: str,
) -> None:
    alarm = _alarms(prod)[f"LoggerApp-Prod-{name}"]
    assert (alarm["Namespace"], alarm["MetricName"]) == (namespace, metric)
    assert alarm["ComparisonOperator"] == operator
    assert alarm["Threshold"] == threshold
    assert alarm["EvaluationPeriods"] == periods
    assert alarm["TreatMissingData"] == missing
    assert _notifies_the_topic(prod, alarm)
    assert f"docs/runbook.md#{name.lower()}" in alarm["AlarmDescription"]
    heading = (
        f"### {name}" if "NotRunning" not in name else "### LokiNotRunning / GrafanaNotRunning"
    )
    assert heading in (REPO / "docs" / "runbook.md").read_text(encoding="utf-8")


def test_the_dead_letter_alarm_watches_the_dead_letter_queue(prod: LoggerAppStacks) -> None:
    alarm = _alarms(prod)["LoggerApp-Prod-DeadLetterQueueDepth"]
    [dimension] = alarm["Dimensions"]
    assert dimension["Name"] == "QueueName"
    assert "EventsDeadLetterQueue" in str(dimension["Value"])


def test_the_running_task_alarms_watch_loki_and_grafana(prod: LoggerAppStacks) -> None:
    for name, construct in (
        ("Loki", prod.observability.loki.service),
        ("Grafana", prod.observability.grafana.service),
    ):
        alarm = _alarms(prod)[f"LoggerApp-Prod-{name}NotRunning"]
        dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
        service_id = logical_id(prod.observability, construct)
        assert dimensions["ServiceName"] == {"Fn::GetAtt": [service_id, "Name"]}
        assert "Cluster" in str(dimensions["ClusterName"])


def test_the_topic_is_published_for_subscribing_people_later(prod: LoggerAppStacks) -> None:
    template(prod.observability).has_output("AlertsTopicArn", {"Value": {"Ref": _topic_id(prod)}})
