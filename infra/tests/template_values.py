"""Reads a synthesized app's templates as AWS would: every value rendered to a string.

CloudFormation resolves Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::ImportValue and friends at
deploy time; here each resolves to what AWS returns for it, with placeholder names where AWS
generates them, so an ARN built from them can be compared with the formats AWS documents
(arn_formats.py) and with the resources it is meant to name. A resource's own ARN comes from
its type's documented format (RESOURCE_ARNS), never from the code under test.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from arn_formats import ARN_FORMATS, ArnFormat

Templates = Mapping[str, Mapping[str, Any]]  # stack name -> template
Value = str | list[Any]

_FORMATS = {arn_format.key: arn_format for arn_format in ARN_FORMATS}
_SUB_VARIABLE = re.compile(r"\$\{([^}]+)\}")


@dataclass(frozen=True)
class Resource:
    stack: str
    logical_id: str
    type: str
    properties: Mapping[str, Any]
    values: TemplateValues

    def name(self, prop: str, *, lower: bool = False) -> str:
        """The physical name the template gives, or one like CloudFormation generates."""
        if prop in self.properties:
            rendered = self.values.render(self.stack, self.properties[prop])
            assert isinstance(rendered, str), (self.logical_id, prop)
            return rendered
        generated = f"{self.stack}-{self.logical_id}-1A2B3C4D5E6F"
        return generated.lower() if lower else generated

    @property
    def id(self) -> str:
        """An id AWS assigns (key id, workspace id, ...): the logical id stands in."""
        return self.logical_id


@dataclass(frozen=True)
class ResourceArn:
    """How AWS names one resource type: its documented format, the values of the format's
    variables, what Ref returns ("arn", a variable of the format, or None: something else),
    and what Fn::GetAtt Arn adds to the ARN (a log group's ends in ":*")."""

    format: str
    variables: Callable[[Resource], dict[str, str]]
    ref: str | None = None
    get_att_suffix: str = ""


def _role(resource: Resource) -> dict[str, str]:
    path = str(resource.properties.get("Path", "/"))
    return {"RoleNameWithPath": path.lstrip("/") + resource.name("RoleName")}


def _listener(resource: Resource) -> dict[str, str]:
    load_balancer = resource.values.render(resource.stack, resource.properties["LoadBalancerArn"])
    assert isinstance(load_balancer, str)
    name, load_balancer_id = load_balancer.split(":loadbalancer/app/", 1)[1].split("/")
    return {"LoadBalancerName": name, "LoadBalancerId": load_balancer_id, "ListenerId": resource.id}


RESOURCE_ARNS: dict[str, ResourceArn] = {
    "AWS::Logs::LogGroup": ResourceArn(
        "logs:log-group",
        lambda r: {"LogGroupName": r.name("LogGroupName")},
        ref="LogGroupName",
        get_att_suffix=":*",
    ),
    "AWS::KMS::Key": ResourceArn("kms:key", lambda r: {"KeyId": r.id}, ref="KeyId"),
    "AWS::DynamoDB::Table": ResourceArn(
        "dynamodb:table", lambda r: {"TableName": r.name("TableName")}, ref="TableName"
    ),
    "AWS::SQS::Queue": ResourceArn("sqs:queue", lambda r: {"QueueName": r.name("QueueName")}),
    "AWS::SNS::Topic": ResourceArn(
        "sns:topic", lambda r: {"TopicName": r.name("TopicName")}, ref="arn"
    ),
    "AWS::ECR::Repository": ResourceArn(
        "ecr:repository",
        lambda r: {"RepositoryName": r.name("RepositoryName", lower=True)},
        ref="RepositoryName",
    ),
    # Secrets Manager adds six random characters to the name.
    "AWS::SecretsManager::Secret": ResourceArn(
        "secretsmanager:Secret", lambda r: {"SecretId": r.name("Name") + "-AbC123"}, ref="arn"
    ),
    "AWS::S3::Bucket": ResourceArn(
        "s3:bucket", lambda r: {"BucketName": r.name("BucketName", lower=True)}, ref="BucketName"
    ),
    "AWS::IAM::Role": ResourceArn("iam:role", _role),
    "AWS::IAM::OIDCProvider": ResourceArn(
        "iam:oidc-provider",
        lambda r: {"OidcProviderName": r.name("Url").removeprefix("https://")},
        ref="arn",
    ),
    "AWS::Lambda::Function": ResourceArn(
        "lambda:function", lambda r: {"FunctionName": r.name("FunctionName")}, ref="FunctionName"
    ),
    "AWS::APS::Workspace": ResourceArn("aps:workspace", lambda r: {"WorkspaceId": r.id}, ref="arn"),
    "AWS::Cognito::UserPool": ResourceArn(
        "cognito-idp:userpool", lambda r: {"UserPoolId": r.id}, ref="UserPoolId"
    ),
    "AWS::EFS::FileSystem": ResourceArn(
        "elasticfilesystem:file-system", lambda r: {"FileSystemId": r.id}, ref="FileSystemId"
    ),
    "AWS::EFS::AccessPoint": ResourceArn(
        "elasticfilesystem:access-point", lambda r: {"AccessPointId": r.id}, ref="AccessPointId"
    ),
    "AWS::ServiceDiscovery::Service": ResourceArn(
        "servicediscovery:service", lambda r: {"ServiceId": r.id}
    ),
    "AWS::WAFv2::WebACL": ResourceArn(
        "wafv2:webacl",
        lambda r: {"Scope": r.name("Scope").lower(), "Name": r.name("Name"), "Id": r.id},
    ),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": ResourceArn(
        "elasticloadbalancing:loadbalancer/app/",
        lambda r: {"LoadBalancerName": r.name("Name"), "LoadBalancerId": r.id},
        ref="arn",
    ),
    "AWS::ElasticLoadBalancingV2::Listener": ResourceArn(
        "elasticloadbalancing:listener/app", _listener, ref="arn"
    ),
    "AWS::ElasticLoadBalancingV2::TargetGroup": ResourceArn(
        "elasticloadbalancing:targetgroup",
        lambda r: {"TargetGroupName": r.name("Name"), "TargetGroupId": r.id},
        ref="arn",
    ),
}


