from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response, status

from logger_app.problems import problem_responses
from logger_app.schemas import SignupRequest, SignupResponse
from logger_app.services import Services, get_services

router = APIRouter(prefix="/v1/signups", tags=["signups"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(409, 413, 422, 503),
)
async def sign_up(
    body: SignupRequest,
    response: Response,
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
    result = await services.signups.sign_up(body, idempotency_key)
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return result.response
