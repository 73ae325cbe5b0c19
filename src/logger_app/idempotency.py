"""Idempotency keys, as both writes take them (``Idempotency-Key``).

A retry with the same key and the same body gets the first answer again; the same key with
another body (or for another endpoint) is refused with 409. A key belongs to the client that
sent it: the stored key is a digest of the verified client id and the key, so another client's
same key is another key, and a replay answers only the client that made the first request.

The key is written in the write's own transaction (a Put only if absent), with the first answer
and a fingerprint of the request, and expires after a day (DynamoDB's TTL on ``expires_at``).
When it exists already, the transaction is cancelled and returns the stored item with the
cancellation (ReturnValuesOnConditionCheckFailure): a replay costs no further call.
"""

import hashlib
import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from logger_app import keys
from logger_app.problems import Problem

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

TTL_SECONDS = 24 * 3600
# The problem type of a key used before for another request.
KEY_REUSED = "idempotency-key-reused"


def stored_key(client_id: str, key: str) -> str:
    """The key item's partition key: a digest, so it reveals neither the client nor its key.
    The client id is length-prefixed: ("ab", "c") and ("a", "bc") are different keys."""
    scoped = f"{len(client_id)}:{client_id}:{key}"
    return keys.idempotency(hashlib.sha256(scoped.encode()).hexdigest())


def fingerprint(action: str, body: BaseModel) -> str:
    canonical = json.dumps({"action": action, "body": body.model_dump(mode="json")}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def put_key(
    table: str, client_id: str, key: str, action: str, body: BaseModel, answer: BaseModel
) -> "TransactWriteItemTypeDef":
    """The transaction item that stores the key with the answer the write will give."""
    return {
        "Put": {
            "TableName": table,
            "Item": {
                "pk": {"S": stored_key(client_id, key)},
                "fingerprint": {"S": fingerprint(action, body)},
                "response": {"S": answer.model_dump_json()},
                "expires_at": {"N": str(int(time.time()) + TTL_SECONDS)},
            },
            "ConditionExpression": "attribute_not_exists(pk)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def first_answer(stored: Mapping[str, Any] | None, action: str, body: BaseModel) -> str:
    """The answer stored with a used key (JSON), when it was used for this same request."""
    if stored is None or stored.get("fingerprint", {}).get("S") != fingerprint(action, body):
        raise Problem(
            409,
            KEY_REUSED,
            "Idempotency key already used",
            "This Idempotency-Key was used for a different request; use a new key.",
        )
    answer: str = stored["response"]["S"]
    return answer