@dataclass(frozen=True)
class FoundArn:
    stack: str
    where: str  # Resources/<id>/Properties/... or Outputs/<id>
    value: str


class TemplateValues:
    """The templates of one app, deployed in `region` of `account` (a template that names
    neither gets them through AWS::Region and AWS::AccountId)."""

    def __init__(self, templates: Templates, *, region: str, account: str) -> None:
        self.templates = templates
        self.pseudo = {
            "AWS::Partition": "aws",
            "AWS::Region": region,
            "AWS::AccountId": account,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": "",
        }
        self.exports: dict[str, tuple[str, Any]] = {}
        for stack, template in templates.items():
            for output in template.get("Outputs", {}).values():
                if "Export" in output:
                    self.exports[output["Export"]["Name"]] = (stack, output["Value"])

    def resource(self, stack: str, logical_id: str) -> Resource:
        found = self.templates[stack]["Resources"][logical_id]
        return Resource(stack, logical_id, found["Type"], found.get("Properties", {}), self)

    def resources(self, stack: str, resource_type: str) -> list[Resource]:
        return [
            self.resource(stack, logical_id)
            for logical_id, found in self.templates[stack]["Resources"].items()
            if found["Type"] == resource_type
        ]

    def arn_of(self, resource: Resource) -> str:
        """The resource's ARN as its type's documented format spells it."""
        if resource.type not in RESOURCE_ARNS:
            raise KeyError(f"{resource.type}: add how AWS names it to RESOURCE_ARNS")
        spec = RESOURCE_ARNS[resource.type]
        arn_format: ArnFormat = _FORMATS[spec.format]
        return arn_format.render(
            Partition=self.pseudo["AWS::Partition"],
            Region=self.pseudo["AWS::Region"],
            Account=self.pseudo["AWS::AccountId"],
            **spec.variables(resource),
        )

    def render(self, stack: str, value: Any) -> Value:
        """One template value as the string (or list) CloudFormation would pass to AWS."""
        if isinstance(value, str):
            return value
        if isinstance(value, bool | int | float):
            return str(value).lower() if isinstance(value, bool) else str(value)
        if isinstance(value, list):
            return [self.render(stack, item) for item in value]
        if not isinstance(value, dict) or len(value) != 1:
            raise ValueError(f"not a single value: {value!r}")
        ((function, argument),) = value.items()
        if function == "Ref":
            return self._ref(stack, argument)
        if function == "Fn::GetAtt":
            logical_id, attribute = argument
            return self._get_att(stack, logical_id, attribute)
        if function == "Fn::Join":
            separator, parts = argument
            rendered = self.render(stack, parts)
            assert isinstance(rendered, list)
            return str(separator).join(self._string(part) for part in rendered)
        if function == "Fn::Sub":
            return self._sub(stack, argument)
        if function == "Fn::Select":
            index, items = argument
            rendered = self.render(stack, items)
            assert isinstance(rendered, list)
            selected: Value = rendered[int(index)]
            return selected
        if function == "Fn::Split":
            separator, source = argument
            return self._string(self.render(stack, source)).split(separator)
        if function == "Fn::GetAZs":
            return [self.pseudo["AWS::Region"] + zone for zone in "abc"]
        if function == "Fn::ImportValue":
            producer, exported = self.exports[self._string(self.render(stack, argument))]
            return self.render(producer, exported)
        if function == "Fn::FindInMap":
            name, top, second = (self._string(self.render(stack, part)) for part in argument)
            return self.render(stack, self.templates[stack]["Mappings"][name][top][second])
        raise ValueError(f"{function} is not rendered here: add it to TemplateValues.render")

    def resolve(self, stack: str, value: Any) -> Any:
        """A whole property (objects and lists of values) rendered."""
        if isinstance(value, dict) and not (len(value) == 1 and _is_function(next(iter(value)))):
            return {key: self.resolve(stack, item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.resolve(stack, item) for item in value]
        return None if value is None else self.render(stack, value)

    def referenced(self, stack: str, value: Any) -> Iterator[tuple[str, str]]:
        """(stack, logical id) of every resource a value names, imports followed to the
        resource that exports them."""
        if isinstance(value, dict):
            if "Ref" in value and value["Ref"] in self.templates[stack]["Resources"]:
                yield stack, value["Ref"]
            elif "Fn::GetAtt" in value:
                yield stack, value["Fn::GetAtt"][0]
            elif "Fn::ImportValue" in value:
                producer, exported = self.exports[str(value["Fn::ImportValue"])]
                yield from self.referenced(producer, exported)
            elif "Fn::Sub" in value:
                text = (
                    value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
                )
                for name in _SUB_VARIABLE.findall(text):
                    logical_id = name.split(".")[0]
                    if logical_id in self.templates[stack]["Resources"]:
                        yield stack, logical_id
            for item in value.values():
                yield from self.referenced(stack, item)
        elif isinstance(value, list):
            for item in value:
                yield from self.referenced(stack, item)

    def arns(self) -> Iterator[FoundArn]:
        """Every ARN the templates pass to AWS: in resource properties and outputs."""
        for stack, template in self.templates.items():
            for logical_id, resource in template.get("Resources", {}).items():
                yield from self._arns_in(
                    stack, f"Resources/{logical_id}/Properties", resource.get("Properties", {})
                )
            for output_id, output in template.get("Outputs", {}).items():
                yield from self._arns_in(stack, f"Outputs/{output_id}", output["Value"])

    def _arns_in(self, stack: str, where: str, value: Any) -> Iterator[FoundArn]:
        if isinstance(value, dict) and len(value) == 1 and _is_function(next(iter(value))):
            rendered = self.render(stack, value)
            if isinstance(rendered, str) and rendered.startswith("arn:"):
                yield FoundArn(stack, where, rendered)
        elif isinstance(value, dict):
            for key, item in value.items():
                yield from self._arns_in(stack, f"{where}/{key}", item)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                yield from self._arns_in(stack, f"{where}/{index}", item)
        elif isinstance(value, str) and value.startswith("arn:"):
            yield FoundArn(stack, where, value)

    def _ref(self, stack: str, name: str) -> str:
        if name in self.pseudo:
            return self.pseudo[name]
        if name == "AWS::StackName":
            return stack
        template = self.templates[stack]
        if name in template.get("Parameters", {}):
            return str(template["Parameters"][name].get("Default", name))
        resource = self.resource(stack, name)
        spec = RESOURCE_ARNS.get(resource.type)
        if spec is None or spec.ref is None:
            return name  # an id or name AWS assigns
        if spec.ref == "arn":
            return self.arn_of(resource)
        return spec.variables(resource)[spec.ref]

    def _get_att(self, stack: str, logical_id: str, attribute: str) -> str:
        if attribute != "Arn":
            return f"{logical_id}.{attribute}"
        resource = self.resource(stack, logical_id)
        return self.arn_of(resource) + RESOURCE_ARNS[resource.type].get_att_suffix

    def _sub(self, stack: str, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return self._string(self.render(stack, variables[name]))
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return self._get_att(stack, logical_id, attribute)
            return self._ref(stack, name)

        return _SUB_VARIABLE.sub(replace, text)

    @staticmethod
    def _string(value: Value) -> str:
        assert isinstance(value, str), value
        return value


def _is_function(key: str) -> bool:
    return key == "Ref" or key.startswith("Fn::")
