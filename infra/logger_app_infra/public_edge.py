"""The API's public HTTPS edge (publicApiCertificateArn): an internet-facing ALB behind AWS WAF.

Only created when the input is set; otherwise the API stays internal (VPN only, service.py).
Its load balancer's security group and that group's rules live in the Access stack (access.py).
HTTPS only (HTTP answers with a permanent redirect), only /v1/* reaches the tasks (no /docs,
/openapi.json or /healthz from the internet), and every request passes the web ACL first:
AWS managed rule groups plus a per-IP rate limit on sign-ups. WAF logs go to an encrypted log
group with the Authorization header redacted (tokens never land in logs).
"""

from __future__ import annotations

import json

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from .app_task import APP_CONTAINER
from .config import DeploymentConfig
from .load_balancers import hardened_load_balancer
from .log_groups import encrypted_log_group, log_group_arn
from .nag import suppress
from .ports import APP_PORT
from .removal import NAMED

# TLS 1.3, and TLS 1.2 with ECDHE + AES-GCM only (no CBC, no RSA key exchange), with the
# ML-KEM hybrid key exchange offered to clients that support it (ELBSecurityPolicy-TLS13-1-2-
# Res-PQ-2025-09). The callers are server-side systems, so the restricted 1.2 suites lose no
# one; TLS 1.3-only (TLS13_13) would shut out older partner stacks for no real gain.
PUBLIC_TLS_POLICY = elbv2.SslPolicy.TLS13_12_RES_PQ
# Only the versioned API is public.
PUBLIC_PATHS = ("/v1/*",)
SIGNUPS_PATH = "/v1/signups"
# Requests to /v1/signups per client IP in a 5-minute window before WAF blocks that IP (until
# its rate falls back under). Sign-ups come from a few server-side callers; 100 per 5 minutes
# (20 a minute, ~29,000 a day) per IP is far above a clinic's sign-up rate and far below what
# a credential-stuffing or enumeration run needs. Raise it if one caller proxies much more.
SIGNUP_RATE_LIMIT = 100
RATE_WINDOW_SECONDS = 300
# (priority, rule group): reputation first (cheapest), then the broad and the exploit sets.
MANAGED_RULE_GROUPS = (
    (0, "AWSManagedRulesAmazonIpReputationList"),
    (2, "AWSManagedRulesCommonRuleSet"),
    (3, "AWSManagedRulesKnownBadInputsRuleSet"),
)
# The common rule set blocks bodies over 8 KB; the app takes up to 64 KiB (settings.py
# max_body_bytes) and answers larger ones itself with a problem+json 413. Counted, not blocked,
# so a valid record over 8 KB is not refused at the edge; the other rules still inspect the
# first 8 KB of every body.
COUNTED_COMMON_RULES = ("SizeRestrictions_BODY",)
NOT_FOUND_BODY = json.dumps(
    {"type": "about:blank", "title": "Not Found", "status": 404}, separators=(",", ":")
)


def _visibility(metric: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
    )


