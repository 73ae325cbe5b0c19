"""Request and response bodies of the v1 API."""

from enum import StrEnum
from typing import Annotated
from uuid import UUID

from email_validator import SPECIAL_USE_DOMAIN_NAMES
from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, StringConstraints

MAX_DETAILS_BYTES = 4096

TIMESTAMP_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$"
TIMESTAMP_EXAMPLE = "2026-12-02T10:00:00.000000Z"
TIMESTAMP_FORMAT = (
    f"a UTC timestamp with 6 decimal places and a trailing Z, e.g. {TIMESTAMP_EXAMPLE}"
)
DOCTOR_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
# What a refused value must look like, said in words rather than as its regular expression.
PATTERN_WORDS = {
    TIMESTAMP_PATTERN: TIMESTAMP_FORMAT,
    DOCTOR_ID_PATTERN: "1 to 64 characters, each a letter, a digit or one of . _ : -",
}


class RecordKind(StrEnum):
    call_started = "call_started"
    call_ended = "call_ended"
    message = "message"
    note = "note"


def _fits_details_limit(value: str) -> str:
    if len(value.encode("utf-8")) > MAX_DETAILS_BYTES:
        raise ValueError(f"must be at most {MAX_DETAILS_BYTES} bytes of UTF-8")
    return value


def _any_case(name: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else "\\" + c for c in name)


# email-validator refuses addresses at special-use and reserved domains (RFC 6761: .test,
# .local, .invalid, ...): they cannot receive mail. The schema says so, so that every address
# it allows is one the API accepts.
Email = Annotated[
    EmailStr,
    Field(
        description="An address that can receive mail: special-use domains ("
        + ", ".join("." + name for name in SPECIAL_USE_DOMAIN_NAMES)
        + ") are refused.",
        json_schema_extra={
            "not": {
                "pattern": "[@.](?:"
                + "|".join(_any_case(name) for name in SPECIAL_USE_DOMAIN_NAMES)
                + ")$"
            }
        },
    ),
]
FullName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
DoctorId = Annotated[str, StringConstraints(pattern=DOCTOR_ID_PATTERN)]
Details = Annotated[str, AfterValidator(_fits_details_limit)]


class SignupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email
    full_name: FullName


class SignupResponse(BaseModel):
    patient_id: UUID
    created_at: str = Field(description="RFC 3339, UTC.")


class RecordRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: UUID | None = Field(
        default=None,
        description="An existing interaction to add to (e.g. the call_ended of a call); "
        "a new one is created when absent.",
    )
    patient_id: UUID
    doctor_id: DoctorId
    kind: RecordKind
    details: Details | None = Field(default=None, description="Free text, at most 4 KiB.")


class Record(BaseModel):
    id: UUID
    timestamp: str = Field(
        description=f"RFC 3339, UTC, 6 decimal places, trailing Z (e.g. {TIMESTAMP_EXAMPLE}); "
        "the record's sort key."
    )
    patient_id: UUID
    doctor_id: str
    kind: RecordKind
    details: str | None = None


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]
