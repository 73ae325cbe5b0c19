from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, status

from logger_app.problems import problem_responses
from logger_app.schemas import Record, RecordRequest
from logger_app.services import Services, get_services

router = APIRouter(prefix="/v1/records", tags=["records"])

Timestamp = Annotated[
    str,
    Path(
        pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$",
        description="The record's timestamp as returned on creation.",
    ),
]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(413, 422, 503),
)
async def create_record(
    body: RecordRequest, services: Annotated[Services, Depends(get_services)]
) -> Record:
    return await services.records.create(body)


@router.get("/{id}", responses=problem_responses(404, 422, 503))
async def newest_record(id: UUID, services: Annotated[Services, Depends(get_services)]) -> Record:
    return await services.records.newest(id)


@router.get("/{id}/{timestamp}", responses=problem_responses(404, 422, 503))
async def record_at(
    id: UUID, timestamp: Timestamp, services: Annotated[Services, Depends(get_services)]
) -> Record:
    return await services.records.at(id, timestamp)