class PublicEdge(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        certificate_arn: str,
        vpc: ec2.IVpc,
        logs_bucket: s3.IBucket,
        service: ecs.FargateService,
        security_group: ec2.ISecurityGroup,
    ) -> None:
        super().__init__(scope, construct_id)
        self.security_group = security_group
        self.load_balancer = hardened_load_balancer(
            self,
            config=config,
            vpc=vpc,
            subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            internet_facing=True,
            security_group=self.security_group,
            logs_bucket=logs_bucket,
            log_prefix="public-alb",
        )

        self.https_listener = self.load_balancer.add_listener(
            "Https",
            port=443,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            certificates=[elbv2.ListenerCertificate.from_arn(certificate_arn)],
            ssl_policy=PUBLIC_TLS_POLICY,
            open=False,
            # Anything outside /v1/* ends here, never at the tasks.
            default_action=elbv2.ListenerAction.fixed_response(
                404, content_type="application/json", message_body=NOT_FOUND_BODY
            ),
        )
        # A target group belongs to one load balancer, so the service gets a second one here;
        # the rules between this ALB's group and the app's are in the Access stack.
        self.target_group = self.https_listener.add_targets(
            "Api",
            priority=10,
            conditions=[elbv2.ListenerCondition.path_patterns(list(PUBLIC_PATHS))],
            port=APP_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            targets=[
                service.load_balancer_target(container_name=APP_CONTAINER, container_port=APP_PORT)
            ],
            health_check=elbv2.HealthCheck(
                path="/healthz",
                healthy_http_codes="200",
                interval=Duration.seconds(15),
                timeout=Duration.seconds(5),
            ),
            deregistration_delay=Duration.seconds(30),
        )
        self.http_listener = self.load_balancer.add_listener(
            "Http",
            port=80,
            protocol=elbv2.ApplicationProtocol.HTTP,
            open=False,
            default_action=elbv2.ListenerAction.redirect(
                protocol="HTTPS", port="443", permanent=True
            ),
        )
        suppress(
            self.http_listener,
            "HIPAA.Security-ELBv2ACMCertificateRequired",
            "Port 80 only answers with a permanent redirect to HTTPS and never forwards a "
            "request; the HTTPS listener carries the ACM certificate.",
        )

        self.web_acl = self._web_acl(config)
        wafv2.CfnWebACLAssociation(
            self,
            "WebAclAssociation",
            resource_arn=self.load_balancer.load_balancer_arn,
            web_acl_arn=self.web_acl.attr_arn,
        )
        self.waf_log_group = self._waf_logging(config)

        CfnOutput(
            self,
            "PublicApiDnsName",
            value=self.load_balancer.load_balancer_dns_name,
            description="Point the API's public name (the certificate's) at this (CNAME/alias)",
        )

    def _web_acl(self, config: DeploymentConfig) -> wafv2.CfnWebACL:
        prefix = f"logger-app-{config.environment}"
        rules: list[wafv2.CfnWebACL.RuleProperty] = [
            wafv2.CfnWebACL.RuleProperty(
                name=name,
                priority=priority,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS",
                        name=name,
                        rule_action_overrides=[
                            wafv2.CfnWebACL.RuleActionOverrideProperty(
                                name=rule,
                                action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={}),
                            )
                            for rule in COUNTED_COMMON_RULES
                        ]
                        if name == "AWSManagedRulesCommonRuleSet"
                        else None,
                    )
                ),
                visibility_config=_visibility(f"{prefix}-{name}"),
            )
            for priority, name in MANAGED_RULE_GROUPS
        ]
        signups = wafv2.CfnWebACL.StatementProperty(
            byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
                field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
                positional_constraint="STARTS_WITH",
                search_string=SIGNUPS_PATH,
                # As the app routes it: percent-decoded, with // and dot segments collapsed.
                text_transformations=[
                    wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="URL_DECODE"),
                    wafv2.CfnWebACL.TextTransformationProperty(priority=1, type="NORMALIZE_PATH"),
                ],
            )
        )
        rules.append(
            wafv2.CfnWebACL.RuleProperty(
                name="SignupsRateLimit",
                priority=1,
                action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        limit=SIGNUP_RATE_LIMIT,
                        evaluation_window_sec=RATE_WINDOW_SECONDS,
                        aggregate_key_type="IP",
                        scope_down_statement=signups,
                    )
                ),
                visibility_config=_visibility(f"{prefix}-SignupsRateLimit"),
            )
        )
        rules.sort(key=lambda rule: rule.priority)
        return wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="REGIONAL",
            description=f"logger-app {config.environment}: the public API edge",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(f"{prefix}-public-api"),
            rules=rules,
        )

    def _waf_logging(self, config: DeploymentConfig) -> logs.LogGroup:
        # WAF delivers only to log groups named aws-waf-logs-*. Security evidence (who was
        # blocked, by which rule): kept a year in production like the VPN connection logs and
        # the ALB access logs, 3 months elsewhere (the logs bucket's non-production lifecycle).
        name = f"aws-waf-logs-logger-app-{config.environment}"
        log_group = encrypted_log_group(
            self,
            "WafLogs",
            log_group_name=name,
            retention=(
                logs.RetentionDays.ONE_YEAR
                if config.is_production
                else logs.RetentionDays.THREE_MONTHS
            ),
        )
        # A fixed name: kept on deletion, but removed if its first create rolls back (removal.py).
        log_group.apply_removal_policy(NAMED)
        # The log group's GetAtt Arn ends in ':*', which WAF refuses: name the group itself.
        destination = log_group_arn(Stack.of(self), log_group.log_group_name)
        wafv2.CfnLoggingConfiguration(
            self,
            "WafLogging",
            resource_arn=self.web_acl.attr_arn,
            log_destination_configs=[destination],
            # Bearer tokens must never reach a log.
            redacted_fields=[
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(
                    single_header={"Name": "authorization"}
                )
            ],
        )
        return log_group
