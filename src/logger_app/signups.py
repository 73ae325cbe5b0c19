"""Patient sign-ups: one DynamoDB transaction writes the patient (with its audit record), a guard
on the email, the event's outbox entry and the idempotency key together, so neither a duplicate
email nor a replay can create a second patient. A synthetic sign-up's patient and guard expire
(``expires_at``), so verify's made-up patients do not stay.
"""

import hashlib
import logging
import unicodedata
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from logger_app import audit, idempotency, keys, metrics, synthetic, transactions
from logger_app.clock import utc_now
from logger_app.events import PATIENT_SIGNED_UP, Event
from logger_app.outbox_write import OutboxWrite
from logger_app.problems import Problem
from logger_app.schemas import SignupRequest, SignupResponse

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

logger = logging.getLogger(__name__)

# The problem type of a sign-up for an email already registered.
EMAIL_ALREADY_REGISTERED = "email-already-registered"
# The sign-up outcome of each answer that is not a success; anything else failed.
_PROBLEM_OUTCOMES = {
    EMAIL_ALREADY_REGISTERED: metrics.DUPLICATE,
    idempotency.KEY_REUSED: metrics.REJECTED,
}
# The transaction's items, by position (the cancellation reasons are read by position).
_PATIENT, _EMAIL, _OUTBOX, _KEY = range(4)


@dataclass(frozen=True)
class SignupResult:
    response: SignupResponse
    replayed: bool


def normalised_email(email: str) -> str:
    """The form two addresses share when they are the same address to a person: Unicode
    compatibility forms folded (NFKC: the fullwidth d, U+FF44, is d), then case (``casefold``:
    also ``ß`` and ``ss``), then NFKC again, since folding case can undo it.

    Not folded: letters of other scripts that merely look alike (the Cyrillic a, U+0430, beside
    the Latin a; Unicode's confusables are not an equivalence), and a provider's own rules (dots and
    ``+tags`` at some providers): those are different addresses.
    """
    folded = unicodedata.normalize("NFKC", email.strip()).casefold()
    return unicodedata.normalize("NFKC", folded)


def email_key(email: str) -> str:
    """The guard item's key: a digest of the normalised email, so the key itself reveals nothing."""
    return keys.email(hashlib.sha256(normalised_email(email).encode()).hexdigest())


class SignupService:
    def __init__(self, table: str, writes: OutboxWrite) -> None:
        self._table = table
        self._writes = writes

    async def sign_up(
        self, request: SignupRequest, client_id: str, key: str | None
    ) -> SignupResult:
        """Every sign-up is counted here, once, by how it ended."""
        outcome = metrics.FAILED
        try:
            result = await self._sign_up(request, client_id, key)
            outcome = metrics.REPLAYED if result.replayed else metrics.CREATED
            return result
        except Problem as problem:
            outcome = _PROBLEM_OUTCOMES.get(problem.slug, outcome)
            raise
        finally:
            metrics.signups.add(1, {"outcome": outcome, **metrics.traffic()})

    async def _sign_up(
        self, request: SignupRequest, client_id: str, key: str | None
    ) -> SignupResult:
        request_id = str(uuid.uuid4())
        patient_id = uuid.uuid4()
        response = SignupResponse(patient_id=patient_id, created_at=utc_now())
        event = Event(
            PATIENT_SIGNED_UP,
            {"patient_id": str(patient_id), "created_at": response.created_at},
        )
        items = [
            self._put_new(
                {
                    "pk": {"S": keys.patient(patient_id)},
                    "email": {"S": request.email},
                    "full_name": {"S": request.full_name},
                    "created_at": {"S": response.created_at},
                    "audit": audit.stored_record(audit.SIGN_UP, client_id, request_id),
                    **synthetic.expiry(),
                }
            ),
            self._put_new(
                {
                    "pk": {"S": email_key(request.email)},
                    "patient_id": {"S": str(patient_id)},
                    **synthetic.expiry(),
                }
            ),
        ]
        cancelled = await self._writes.commit(
            items,
            event,
            request_id,
            key=None
            if key is None
            else idempotency.put_key(self._table, client_id, key, audit.SIGN_UP, request, response),
            # The patient's id is this request's own: finding it written means an earlier
            # attempt of this same call committed, and only its answer was lost.
            committed=lambda cancelled: cancelled.failed(_PATIENT),
        )
        if cancelled is not None:
            return self._on_conflict(cancelled, request, key)

        logger.info(
            "patient signed up",
            extra={"event": "signup.created", "patient_id": str(patient_id)},
        )
        return SignupResult(response, replayed=False)

    def _put_new(self, item: dict[str, Any]) -> "TransactWriteItemTypeDef":
        return {
            "Put": {
                "TableName": self._table,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _on_conflict(
        self, cancelled: transactions.Cancelled, request: SignupRequest, key: str | None
    ) -> SignupResult:
        # A used key wins over a used email: a replay of the first request also finds its own
        # email already taken.
        if key is not None and cancelled.failed(_KEY):
            answer = idempotency.first_answer(cancelled.item(_KEY), audit.SIGN_UP, request)
            logger.info("sign-up replayed", extra={"event": "signup.replayed"})
            return SignupResult(SignupResponse.model_validate_json(answer), replayed=True)
        if cancelled.failed(_EMAIL):
            logger.info(
                "sign-up for an email already registered", extra={"event": "signup.duplicate"}
            )
            raise Problem(
                409,
                EMAIL_ALREADY_REGISTERED,
                "Already signed up",
                "A patient with this email address is already signed up.",
            )
        raise cancelled.error
