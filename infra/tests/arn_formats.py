"""The ARN formats the project's templates use, as AWS documents them, and a matcher.

Each format is the "ARN" column of the resource types table in the Service Authorization
Reference (https://docs.aws.amazon.com/service-authorization/latest/reference/, a page per
service: "Resource types defined by ..."), copied verbatim; `source` is that page. Checked
against the pages as of June 2026 (salesforce/policy_sentry keeps copies, commit 66e53f2).

An ARN in a template may be a pattern: IAM and KMS conditions (ArnLike, StringLike) and
policy resources take `*` (any run of characters) and `?` (one character). `conforms` says
whether a pattern can match at least one ARN of a format; a pattern that matches none, such
as `arn:aws:logs:<region>:<account>:log-group/*` (log group ARNs have a colon there),
protects or grants nothing, which is how such a mistake breaks a deploy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

_SAR = "https://docs.aws.amazon.com/service-authorization/latest/reference/"

# What a template variable may hold. AWS's naming rules allow more or fewer characters than
# these; what matters here is the separators, so a name never holds ':' and holds '/' only
# where AWS's names have paths.
_NAME = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-+=@,#")
_PATH = _NAME | {"/"}
_ANY_BUT_COLON = frozenset(chr(code) for code in range(32, 127)) - {":"}
_VARIABLE_CHARACTERS: dict[str, frozenset[str]] = {
    "Partition": frozenset("abcdefghijklmnopqrstuvwxyz-"),
    "Region": frozenset("abcdefghijklmnopqrstuvwxyz0123456789-"),
    "Account": frozenset("0123456789"),
    "LogGroupName": _PATH,
    "LogStreamName": _ANY_BUT_COLON,
    "RoleNameWithPath": _PATH,
    "PolicyNameWithPath": _PATH,
    "OidcProviderName": _PATH,
    "RepositoryName": _PATH,
    "SecretId": _PATH,
    "ObjectName": frozenset(chr(code) for code in range(32, 127)),
}
_VARIABLE = re.compile(r"\$\{(\w+)\}")


@dataclass(frozen=True)
class ArnFormat:
    service: str  # the ARN's service prefix
    resource_type: str  # as the reference's resource types table names it
    template: str  # the reference's ARN column
    source: str  # where AWS documents it
    example: str  # an ARN of this type

    @property
    def key(self) -> str:
        return f"{self.service}:{self.resource_type}"

    @cached_property
    def _tokens(self) -> tuple[str | frozenset[str], ...]:
        """One literal character, or the characters one variable character may be."""
        tokens: list[str | frozenset[str]] = []
        position = 0
        for variable in _VARIABLE.finditer(self.template):
            tokens.extend(self.template[position : variable.start()])
            tokens.append(_VARIABLE_CHARACTERS.get(variable.group(1), _NAME))
            position = variable.end()
        tokens.extend(self.template[position:])
        return tuple(tokens)

    def render(self, **variables: str) -> str:
        """This format with its variables filled in."""
        return _VARIABLE.sub(lambda variable: variables[variable.group(1)], self.template)


def conforms(arn: str, arn_format: ArnFormat) -> bool:
    """Whether `arn` (an ARN, or a pattern with `*` and `?`) can be an ARN of this format.

    A search over (position in the pattern, position in the format, whether the variable at
    that position has taken a character yet); each variable takes one or more characters."""
    pattern = arn
    tokens = arn_format._tokens
    seen: set[tuple[int, int, bool]] = set()
    pending = [(0, 0, False)]
    while pending:
        state = pending.pop()
        if state in seen:
            continue
        seen.add(state)
        i, j, started = state
        if i == len(pattern) and j == len(tokens):
            return True
        char = pattern[i] if i < len(pattern) else None
        token = tokens[j] if j < len(tokens) else None
        variable = isinstance(token, frozenset)
        if variable and started:
            pending.append((i, j + 1, False))  # the variable ends here
        if char == "*":
            pending.append((i + 1, j, started))  # the wildcard takes nothing more
            if variable:
                pending.append((i, j, True))  # the wildcard takes a character of the variable
            elif token is not None:
                pending.append((i, j + 1, False))  # ... or the literal character
        elif char is not None and token is not None:
            if variable:
                if char == "?" or char in token:
                    pending.append((i + 1, j, True))
            elif char in ("?", token):
                pending.append((i + 1, j + 1, False))
    return False


def formats_of(arn: str) -> list[ArnFormat]:
    return [arn_format for arn_format in ARN_FORMATS if conforms(arn, arn_format)]


def arn_like(pattern: str, arn: str) -> bool:
    """IAM's ArnLike (and ArnEquals): each of the six colon-separated parts is matched on its
    own, `*` and `?` never crossing into the next part; the resource part is the rest."""
    pattern_parts = pattern.split(":", 5)
    arn_parts = arn.split(":", 5)
    if len(pattern_parts) != 6 or len(arn_parts) != 6:
        return False
    pairs = zip(pattern_parts, arn_parts, strict=True)
    return all(_glob(part).fullmatch(value) is not None for part, value in pairs)


def string_like(pattern: str, value: str) -> bool:
    """IAM's StringLike: `*` and `?` over the whole value."""
    return _glob(pattern).fullmatch(value) is not None


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern),
        re.DOTALL,
    )


