"""What a stack deletion, a replacing update and a failed first create do to each resource.

- Resources with a fixed physical name (tables, queues, ECR repositories, the backup vault, the
  GitHub OIDC provider, the pull-through cache rule) are RETAIN_ON_UPDATE_OR_DELETE
  (CloudFormation's RetainExceptOnCreate): kept on update and deletion, but deleted when the
  operation that created them rolls back, so a retry does not fail with "already exists".
- Resources CloudFormation names itself (buckets, file systems, keys, log groups) stay RETAIN:
  a retry creates new ones beside what a failed attempt left.
- Data (tables, queues, buckets, file systems) is kept in every environment; deleting it with
  the stack is the explicit `dataRemovalPolicy=destroy` input, refused in production.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy

from .config import DeploymentConfig

NAMED = RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
UNNAMED = RemovalPolicy.RETAIN


def data(config: DeploymentConfig, *, named: bool) -> RemovalPolicy:
    """A data store's policy: kept unless the environment opted in to deleting its data."""
    if config.destroy_data:
        return RemovalPolicy.DESTROY
    return NAMED if named else UNNAMED
