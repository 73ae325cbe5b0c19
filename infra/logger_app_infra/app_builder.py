"""Builds the whole CDK app: six stacks along the deployment's concerns, checked by cdk-nag."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk

from .access import AccessStack
from .alerts import ROUTING_FILE, RULES_FILE, SLO_RULES_FILE
from .app_permissions import AppResources
from .config import DeploymentConfig, load_config
from .data import DataStack
from .delivery import DeliveryStack
from .images import ImageCatalog
from .nag import apply_checks, suppress_inline_policies
from .network import NetworkStack
from .observability import ObservabilityStack
from .ports import LOKI_PORT
from .repo_files import REPO_ROOT, read_repo_file
from .service import ServiceStack

COLLECTOR_CONFIG_FILE = "otel-collector.yaml"
# The CDK CLI passes cdk.json's context (the feature flags) to the app; a synth without the CLI
# (`make synth`, the tests) reads the same file, so every synth sees the same flags.
CDK_JSON = Path(__file__).resolve().parents[1] / "cdk.json"


@dataclass(frozen=True)
class LoggerAppStacks:
    config: DeploymentConfig
    network: NetworkStack
    data: DataStack
    delivery: DeliveryStack
    access: AccessStack
    observability: ObservabilityStack
    service: ServiceStack

    def all(self) -> list[cdk.Stack]:
        return [
            self.network,
            self.data,
            self.delivery,
            self.access,
            self.observability,
            self.service,
        ]


def feature_flags() -> dict[str, object]:
    context: dict[str, object] = json.loads(CDK_JSON.read_text(encoding="utf-8"))["context"]
    return context


def apply_feature_flags(app: cdk.App) -> None:
    """cdk.json's context, where neither the CLI nor the caller has set a value."""
    for key, value in feature_flags().items():
        if app.node.try_get_context(key) is None:
            app.node.set_context(key, value)


def build_stacks(app: cdk.App, repo_root: Path = REPO_ROOT) -> LoggerAppStacks:
    apply_feature_flags(app)
    config = load_config(app.node)
    collector_config = read_repo_file(COLLECTOR_CONFIG_FILE, repo_root)
    alert_rules = read_repo_file(RULES_FILE, repo_root)
    slo_rules = read_repo_file(SLO_RULES_FILE, repo_root)
    alert_routing = read_repo_file(ROUTING_FILE, repo_root)
    env = cdk.Environment(account=config.account, region=config.region)
    prefix = config.prefix

    network = NetworkStack(app, f"{prefix}-Network", config=config, env=env)
    data = DataStack(app, f"{prefix}-Data", config=config, env=env)
    delivery = DeliveryStack(app, f"{prefix}-Delivery", config=config, env=env)
    images = ImageCatalog(
        delivery.repositories,
        config.image_tag,
        digests=config.third_party_digests,
        ecr_public_prefix=delivery.ecr_public_prefix,
    )
    access = AccessStack(app, f"{prefix}-Access", config=config, vpc=network.vpc, env=env)
    observability = ObservabilityStack(
        app,
        f"{prefix}-Observability",
        config=config,
        vpc=network.vpc,
        logs_bucket=network.logs_bucket,
        loki_security_group=access.loki_security_group,
        grafana_security_group=access.grafana_security_group,
        grafana_load_balancer_security_group=access.grafana_load_balancer_security_group,
        images=images,
        alert_rules=alert_rules,
        slo_rules=slo_rules,
        alert_routing=alert_routing,
        env=env,
    )
    service = ServiceStack(
        app,
        f"{prefix}-Service",
        config=config,
        vpc=network.vpc,
        logs_bucket=network.logs_bucket,
        app_security_group=access.app_security_group,
        worker_security_group=access.worker_security_group,
        alb_security_group=access.alb_security_group,
        resources=AppResources(
            records_table_name=data.records_table.table_name,
            records_table_arn=data.records_table.table_arn,
            patients_table_name=data.patients_table.table_name,
            patients_table_arn=data.patients_table.table_arn,
            outbox_table_name=data.outbox_table.table_name,
            outbox_table_arn=data.outbox_table.table_arn,
            queue_name=data.queue.queue_name,
            queue_url=data.queue.queue_url,
            queue_arn=data.queue.queue_arn,
            dead_letter_queue_arn=data.dead_letter_queue.queue_arn,
            data_key_arn=data.key.key_arn,
            amp_workspace_arn=observability.amp_workspace_arn,
            amp_remote_write_url=observability.amp_remote_write_url,
            loki_host=observability.loki_host,
            loki_port=LOKI_PORT,
        ),
        private_zone_id=observability.namespace.namespace_hosted_zone_id,
        queue=data.queue,
        dead_letter_queue=data.dead_letter_queue,
        alert_topic=observability.alerts.topic,
        images=images,
        collector_config=collector_config,
        public_alb_security_group=access.public_api_load_balancer_security_group,
        amp_workspace_id=observability.workspace.attr_workspace_id,
        env=env,
    )
    stacks = LoggerAppStacks(config, network, data, delivery, access, observability, service)
    for stack in stacks.all():
        cdk.Tags.of(stack).add("project", "logger-app")
        cdk.Tags.of(stack).add("environment", config.environment)
        suppress_inline_policies(stack)
    apply_checks(app)
    return stacks
