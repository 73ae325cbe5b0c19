"""Access: who may talk to whom. Client VPN (mutual TLS, optionally SAML too) for staff, and
the security groups.

All security groups live here, with every rule between them, so the stacks that use them
reference this stack only (no cycle between the service and the observability stacks):
staff -> VPN -> ALB -> API tasks -> Loki <- Grafana <- VPN <- staff; worker tasks -> Loki;
the verify task -> ALB and Loki.
With grafanaCertificateArn staff reach Grafana only through its HTTPS load balancer:
VPN -> Grafana ALB (443) -> Grafana. With publicApiCertificateArn: internet -> public API ALB
(443, 80) -> API tasks.

The groups of the two optional load balancers exist, and stay exported, whether or not their
input is set; only their rules follow it. Another stack's template imports a group while its
load balancer exists, and CloudFormation refuses to delete an export that is still imported
(the exporting stack is updated first), so a group that came and went with its input would
make turning the input off undeployable.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Annotations, CfnOutput, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from .config import DeploymentConfig
from .log_groups import encrypted_log_group
from .nag import suppress
from .ports import APP_PORT, GRAFANA_PORT, LOKI_PORT


class AccessStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        vpc: ec2.IVpc,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.vpn_security_group = ec2.SecurityGroup(
            self,
            "ClientVpnSecurityGroup",
            vpc=vpc,
            description="Client VPN endpoint: staff traffic into the VPC",
            allow_all_outbound=False,
        )
        self.alb_listener_port = 443 if config.alb_certificate_arn else 80
        self._security_groups(
            vpc,
            https_grafana=config.grafana_certificate_arn is not None,
            public_edge=config.public_api_certificate_arn is not None,
        )

        self.endpoint: ec2.ClientVpnEndpoint | None = None
        if not config.vpn_enabled:
            # Fail closed: without the VPN nothing in the private subnets is reachable.
            Annotations.of(self).add_warning_v2(
                "logger-app:no-vpn",
                "vpnServerCertificateArn/vpnClientCertificateArn are not set: "
                "no Client VPN endpoint is created and Grafana is unreachable.",
            )
            return
        assert config.vpn_server_certificate_arn is not None

        private = vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        # Beside the certificate: with a SAML provider each person also signs in at the
        # company's identity provider, so removing them there cuts VPN access.
        user_based = None
        if config.vpn_saml_provider_arn is not None:
            user_based = ec2.ClientVpnUserBasedAuthentication.federated(
                iam.SamlProvider.from_saml_provider_arn(
                    self, "VpnSamlProvider", config.vpn_saml_provider_arn
                )
            )
        self.endpoint = ec2.ClientVpnEndpoint(
            self,
            "ClientVpn",
            vpc=vpc,
            description=f"logger-app {config.environment} staff access",
            cidr=config.vpn_client_cidr,
            server_certificate_arn=config.vpn_server_certificate_arn,
            client_certificate_arn=config.vpn_client_certificate_arn,
            user_based_authentication=user_based,
            # Stated: left unset, the endpoint has no portal (CloudFormation's default) while
            # CDK still outputs a portal URL for it. Configurations are handed out with the
            # certificates (docs/deployment.md), so no portal is needed.
            self_service_portal=False,
            authorize_all_users_to_vpc_cidr=False,
            split_tunnel=True,
            dns_servers=[config.vpc_dns_server],
            security_groups=[self.vpn_security_group],
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            logging=True,
            log_group=encrypted_log_group(
                self, "ClientVpnLogs", retention=logs.RetentionDays.ONE_YEAR
            ),
            session_timeout=ec2.ClientVpnSessionTimeout.EIGHT_HOURS,
        )
        for index, subnet in enumerate(private.subnets):
            self.endpoint.add_authorization_rule(
                f"PrivateSubnet{index}",
                cidr=subnet.ipv4_cidr_block,
                description=f"Private subnet {subnet.availability_zone}",
            )
        # The VPC resolver (base + 2) lies in a public subnet's range; clients need it to
        # resolve the private DNS zone.
        CfnOutput(self, "ClientVpnEndpointId", value=self.endpoint.endpoint_id)
        self.endpoint.add_authorization_rule(
            "VpcResolver",
            cidr=f"{config.vpc_dns_server}/32",
            description="Amazon-provided DNS resolver",
        )

    def _security_groups(self, vpc: ec2.IVpc, *, https_grafana: bool, public_edge: bool) -> None:
        def group(
            construct_id: str, description: str, allow_all_outbound: bool
        ) -> ec2.SecurityGroup:
            return ec2.SecurityGroup(
                self,
                construct_id,
                vpc=vpc,
                description=description,
                allow_all_outbound=allow_all_outbound,
            )

        vpn = self.vpn_security_group
        self.alb_security_group = group("LoadBalancerSecurityGroup", "Internal app ALB", False)
        self.app_security_group = group("AppSecurityGroup", "logger-app API tasks", False)
        self.worker_security_group = group("WorkerSecurityGroup", "logger-app worker tasks", False)
        # `logger-app verify`'s one-off task (verify_task.py): the API, Loki and AWS APIs only.
        self.verify_security_group = group(
            "VerifyTaskSecurityGroup", "logger-app verify task (after each deploy)", False
        )
        CfnOutput(
            self,
            "VerifySecurityGroup",
            value=self.verify_security_group.security_group_id,
            description="Security group of the verify task",
        )
        # Loki and Grafana call S3, EFS, AMP, X-Ray and CloudWatch: no useful egress bound.
        self.loki_security_group = group("LokiSecurityGroup", "Loki", True)
        self.grafana_security_group = group("GrafanaSecurityGroup", "Grafana", True)
        # The optional load balancers' groups: always there, always exported (module docstring).
        self.grafana_load_balancer_security_group = group(
            "GrafanaLoadBalancerSecurityGroup", "Internal Grafana ALB (HTTPS)", False
        )
        self.public_api_load_balancer_security_group = group(
            "PublicApiLoadBalancerSecurityGroup",
            "Public API ALB: HTTPS from the internet, HTTP only to redirect",
            False,
        )
        for optional in (
            self.grafana_load_balancer_security_group,
            self.public_api_load_balancer_security_group,
        ):
            self.export_value(optional.security_group_id)

        def allow(
            source: ec2.SecurityGroup, target: ec2.SecurityGroup, port: int, why: str
        ) -> None:
            target.add_ingress_rule(source, ec2.Port.tcp(port), why)
            if not source.allow_all_outbound:
                source.add_egress_rule(target, ec2.Port.tcp(port), why)

        allow(vpn, self.alb_security_group, self.alb_listener_port, "Staff to the app ALB")
        if https_grafana:
            grafana_alb = self.grafana_load_balancer_security_group
            allow(vpn, grafana_alb, 443, "Staff to the Grafana ALB")
            allow(grafana_alb, self.grafana_security_group, GRAFANA_PORT, "ALB to Grafana")
        else:
            allow(vpn, self.grafana_security_group, GRAFANA_PORT, "Staff to Grafana")
        allow(self.alb_security_group, self.app_security_group, APP_PORT, "ALB to app tasks")
        allow(self.app_security_group, self.loki_security_group, LOKI_PORT, "API logs to Loki")
        allow(
            self.worker_security_group, self.loki_security_group, LOKI_PORT, "Worker logs to Loki"
        )
        allow(self.grafana_security_group, self.loki_security_group, LOKI_PORT, "Grafana to Loki")
        allow(
            self.verify_security_group,
            self.alb_security_group,
            self.alb_listener_port,
            "Verify's synthetic journey to the API",
        )
        allow(
            self.verify_security_group,
            self.loki_security_group,
            LOKI_PORT,
            "Verify reads the journey's lines from Loki",
        )
        if public_edge:
            public = self.public_api_load_balancer_security_group
            public.add_ingress_rule(
                ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS from the internet"
            )
            public.add_ingress_rule(
                ec2.Peer.any_ipv4(), ec2.Port.tcp(80), "HTTP, answered with a redirect to HTTPS"
            )
            allow(public, self.app_security_group, APP_PORT, "Public API ALB to app tasks")
            suppress(
                public,
                "AwsSolutions-EC23",
                "The public API edge must accept any client address on 443 (and 80, which only "
                "redirects to HTTPS); AWS WAF filters the requests in front of the API.",
            )
        # DynamoDB, SQS, X-Ray, AMP, ECR and CloudWatch, through VPC endpoints or the NAT; for
        # verify also Secrets Manager (its client secret) and the Cognito token endpoint.
        for tasks in (
            self.app_security_group,
            self.worker_security_group,
            self.verify_security_group,
        ):
            tasks.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "AWS APIs over HTTPS")
