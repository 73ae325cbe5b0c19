"""The service: ECS cluster, Fargate service behind an internal ALB, autoscaling."""

from __future__ import annotations

from typing import Any

from aws_cdk import Annotations, CfnOutput, Duration, Stack
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as route53_targets
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .alerts import alarm
from .api_auth import ApiAuth
from .app_permissions import AppResources, Process
from .app_task import APP_CONTAINER, AppTaskDefinition
from .config import DeploymentConfig
from .images import ImageCatalog
from .load_balancers import hardened_load_balancer
from .nag import suppress
from .ports import APP_PORT
from .public_edge import PublicEdge
from .verify_task import VerifyTargets, VerifyTask


class ServiceStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        vpc: ec2.IVpc,
        logs_bucket: s3.IBucket,
        app_security_group: ec2.ISecurityGroup,
        worker_security_group: ec2.ISecurityGroup,
        alb_security_group: ec2.ISecurityGroup,
        resources: AppResources,
        private_zone_id: str,
        queue: sqs.IQueue,
        dead_letter_queue: sqs.IQueue,
        alert_topic: sns.ITopic,
        images: ImageCatalog,
        collector_config: str,
        public_alb_security_group: ec2.ISecurityGroup,
        amp_workspace_id: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        prod = config.is_production
        private = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)

        # The API's token issuer and its callers' app clients (api_auth.py).
        self.api_auth = ApiAuth(self, "ApiAuth", config=config)
        cluster = ecs.Cluster(
            self, "Cluster", vpc=vpc, container_insights_v2=ecs.ContainerInsights.ENABLED
        )
        self.task = AppTaskDefinition(
            self,
            "AppTask",
            process=Process.API,
            config=config,
            images=images,
            collector_config=collector_config,
            resources=resources,
            auth_environment=self.api_auth.app_environment(),
        )
        self.service = ecs.FargateService(
            self,
            "Service",
            cluster=cluster,
            task_definition=self.task.task_definition,
            desired_count=2 if prod else 1,
            min_healthy_percent=100,
            max_healthy_percent=200,
            vpc_subnets=private,
            security_groups=[app_security_group],
            assign_public_ip=False,
            health_check_grace_period=Duration.seconds(60),
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
        )

        self._worker(
            config, cluster, worker_security_group, resources, queue, images, collector_config
        )

        # Internal: staff and internal clients reach it over the Client VPN only.
        self.load_balancer = hardened_load_balancer(
            self,
            config=config,
            vpc=vpc,
            subnets=private,
            internet_facing=False,
            security_group=alb_security_group,
            logs_bucket=logs_bucket,
            log_prefix="alb",
        )

        if config.alb_certificate_arn:
            port = 443
            listener = self.load_balancer.add_listener(
                "Https",
                port=port,
                protocol=elbv2.ApplicationProtocol.HTTPS,
                certificates=[elbv2.ListenerCertificate.from_arn(config.alb_certificate_arn)],
                ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
                open=False,
            )
        else:
            port = 80
            Annotations.of(self).add_warning_v2(
                "logger-app:http-listener",
                "albCertificateArn is not set: the internal load balancer listens on HTTP "
                "(traffic is still encrypted by the Client VPN tunnel up to the VPC).",
            )
            listener = self.load_balancer.add_listener(
                "Http", port=port, protocol=elbv2.ApplicationProtocol.HTTP, open=False
            )
            http_reason = (
                "No albCertificateArn configured (documented HTTP mode): the ALB is internal and "
                "reached only through the mutual-TLS Client VPN. Set albCertificateArn for HTTPS."
            )
            suppress(listener, "HIPAA.Security-ALBHttpToHttpsRedirection", http_reason)
            suppress(listener, "HIPAA.Security-ELBv2ACMCertificateRequired", http_reason)
        self.listener = listener
        self.target_group = listener.add_targets(
            "App",
            port=APP_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            targets=[
                self.service.load_balancer_target(
                    container_name=APP_CONTAINER, container_port=APP_PORT
                )
            ],
            health_check=elbv2.HealthCheck(
                path="/healthz",
                healthy_http_codes="200",
                interval=Duration.seconds(15),
                timeout=Duration.seconds(5),
            ),
            deregistration_delay=Duration.seconds(30),
        )

        # api.<env>.logger-app.internal, in the private zone that also names Loki and Grafana.
        zone = route53.PrivateHostedZone.from_hosted_zone_attributes(
            self, "PrivateZone", hosted_zone_id=private_zone_id, zone_name=config.service_namespace
        )
        self.api_dns_name = f"api.{config.service_namespace}"
        route53.ARecord(
            self,
            "ApiRecord",
            zone=zone,
            record_name=self.api_dns_name,
            target=route53.RecordTarget.from_alias(
                route53_targets.LoadBalancerTarget(self.load_balancer)
            ),
        )
        scheme = "https" if config.alb_certificate_arn else "http"
        self.api_url = f"{scheme}://{self.api_dns_name}"
        CfnOutput(
            self,
            "AppUrl",
            value=self.api_url,
            description="The app, over the Client VPN (HTTPS needs a certificate for this name)",
        )
        self._verify(
            config,
            images,
            vpc,
            resources,
            amp_workspace_id,
        )
        # Only with publicApiCertificateArn: an internet-facing ALB with AWS WAF (public_edge.py).
        self.public_edge: PublicEdge | None = None
        if config.public_api_certificate_arn:
            self.public_edge = PublicEdge(
                self,
                "PublicEdge",
                config=config,
                certificate_arn=config.public_api_certificate_arn,
                vpc=vpc,
                logs_bucket=logs_bucket,
                service=self.service,
                security_group=public_alb_security_group,
            )
        self._alarms(config, alert_topic, dead_letter_queue)
        scaling = self.service.auto_scale_task_count(
            min_capacity=2 if prod else 1, max_capacity=10 if prod else 3
        )
        scaling.scale_on_cpu_utilization("Cpu", target_utilization_percent=60)
        scaling.scale_on_request_count(
            "Requests", requests_per_target=1000, target_group=self.target_group
        )

    def _verify(
        self,
        config: DeploymentConfig,
        images: ImageCatalog,
        vpc: ec2.IVpc,
        resources: AppResources,
        amp_workspace_id: str,
    ) -> None:
        """`logger-app verify` as a one-off task (verify_task.py), with what the deploy workflow
        reads to start it (outputs Verify*); the deploy role may start it (delivery.py)."""
        self.verify = VerifyTask(
            self,
            "VerifyTask",
            config=config,
            vpc=vpc,
            images=images,
            targets=VerifyTargets(
                api_url=self.api_url,
                token_url=self.api_auth.token_endpoint,
                amp_workspace_id=amp_workspace_id,
                amp_workspace_arn=resources.amp_workspace_arn,
                log_group=self.task.durable_logs,
                worker_log_group=self.worker_task.durable_logs,
                loki_url=f"http://{resources.loki_host}:{resources.loki_port}",
            ),
            client_id=self.api_auth.verify_client.user_pool_client_id,
            client_secret=self.api_auth.verify_client_secret,
        )
        # Beside VerifySubnets (network.py) and VerifySecurityGroup (access.py), which their
        # own stacks output: an output may not be an import (cfn-lint W6001).
        for name, value, description in (
            ("VerifyCluster", self.verify.cluster.cluster_name, "Cluster of the verify task"),
            ("VerifyTaskDefinition", self.verify.names.family, "Task definition family of verify"),
            ("VerifyLogGroup", self.verify.log_group.log_group_name, "Verify's report"),
        ):
            CfnOutput(self, name, value=value, description=description)

    def _alarms(
        self, config: DeploymentConfig, topic: sns.ITopic, dead_letter_queue: sqs.IQueue
    ) -> None:
        """What the app's metrics cannot show: requests the load balancer answered itself,
        tasks failing its health check, and events in the dead-letter queue whatever the
        worker's state. Each id is a heading of docs/runbook.md."""
        above = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
        alarm(
            self,
            "LoadBalancer5xx",
            config=config,
            topic=topic,
            metric=self.load_balancer.metrics.http_code_elb(
                elbv2.HttpCodeElb.ELB_5XX_COUNT, period=Duration.minutes(5), statistic="Sum"
            ),
            description="The load balancer answered 5 or more requests with its own 5xx in 5 "
            "minutes (no healthy task, or tasks resetting connections).",
            threshold=5,
            comparison=above,
        )
        alarm(
            self,
            "UnhealthyTargets",
            config=config,
            topic=topic,
            metric=self.target_group.metrics.unhealthy_host_count(
                period=Duration.minutes(1), statistic="Maximum"
            ),
            description="An API task has failed the load balancer's health check for 5 minutes.",
            threshold=1,
            comparison=above,
            evaluation_periods=5,
        )
        alarm(
            self,
            "DeadLetterQueueDepth",
            config=config,
            topic=topic,
            metric=dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(5), statistic="Maximum"
            ),
            description="Events are waiting in the dead-letter queue: the worker gave up on them.",
            threshold=1,
            comparison=above,
        )

    def _worker(
        self,
        config: DeploymentConfig,
        cluster: ecs.ICluster,
        security_group: ec2.ISecurityGroup,
        resources: AppResources,
        queue: sqs.IQueue,
        images: ImageCatalog,
        collector_config: str,
    ) -> None:
        """`logger-app worker`: consumes the event queue; scales on its backlog."""
        self.worker_task = AppTaskDefinition(
            self,
            "WorkerTask",
            process=Process.WORKER,
            config=config,
            images=images,
            collector_config=collector_config,
            resources=resources,
        )
        self.worker = ecs.FargateService(
            self,
            "Worker",
            cluster=cluster,
            task_definition=self.worker_task.task_definition,
            desired_count=1,
            min_healthy_percent=100,
            max_healthy_percent=200,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            security_groups=[security_group],
            assign_public_ip=False,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
        )
        scaling = self.worker.auto_scale_task_count(
            min_capacity=1, max_capacity=4 if config.is_production else 2
        )
        scaling.scale_on_metric(
            "Backlog",
            metric=queue.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(1), statistic="Maximum"
            ),
            scaling_steps=[
                appscaling.ScalingInterval(upper=10, change=-1),
                appscaling.ScalingInterval(lower=100, change=+1),
                appscaling.ScalingInterval(lower=1000, change=+2),
            ],
            adjustment_type=appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
            cooldown=Duration.minutes(2),
        )
