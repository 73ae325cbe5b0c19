"""A write's one ``TransactWriteItems``, and what its cancellation says.

Each write passes its own ``ClientRequestToken`` (the request id its audit record stores): when
botocore retries an attempt whose answer was lost, DynamoDB recognises the token and answers
the retry as the commit it already made. An emulator may not (moto 5.2.5 ignores the token and
cancels the retry, every condition of ours failing on the items the first attempt wrote): the
services then recognise their own earlier commit from the cancellation reasons (the item keyed
by this request's own new id is there), with no extra call.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from logger_app.aws import CONFLICT_CODES, AwsClients

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef


@dataclass(frozen=True)
class Cancelled:
    """A transaction DynamoDB cancelled because conditions did not hold; reasons by item."""

    error: ClientError

    @property
    def _reasons(self) -> Sequence[Mapping[str, Any]]:
        reasons: Sequence[Mapping[str, Any]] = self.error.response.get("CancellationReasons", [])
        return reasons

    def failed(self, position: int) -> bool:
        """Whether the item at `position` failed its condition."""
        reasons = self._reasons
        return position < len(reasons) and reasons[position].get("Code") in CONFLICT_CODES

    def item(self, position: int) -> Mapping[str, Any] | None:
        """The item found at `position`, for a Put or ConditionCheck asking for it on failure
        (ReturnValuesOnConditionCheckFailure: ALL_OLD)."""
        if not self.failed(position):
            return None
        found: Mapping[str, Any] | None = self._reasons[position].get("Item")
        return found


async def write(
    clients: AwsClients, items: Sequence["TransactWriteItemTypeDef"], request_id: str
) -> Cancelled | None:
    """Commit `items` in one transaction: None once committed, else why it was cancelled.

    Other failures raise as AwsClients.call classifies them (unavailable, permanent).
    """
    try:
        await clients.call(
            "DynamoDB",
            clients.dynamodb.transact_write_items,
            TransactItems=list(items),
            ClientRequestToken=request_id,
        )
    except ClientError as error:  # a conflict: conditions of ours did not hold
        return Cancelled(error)
    return None


def stored_request_id(item: Mapping[str, Any] | None) -> str | None:
    """The request id in an item's audit record, as DynamoDB returned the item."""
    if item is None:
        return None
    request_id = item.get("audit", {}).get("M", {}).get("request_id", {}).get("S")
    return request_id if isinstance(request_id, str) else None
