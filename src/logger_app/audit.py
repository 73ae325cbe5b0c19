"""The PHI access log: one ``audit`` line for every request to a PHI endpoint (sign-ups, record
writes and reads), whatever its outcome; and the audit record a PHI write stores with what it
writes.

Each line (logger ``logger_app.audit``, event ``audit``) says who (``client_id``, verified from
the token; absent when there was no valid token), what (``action``: patient.sign_up,
record.create, record.read), which (``patient_id``, ``record_id``, once known), how it ended
(``outcome``), why not (``reason``, a stable code, on every refusal and failure) and the
request's ``trace_id`` (on every log line). Never a name, an email, a token or any other claim.

``AuditLog`` writes the line once the answer has gone, around the whole app, so no outcome
escapes it: a body refused before routing (413), a token refused (401, 403), a request that does
not validate (400, 422), a crash (500). The route, the token check and the problem handlers fill
in what they learn on the request's ``Entry``.

A log line is written after the commit, so a process killed in between would never write it.
The durable audit record of a PHI write is therefore part of the write: the patient or record
item its transaction stores carries ``audit`` (``stored_record``), kept as long as the item.
"""

import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import Request
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from logger_app.clock import utc_now
from logger_app.problems import ANSWERED, INTERNAL_ERROR, Problem
from logger_app.scopes import RECORD_CREATE as RECORD_CREATE
from logger_app.scopes import RECORD_READ as RECORD_READ
from logger_app.scopes import SIGN_UP as SIGN_UP
from logger_app.tracing import current_trace_id

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

logger = logging.getLogger("logger_app.audit")


# How a request ended, by the status it was answered with; 2xx is "success", the rest "failed".
_OUTCOMES = {
    400: "invalid",
    401: "unauthenticated",
    403: "denied",
    404: "not_found",
    409: "conflict",
    413: "invalid",
    415: "invalid",
    422: "invalid",
}
_ENTRY = "logger_app.audit"  # where a request's Entry lives in its ASGI scope


@dataclass
class Entry:
    """What the audit line of one request will say, filled in as the request learns it."""

    action: str
    client_id: str | None = None
    ids: dict[str, str] = field(default_factory=dict)


def entry(request: Request) -> Entry:
    """The request's audit entry, for the PHI routes and the token check to fill in (a plain
    call, not a FastAPI dependency: each dependency costs every request its resolution)."""
    found: Entry = request.scope[_ENTRY]
    return found


def outcome(status: int) -> str:
    if 200 <= status < 300:
        return "success"
    return _OUTCOMES.get(status, "failed")


def log(entry: Entry, status: int, problem: Problem | None) -> None:
    fields: dict[str, Any] = {"event": "audit", "action": entry.action, "outcome": outcome(status)}
    if entry.client_id is not None:
        fields["client_id"] = entry.client_id
    if problem is not None:
        fields["reason"] = problem.reason
    elif status >= 500:  # escaped every handler: a bug
        fields["reason"] = INTERNAL_ERROR
    logger.info("audit", extra={**fields, **entry.ids})


class AuditLog:
    """Writes each PHI request's audit line once it is answered. `routes` are the PHI routes,
    each with its action; they are matched here, before routing, because some answers (a body
    over the limit) come before it."""

    def __init__(self, app: ASGIApp, routes: Iterable[tuple[BaseRoute, str]]) -> None:
        self.app = app
        self.routes = list(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        entry = self._entry(scope) if scope["type"] == "http" else None
        if entry is None:
            await self.app(scope, receive, send)
            return
        scope[_ENTRY] = entry
        status = 500  # unless an answer starts: what escaped the app

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            log(entry, status, scope.get(ANSWERED))

    def _entry(self, scope: Scope) -> Entry | None:
        for route, action in self.routes:
            match, child = route.matches(scope)
            if match is Match.FULL:
                return Entry(action, ids=_record_id(child.get("path_params", {})))
        return None


def _record_id(path_params: Mapping[str, Any]) -> dict[str, str]:
    """The record a path names (record reads), for the audit line: only a well-formed id, since
    a path can hold anything a client typed."""
    try:
        return {"record_id": str(uuid.UUID(str(path_params["id"])))}
    except (KeyError, ValueError):
        return {}


def stored_record(action: str, client_id: str, request_id: str) -> "AttributeValueTypeDef":
    """The audit record a PHI write stores on the item it writes, in the same transaction: who,
    what, which request (its ClientRequestToken, by which a retry recognises its own earlier
    commit), in which trace, and when."""
    return {
        "M": {
            "action": {"S": action},
            "client_id": {"S": client_id},
            "request_id": {"S": request_id},
            "trace_id": {"S": current_trace_id()},
            "at": {"S": utc_now()},
        }
    }
