"""The ``requires(scope)`` dependency every /v1 route declares: the request's bearer token,
verified (tokens.py), and its scope checked. It also tells the audit entry and the span who the
caller is, the only part of a token that leaves the auth package."""

from collections.abc import Iterable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from opentelemetry import trace
from starlette.routing import BaseRoute

from logger_app import audit, synthetic
from logger_app.auth.caller import Caller
from logger_app.auth.tokens import UNAUTHORIZED, Authenticator, challenge
from logger_app.problems import Problem
from logger_app.scopes import ACTIONS, SCOPES

# The span attribute carrying the caller.
CLIENT_ID_ATTRIBUTE = "logger_app.client_id"
# The problem type of a token without the route's scope.
INSUFFICIENT_SCOPE = "insufficient-scope"

_MISSING = Problem(
    401,
    UNAUTHORIZED,
    "Unauthorized",
    "A bearer access token is required (Authorization: Bearer <token>).",
    # RFC 6750 §3.1: no error code when the request carried no token at all.
    headers={"WWW-Authenticate": challenge()},
    reason="token-missing",
)

_bearer = HTTPBearer(
    auto_error=False,
    bearerFormat="JWT",
    description="An OAuth 2.0 access token (JWT) from the API's issuer. Scopes: "
    + "; ".join(f"`{scope}` to {does}" for scope, does in SCOPES.items())
    + ".",
)


class Requires:
    """The dependency admitting only requests whose token carries ``scope`` (401 or 403 else);
    the audit entry learns the verified client."""

    def __init__(self, scope: str) -> None:
        self.scope = scope
        self.action = ACTIONS[scope]

    async def __call__(
        self,
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Caller:
        authenticator: Authenticator = request.app.state.authenticator
        if credentials is None:
            raise _MISSING
        client_id, scopes = await authenticator.authenticate(credentials.credentials)
        audit.entry(request).client_id = client_id
        span = trace.get_current_span()
        span.set_attribute(CLIENT_ID_ATTRIBUTE, client_id)
        if client_id in authenticator.synthetic_client_ids:
            span.set_attribute(synthetic.SPAN_ATTRIBUTE, True)
            synthetic.mark()
        if self.scope not in scopes:
            raise Problem(
                403,
                INSUFFICIENT_SCOPE,
                "Forbidden",
                f"This request needs the scope {self.scope}, which the token does not carry.",
                headers={
                    "WWW-Authenticate": challenge(error="insufficient_scope", scope=self.scope)
                },
                extra={"scope": self.scope},
            )
        return Caller(client_id, scopes)


def requires(scope: str) -> Requires:
    return Requires(scope)


def audited_routes(routes: Iterable[BaseRoute]) -> list[tuple[BaseRoute, str]]:
    """Every route that requires a scope (the PHI endpoints), with the action it audits."""
    found: list[tuple[BaseRoute, str]] = []
    for route in routes:
        if isinstance(route, APIRoute):
            for dependency in route.dependant.dependencies:
                if isinstance(dependency.call, Requires):
                    found.append((route, dependency.call.action))
    return found
