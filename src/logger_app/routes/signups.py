from fastapi import APIRouter, Request, Response, status

from logger_app import idempotency
from logger_app.audit import entry
from logger_app.problems import problem_responses
from logger_app.routes.deps import ServicesDep, SignupWriter
from logger_app.routes.headers import (
    BODY_PROBLEMS,
    BODY_STATUSES,
    REPLAYED,
    IdempotencyKey,
    replayed_response,
)
from logger_app.schemas import SignupRequest, SignupResponse
from logger_app.scopes import SIGNUPS_WRITE
from logger_app.signups import EMAIL_ALREADY_REGISTERED

router = APIRouter(prefix="/v1/signups", tags=["signups"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        **replayed_response(status.HTTP_201_CREATED),
        **problem_responses(
            *BODY_STATUSES,
            409,
            types={**BODY_PROBLEMS, 409: [EMAIL_ALREADY_REGISTERED, idempotency.KEY_REUSED]},
        ),
    },
    description=f"Needs the scope `{SIGNUPS_WRITE}`.",
)
async def sign_up(
    body: SignupRequest,
    request: Request,
    response: Response,
    caller: SignupWriter,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> SignupResponse:
    result = await services.signups.sign_up(body, caller.client_id, idempotency_key)
    entry(request).ids["patient_id"] = str(result.response.patient_id)
    if result.replayed:
        response.headers[REPLAYED] = "true"
    return result.response
