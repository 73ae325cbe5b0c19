from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Request, Response, status

from logger_app import idempotency, records
from logger_app.audit import entry
from logger_app.problems import problem_responses
from logger_app.routes.deps import RecordReader, RecordWriter, ServicesDep
from logger_app.routes.headers import (
    BODY_PROBLEMS,
    BODY_STATUSES,
    REPLAYED,
    V1_PROBLEMS,
    IdempotencyKey,
    replayed_response,
)
from logger_app.schemas import TIMESTAMP_FORMAT, TIMESTAMP_PATTERN, Record, RecordRequest
from logger_app.scopes import RECORDS_READ, RECORDS_WRITE

router = APIRouter(prefix="/v1/records", tags=["records"])

Timestamp = Annotated[
    str,
    Path(
        pattern=TIMESTAMP_PATTERN,
        description=f"The record's timestamp as returned on creation: {TIMESTAMP_FORMAT}.",
    ),
]
READ_PROBLEMS = {**V1_PROBLEMS, 404: [records.RECORD_NOT_FOUND]}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        **replayed_response(status.HTTP_201_CREATED),
        **problem_responses(
            *BODY_STATUSES,
            409,
            types={
                **BODY_PROBLEMS,
                409: [
                    records.INTERACTION_OF_ANOTHER_PATIENT,
                    records.RECORD_ID_TAKEN,
                    idempotency.KEY_REUSED,
                ],
                422: [*BODY_PROBLEMS[422], records.PATIENT_NOT_FOUND],
            },
        ),
    },
    description=f"Needs the scope `{RECORDS_WRITE}`. The patient must have signed up, and every "
    "record of an interaction (`id`) belongs to the patient of its first record.",
)
async def create_record(
    body: RecordRequest,
    request: Request,
    response: Response,
    caller: RecordWriter,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> Record:
    audit = entry(request)
    audit.ids["patient_id"] = str(body.patient_id)
    if body.id is not None:
        audit.ids["record_id"] = str(body.id)
    result = await services.records.create(body, caller.client_id, idempotency_key)
    audit.ids["record_id"] = str(result.record.id)
    if result.replayed:
        response.headers[REPLAYED] = "true"
    return result.record


@router.get(
    "/{id}",
    responses=problem_responses(401, 403, 404, 422, 503, types=READ_PROBLEMS),
    description=f"Needs the scope `{RECORDS_READ}`.",
)
async def newest_record(
    id: UUID,
    request: Request,
    caller: RecordReader,
    services: ServicesDep,
) -> Record:
    record = await services.records.newest(id)
    entry(request).ids["patient_id"] = str(record.patient_id)
    return record


@router.get(
    "/{id}/{timestamp}",
    responses=problem_responses(401, 403, 404, 422, 503, types=READ_PROBLEMS),
    description=f"Needs the scope `{RECORDS_READ}`.",
)
async def record_at(
    id: UUID,
    timestamp: Timestamp,
    request: Request,
    caller: RecordReader,
    services: ServicesDep,
) -> Record:
    record = await services.records.at(id, timestamp)
    entry(request).ids["patient_id"] = str(record.patient_id)
    return record
