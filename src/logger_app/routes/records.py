from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, status

from logger_app.audit import audited
from logger_app.auth import Caller, requires
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
Writer = Annotated[Caller, Depends(requires("records:write"))]
Reader = Annotated[Caller, Depends(requires("records:read"))]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 403, 413, 422, 503),
    description="Needs the scope `records:write`.",
)
async def create_record(
    body: RecordRequest, caller: Writer, services: Annotated[Services, Depends(get_services)]
) -> Record:
    ids = {"patient_id": str(body.patient_id)}
    if body.id is not None:
        ids["record_id"] = str(body.id)
    with audited(caller, **ids) as audit_ids:
        record = await services.records.create(body)
        audit_ids["record_id"] = str(record.id)
        return record


@router.get(
    "/{id}",
    responses=problem_responses(401, 403, 404, 422, 503),
    description="Needs the scope `records:read`.",
)
async def newest_record(
    id: UUID, caller: Reader, services: Annotated[Services, Depends(get_services)]
) -> Record:
    with audited(caller, record_id=str(id)) as audit_ids:
        record = await services.records.newest(id)
        audit_ids["patient_id"] = str(record.patient_id)
        return record


@router.get(
    "/{id}/{timestamp}",
    responses=problem_responses(401, 403, 404, 422, 503),
    description="Needs the scope `records:read`.",
)
async def record_at(
    id: UUID,
    timestamp: Timestamp,
    caller: Reader,
    services: Annotated[Services, Depends(get_services)],
) -> Record:
    with audited(caller, record_id=str(id)) as audit_ids:
        record = await services.records.at(id, timestamp)
        audit_ids["patient_id"] = str(record.patient_id)
        return record
