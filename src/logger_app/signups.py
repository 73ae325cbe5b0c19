"""Patient sign-ups: one DynamoDB transaction writes the patient, a guard on the email and the
idempotency key together, so neither a duplicate email nor a replay can create a second patient.
"""

import hashlib
import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from logger_app import metrics
from logger_app.aws import AwsClients, cancellation_codes
from logger_app.clock import utc_now
from logger_app.events import Event
from logger_app.outbox import Outbox
from logger_app.problems import Problem
from logger_app.publisher import EventPublisher
from logger_app.schemas import SignupRequest, SignupResponse

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

logger = logging.getLogger(__name__)

IDEMPOTENCY_TTL_SECONDS = 24 * 3600
# The sign-up outcome of each answer that is not a success; anything else is "failed".
_PROBLEM_OUTCOMES = {"email-already-registered": "duplicate", "idempotency-key-reused": "rejected"}


@dataclass(frozen=True)
class SignupResult:
    response: SignupResponse
    replayed: bool


def email_key(email: str) -> str:
    """The guard item's key: a digest of the normalised email, so the key itself reveals nothing."""
    normalised = email.strip().lower()
    return "email#" + hashlib.sha256(normalised.encode()).hexdigest()


def idempotency_key(key: str) -> str:
    return "idempotency#" + hashlib.sha256(key.encode()).hexdigest()


def fingerprint(request: SignupRequest) -> str:
    canonical = json.dumps(request.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


class SignupService:
    def __init__(
        self, clients: AwsClients, table: str, outbox: Outbox, publisher: EventPublisher
    ) -> None:
        self._clients = clients
        self._table = table
        self._outbox = outbox
        self._publisher = publisher

    async def sign_up(self, request: SignupRequest, key: str | None) -> SignupResult:
        """Every sign-up is counted here, once, by how it ended."""
        outcome = "failed"
        try:
            result = await self._sign_up(request, key)
            outcome = "replayed" if result.replayed else "created"
            return result
        except Problem as problem:
            outcome = _PROBLEM_OUTCOMES.get(problem.slug, outcome)
            raise
        finally:
            metrics.signups.add(1, {"outcome": outcome})

    async def _sign_up(self, request: SignupRequest, key: str | None) -> SignupResult:
        patient_id = uuid.uuid4()
        response = SignupResponse(patient_id=patient_id, created_at=utc_now())
        event = Event(
            "patient.signed_up",
            {"patient_id": str(patient_id), "created_at": response.created_at},
        )
        # The outbox entry goes last: the cancellation reasons are read by position.
        items = [*self._items(request, response, key), self._outbox.put(event)]
        try:
            await self._clients.call(
                "DynamoDB", self._clients.dynamodb.transact_write_items, TransactItems=items
            )
        except ClientError as error:  # a conflict: the guard or the key was there already
            return await self._on_conflict(error, request, key)

        logger.info(
            "patient signed up",
            extra={"event": "signup.created", "patient_id": str(patient_id)},
        )
        self._publisher.submit(event)  # answered now; the event follows in a batch
        return SignupResult(response, replayed=False)

    def _items(
        self, request: SignupRequest, response: SignupResponse, key: str | None
    ) -> list["TransactWriteItemTypeDef"]:
        patient_id = str(response.patient_id)
        items: list[TransactWriteItemTypeDef] = [
            self._put_new(
                {
                    "pk": {"S": "patient#" + patient_id},
                    "email": {"S": request.email},
                    "full_name": {"S": request.full_name},
                    "created_at": {"S": response.created_at},
                }
            ),
            self._put_new({"pk": {"S": email_key(request.email)}, "patient_id": {"S": patient_id}}),
        ]
        if key is not None:
            items.append(
                self._put_new(
                    {
                        "pk": {"S": idempotency_key(key)},
                        "fingerprint": {"S": fingerprint(request)},
                        "response": {"S": response.model_dump_json()},
                        "expires_at": {"N": str(int(time.time()) + IDEMPOTENCY_TTL_SECONDS)},
                    }
                )
            )
        return items

    def _put_new(self, item: dict[str, Any]) -> "TransactWriteItemTypeDef":
        return {
            "Put": {
                "TableName": self._table,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    async def _on_conflict(
        self, error: ClientError, request: SignupRequest, key: str | None
    ) -> SignupResult:
        codes = cancellation_codes(error)
        # Items are [patient, email guard, idempotency key?]: a used key wins over a used email,
        # because a replay of the first request also finds its own email already taken.
        if key is not None and len(codes) > 2 and codes[2] == "ConditionalCheckFailed":
            return await self._replay(request, key)
        if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
            logger.info(
                "sign-up for an email already registered", extra={"event": "signup.duplicate"}
            )
            raise Problem(
                409,
                "email-already-registered",
                "Already signed up",
                "A patient with this email address is already signed up.",
            )
        raise error

    async def _replay(self, request: SignupRequest, key: str) -> SignupResult:
        stored = await self._clients.call(
            "DynamoDB",
            self._clients.dynamodb.get_item,
            TableName=self._table,
            Key={"pk": {"S": idempotency_key(key)}},
            ConsistentRead=True,
        )
        item = stored.get("Item")
        if item is None or item["fingerprint"]["S"] != fingerprint(request):
            raise Problem(
                409,
                "idempotency-key-reused",
                "Idempotency key already used",
                "This Idempotency-Key was used for a different request; use a new key.",
            )
        logger.info("sign-up replayed", extra={"event": "signup.replayed"})
        return SignupResult(
            SignupResponse.model_validate_json(item["response"]["S"]), replayed=True
        )
