from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response, status

from logger_app.audit import audited
from logger_app.auth import Caller, requires
from logger_app.problems import problem_responses
from logger_app.schemas import SignupRequest, SignupResponse
from logger_app.services import Services, get_services

router = APIRouter(prefix="/v1/signups", tags=["signups"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 403, 409, 413, 422, 503),
    description="Needs the scope `signups:write`.",
)
async def sign_up(
    body: SignupRequest,
    response: Response,
    caller: Annotated[Caller, Depends(requires("signups:write"))],
    services: Annotated[Services, Depends(get_services)],
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=255,
            description="Replaying the same body with the same key returns the first response.",
        ),
    ] = None,
) -> SignupResponse:
    with audited(caller) as audit_ids:
        result = await services.signups.sign_up(body, idempotency_key)
        audit_ids["patient_id"] = str(result.response.patient_id)
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return result.response
