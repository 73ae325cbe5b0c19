"""The PHI access log: one ``audit`` line per sign-up and per record read or write, allowed or
not.

Each line (logger ``logger_app.audit``, event ``audit``) says who (``client_id``, verified from
the token; absent when there was no valid token), what (``action``: patient.sign_up,
record.create, record.read), which (``patient_id``, ``record_id``), how it ended (``outcome``)
and the request's ``trace_id`` (on every log line). Never a name, an email, a token or any
other claim.
"""

import logging
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from logger_app.problems import Problem

if TYPE_CHECKING:
    from logger_app.auth import Caller

logger = logging.getLogger("logger_app.audit")

# How a request that failed ended, by the status it was answered with.
_OUTCOMES = {404: "not_found", 409: "conflict", 422: "invalid"}


def log(action: str, outcome: str, client_id: str | None, **ids: str) -> None:
    fields: dict[str, Any] = {"event": "audit", "action": action, "outcome": outcome}
    if client_id is not None:
        fields["client_id"] = client_id
    logger.info("audit", extra={**fields, **ids})


def resource_ids(path_params: Mapping[str, Any]) -> dict[str, str]:
    """The record a request names in its path (record reads), for the audit line: only a
    well-formed id, since a path can hold anything a client typed."""
    try:
        return {"record_id": str(uuid.UUID(str(path_params["id"])))}
    except (KeyError, ValueError):
        return {}


@contextmanager
def audited(caller: "Caller", **ids: str) -> Iterator[dict[str, str]]:
    """Logs the caller's action once it ends: "success", or how it failed. The block may add
    the ids it learns (a new record's) to the yielded dict."""
    fields = dict(ids)
    outcome = "failed"
    try:
        yield fields
        outcome = "success"
    except Problem as problem:
        outcome = _OUTCOMES.get(problem.status, "failed")
        raise
    finally:
        log(caller.action, outcome, caller.client_id, **fields)