def _format(service: str, resource_type: str, template: str, page: str, example: str) -> ArnFormat:
    source = page if page.startswith("https://") else f"{_SAR}{page}.html"
    return ArnFormat(service, resource_type, template, source, example)


# Every format an ARN in the templates has; test_infra_arns.py fails on an ARN of none of them
# and on an entry no template uses.
ARN_FORMATS: tuple[ArnFormat, ...] = (
    _format(
        "logs",
        "log-group",
        "arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}",
        "list_amazoncloudwatchlogs",
        "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/my-app",
    ),
    _format(
        "logs",
        "log-stream",
        "arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}"
        ":log-stream:${LogStreamName}",
        "list_amazoncloudwatchlogs",
        "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/my-app:log-stream:app/0f1e2d",
    ),
    _format(
        "sns",
        "topic",
        "arn:${Partition}:sns:${Region}:${Account}:${TopicName}",
        "list_amazonsns",
        "arn:aws:sns:us-east-1:123456789012:my-topic",
    ),
    _format(
        "sqs",
        "queue",
        "arn:${Partition}:sqs:${Region}:${Account}:${QueueName}",
        "list_amazonsqs",
        "arn:aws:sqs:us-east-1:123456789012:my-queue",
    ),
    _format(
        "aps",
        "workspace",
        "arn:${Partition}:aps:${Region}:${Account}:workspace/${WorkspaceId}",
        "list_amazonmanagedserviceforprometheus",
        "arn:aws:aps:us-east-1:123456789012:workspace/ws-0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
    ),
    _format(
        "kms",
        "key",
        "arn:${Partition}:kms:${Region}:${Account}:key/${KeyId}",
        "list_awskeymanagementservice",
        "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    ),
    _format(
        "ecr",
        "repository",
        "arn:${Partition}:ecr:${Region}:${Account}:repository/${RepositoryName}",
        "list_amazonelasticcontainerregistry",
        "arn:aws:ecr:us-east-1:123456789012:repository/team/my-app",
    ),
    _format(
        "secretsmanager",
        "Secret",
        "arn:${Partition}:secretsmanager:${Region}:${Account}:secret:${SecretId}",
        "list_awssecretsmanager",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/my-secret-a1b2c3",
    ),
    _format(
        "dynamodb",
        "table",
        "arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}",
        "list_amazondynamodb",
        "arn:aws:dynamodb:us-east-1:123456789012:table/my-table",
    ),
    _format(
        "acm",
        "certificate",
        "arn:${Partition}:acm:${Region}:${Account}:certificate/${CertificateId}",
        "list_awscertificatemanager",
        "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012",
    ),
    _format(
        "elasticfilesystem",
        "file-system",
        "arn:${Partition}:elasticfilesystem:${Region}:${Account}:file-system/${FileSystemId}",
        "list_amazonelasticfilesystem",
        "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-0123456789abcdef0",
    ),
    _format(
        "elasticfilesystem",
        "access-point",
        "arn:${Partition}:elasticfilesystem:${Region}:${Account}:access-point/${AccessPointId}",
        "list_amazonelasticfilesystem",
        "arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-0123456789abcdef0",
    ),
    _format(
        "ec2",
        "security-group",
        "arn:${Partition}:ec2:${Region}:${Account}:security-group/${SecurityGroupId}",
        "list_amazonec2",
        "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0123456789abcdef0",
    ),
    _format(
        "s3",
        "bucket",
        "arn:${Partition}:s3:::${BucketName}",
        "list_amazons3",
        "arn:aws:s3:::amzn-s3-demo-bucket",
    ),
    _format(
        "s3",
        "object",
        "arn:${Partition}:s3:::${BucketName}/${ObjectName}",
        "list_amazons3",
        "arn:aws:s3:::amzn-s3-demo-bucket/logs/2026/01/01/object.gz",
    ),
    _format(
        "elasticloadbalancing",
        "loadbalancer/app/",
        "arn:${Partition}:elasticloadbalancing:${Region}:${Account}"
        ":loadbalancer/app/${LoadBalancerName}/${LoadBalancerId}",
        "list_elasticloadbalancingv2",
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/my-alb/50dc6c495c0c9188",
    ),
    _format(
        "elasticloadbalancing",
        "listener/app",
        "arn:${Partition}:elasticloadbalancing:${Region}:${Account}"
        ":listener/app/${LoadBalancerName}/${LoadBalancerId}/${ListenerId}",
        "list_elasticloadbalancingv2",
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/my-alb/50dc6c495c0c9188/f2f7dc8efc522ab2",
    ),
    _format(
        "elasticloadbalancing",
        "targetgroup",
        "arn:${Partition}:elasticloadbalancing:${Region}:${Account}"
        ":targetgroup/${TargetGroupName}/${TargetGroupId}",
        "list_elasticloadbalancingv2",
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/my-targets/73e2d6bc24d8a067",
    ),
    _format(
        "wafv2",
        "webacl",
        "arn:${Partition}:wafv2:${Region}:${Account}:${Scope}/webacl/${Name}/${Id}",
        "list_awswafv2",
        "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/my-acl/a1b2c3d4-5678-90ab-cdef-EXAMPLE1",
    ),
    _format(
        "cognito-idp",
        "userpool",
        "arn:${Partition}:cognito-idp:${Region}:${Account}:userpool/${UserPoolId}",
        "list_amazoncognitouserpools",
        "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_EXAMPLE1",
    ),
    _format(
        "lambda",
        "function",
        "arn:${Partition}:lambda:${Region}:${Account}:function:${FunctionName}",
        "list_awslambda",
        "arn:aws:lambda:us-east-1:123456789012:function:my-function",
    ),
    # The verify task: the deploy role starts, watches and conditions on these (verify_task.py).
    _format(
        "ecs",
        "cluster",
        "arn:${Partition}:ecs:${Region}:${Account}:cluster/${ClusterName}",
        "list_amazonelasticcontainerservice",
        "arn:aws:ecs:us-east-1:123456789012:cluster/my-cluster",
    ),
    _format(
        "ecs",
        "task-definition",
        "arn:${Partition}:ecs:${Region}:${Account}:task-definition/"
        "${TaskDefinitionFamilyName}:${TaskDefinitionRevisionNumber}",
        "list_amazonelasticcontainerservice",
        "arn:aws:ecs:us-east-1:123456789012:task-definition/my-family:3",
    ),
    _format(
        "ecs",
        "task",
        "arn:${Partition}:ecs:${Region}:${Account}:task/${ClusterName}/${TaskId}",
        "list_amazonelasticcontainerservice",
        "arn:aws:ecs:us-east-1:123456789012:task/my-cluster/0123456789abcdef0123456789abcdef",
    ),
    _format(
        "servicediscovery",
        "service",
        "arn:${Partition}:servicediscovery:${Region}:${Account}:service/${ServiceId}",
        "list_awscloudmap",
        "arn:aws:servicediscovery:us-east-1:123456789012:service/srv-0123456789abcdef",
    ),
    _format(
        "iam",
        "role",
        "arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}",
        "list_awsidentityandaccessmanagementiam",
        "arn:aws:iam::123456789012:role/service-role/my-role",
    ),
    _format(
        "iam",
        "saml-provider",
        "arn:${Partition}:iam::${Account}:saml-provider/${SamlProviderName}",
        "list_awsidentityandaccessmanagementiam",
        "arn:aws:iam::123456789012:saml-provider/company-idp",
    ),
    _format(
        "iam",
        "oidc-provider",
        "arn:${Partition}:iam::${Account}:oidc-provider/${OidcProviderName}",
        "list_awsidentityandaccessmanagementiam",
        "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com",
    ),
    # The account itself as a principal (key policies, cross-account log delivery).
    _format(
        "iam",
        "root-user",
        "arn:${Partition}:iam::${Account}:root",
        "list_awssecuritytokenservice",
        "arn:aws:iam::123456789012:root",
    ),
    # The reference's policy type has ${Account}; AWS managed policies have "aws" there (the
    # AWS Managed Policy Reference gives each one's ARN).
    _format(
        "iam",
        "policy (AWS managed)",
        "arn:${Partition}:iam::aws:policy/${PolicyNameWithPath}",
        "https://docs.aws.amazon.com/aws-managed-policy/latest/reference/"
        "AWSLambdaBasicExecutionRole.html",
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    ),
)
