"""OAuth 2.0 bearer tokens: JWT access tokens checked against the issuer's JWKS, and the
``requires(scope)`` dependency every /v1 route declares.

A token is accepted only when all of these hold: RS256 (the issuer's algorithm; ``none`` and
HMAC are refused before any key is looked up), signed by a key in the issuer's JWKS (fetched
over https), ``iss`` exactly the issuer, ``exp`` and ``iat`` present, ``exp``, ``iat`` and
``nbf`` numbers (PyJWT alone accepts ``"exp": "9999999999"``), ``exp`` not passed and ``iat``
and ``nbf`` not to come (with a small leeway), ``exp - iat`` within the maximum lifetime,
``token_use`` "access" when present (Cognito's ID tokens are refused), an ``aud``, when the token
has one, equal to the configured audience (a token for another API is refused even where only
client ids are configured), a ``client_id`` in the allowed list (when one is configured; a token
without ``aud`` needs one), and the route's scope in ``scope`` (or ``scp``; with
``auth_scope_prefix`` set, Cognito's ``<resource server>/``, only scopes carrying it).

A token verified once is not verified again while it is unexpired and its key is still the
issuer's current one (token_cache.py): its client id and scopes are kept by its exact string.

The JWKS is fetched only when a token names a key id not in the cache: in a worker thread, once
for concurrent misses, and at most once per ``auth_jwks_min_refetch_seconds``. Checking a token
against a cached key is CPU only and runs on the event loop.

Nothing from the token except the verified client id reaches logs, spans or metrics. Each
refusal carries a reason code (``token-expired``, ...) for the audit log.
"""

import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any

import anyio
import anyio.to_thread
import jwt
from fastapi import Depends, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from opentelemetry import trace
from starlette.routing import BaseRoute

from logger_app import audit, local_issuer, synthetic
from logger_app.problems import Problem
from logger_app.settings import ApiSettings
from logger_app.token_cache import Verified, VerifiedTokens

logger = logging.getLogger(__name__)

ALGORITHM = "RS256"
REALM = "logger-app"
SCOPES = {
    "signups:write": "sign patients up",
    "records:write": "create interaction records",
    "records:read": "read interaction records",
}
# What each scope lets a caller do, as the audit log names it.
ACTIONS = {
    "signups:write": audit.SIGN_UP,
    "records:write": audit.RECORD_CREATE,
    "records:read": audit.RECORD_READ,
}
# The span attribute carrying the caller: the only part of a token that leaves this module.
CLIENT_ID_ATTRIBUTE = "logger_app.client_id"
# Set (true) on the spans of synthetic requests, `logger-app verify`'s, which count as no patient.
SYNTHETIC_ATTRIBUTE = synthetic.SPAN_ATTRIBUTE


@dataclass(frozen=True)
class Caller:
    """Who made an authorized request."""

    client_id: str
    scopes: frozenset[str]


class KeysUnavailable(Exception):
    """The JWKS could not be fetched and no cached key matches: not the client's fault."""


class KeySet:
    """The issuer's signing keys by key id, refetched for a key id it does not know, and once
    they are `max_age_seconds` old (so a withdrawn key stops being accepted). While the issuer
    cannot be reached, keys already held stay in use."""

    def __init__(
        self,
        fetch: Callable[[], dict[str, jwt.PyJWK]],
        min_refetch_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        max_age_seconds: float = 3600.0,
    ) -> None:
        self._fetch = fetch
        self._min_refetch = min_refetch_seconds
        self._max_age = max_age_seconds
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._last_attempt: float | None = None
        self._last_failed = False
        self._lock = anyio.Lock()
        self.fetches = 0

    async def key(self, kid: str) -> jwt.PyJWK | None:
        """The key, or None when the issuer does not have it either."""
        if kid in self._keys and not self._expired():
            return self._keys[kid]
        async with self._lock:  # concurrent misses wait for one fetch
            if kid in self._keys and not self._expired():
                return self._keys[kid]
            now = self._clock()
            recent = self._last_attempt is not None and now - self._last_attempt < self._min_refetch
            if not recent:
                self._last_attempt = now
                self.fetches += 1
                try:
                    self._keys = await anyio.to_thread.run_sync(self._fetch)
                    self._fetched_at = now
                    self._last_failed = False
                except jwt.PyJWTError as error:
                    self._last_failed = True
                    logger.warning(
                        "issuer keys unavailable",
                        extra={"event": "auth.jwks_unavailable", "error": type(error).__name__},
                    )
                else:
                    logger.info(
                        "issuer keys fetched",
                        extra={"event": "auth.jwks_fetched", "keys": len(self._keys)},
                    )
            if kid in self._keys:
                return self._keys[kid]
            if self._last_failed:
                raise KeysUnavailable
            return None

    def holds(self, kid: str, key: jwt.PyJWK) -> bool:
        """Whether `key` is still the current key for `kid`: held, and not due for a refetch."""
        return self._keys.get(kid) is key and not self._expired()

    def _expired(self) -> bool:
        return self._fetched_at is not None and self._clock() - self._fetched_at >= self._max_age


def _signing_keys(keys: list[jwt.PyJWK]) -> dict[str, jwt.PyJWK]:
    return {
        key.key_id: key
        for key in keys
        if key.key_id and key.public_key_use in ("sig", None) and key.key_type == "RSA"
    }


def issuer_keys(settings: ApiSettings) -> tuple[str, KeySet]:
    """The trusted issuer and its keys: the local issuer's file, or the JWKS over HTTPS."""
    directory = settings.local_issuer_dir
    if directory is not None:
        local_issuer.jwks(directory)  # makes the key pair on first run, before any token
        return local_issuer.ISSUER, KeySet(
            lambda: _signing_keys(jwt.PyJWKSet.from_dict(local_issuer.jwks(directory)).keys),
            settings.auth_jwks_min_refetch_seconds,
            max_age_seconds=settings.auth_jwks_max_age_seconds,
        )
    assert settings.auth_issuer
    assert settings.jwks_url
    client = jwt.PyJWKClient(
        settings.jwks_url, cache_jwk_set=False, timeout=settings.auth_jwks_timeout_seconds
    )
    return settings.auth_issuer, KeySet(
        lambda: _signing_keys(client.get_signing_keys(refresh=True)),
        settings.auth_jwks_min_refetch_seconds,
        max_age_seconds=settings.auth_jwks_max_age_seconds,
    )


def _unauthorized(description: str, reason: str) -> Problem:
    """A 401 telling the client why (never the token or its claims), with the audit log's
    reason code."""
    return Problem(
        401,
        "unauthorized",
        "Unauthorized",
        f"A valid bearer access token is required: {description}.",
        headers={
            "WWW-Authenticate": f'Bearer realm="{REALM}", error="invalid_token", '
            f'error_description="{description}"'
        },
        reason=reason,
    )


_MISSING = Problem(
    401,
    "unauthorized",
    "Unauthorized",
    "A bearer access token is required (Authorization: Bearer <token>).",
    # RFC 6750 §3.1: no error code when the request carried no token at all.
    headers={"WWW-Authenticate": f'Bearer realm="{REALM}"'},
    reason="token-missing",
)

# What a refused token is told, and its reason code, by PyJWT's error (InvalidSignatureError
# is a DecodeError: it comes first).
_REFUSALS: list[tuple[type[jwt.PyJWTError], str, str]] = [
    (jwt.ExpiredSignatureError, "the token has expired", "token-expired"),
    (jwt.ImmatureSignatureError, "the token is not valid yet", "token-not-yet-valid"),
    (jwt.InvalidIssuerError, "the token is from another issuer", "token-issuer"),
    (jwt.InvalidSignatureError, "the signature does not verify", "token-signature"),
    (jwt.MissingRequiredClaimError, "the token lacks a required claim", "token-claims"),
    (jwt.InvalidAlgorithmError, "the token's algorithm is not accepted", "token-algorithm"),
    (jwt.DecodeError, "the token is malformed", "token-malformed"),
]


def _refusal(error: jwt.PyJWTError) -> Problem:
    for kind, description, reason in _REFUSALS:
        if isinstance(error, kind):
            return _unauthorized(description, reason)
    return _unauthorized("the token is not valid", "token-invalid")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class Authenticator:
    def __init__(self, settings: ApiSettings) -> None:
        self.issuer, self.keys = issuer_keys(settings)
        local = settings.local_issuer_dir is not None
        self._client_ids = (
            frozenset({local_issuer.CLIENT_ID, local_issuer.SYNTHETIC_CLIENT_ID})
            if local
            else settings.auth_client_ids
        )
        self.synthetic_client_ids = settings.synthetic_client_ids | (
            {local_issuer.SYNTHETIC_CLIENT_ID} if local else set()
        )
        self._audience = None if local else settings.auth_audience
        self._scope_prefix = "" if local else settings.auth_scope_prefix
        self._leeway = settings.auth_leeway_seconds
        self._max_lifetime = settings.auth_max_token_lifetime_seconds
        self._retry_after = str(settings.retry_after_seconds)
        self.verified = VerifiedTokens()
        # Full verifications (signature included) done: the cache's effect, for the tests.
        self.verifications = 0

    async def authenticate(self, token: str) -> tuple[str, frozenset[str]]:
        """The verified client id and scopes, or a Problem (401, or 503 without keys)."""
        cached = self.verified.get(token)
        if cached is not None:
            if self.keys.holds(cached.kid, cached.key):
                return cached.client_id, cached.scopes
            self.verified.discard(token)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _unauthorized("the token is malformed", "token-malformed") from None
        if header.get("alg") != ALGORITHM:
            raise _unauthorized("the token's algorithm is not accepted", "token-algorithm")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise _unauthorized("the token names no signing key", "token-key-unknown")
        try:
            key = await self.keys.key(kid)
        except KeysUnavailable:
            raise Problem(
                503,
                "issuer-unavailable",
                "Token issuer unavailable",
                "The token issuer's keys cannot be fetched right now. Retry after a moment.",
                headers={"Retry-After": self._retry_after},
            ) from None
        if key is None:
            raise _unauthorized("the token's signing key is unknown", "token-key-unknown")
        self.verifications += 1
        claims = self._verified_claims(token, key)
        client_id, scopes = self._client_id(claims), _scopes(claims, self._scope_prefix)
        self.verified.put(token, Verified(client_id, scopes, kid, key, float(claims["exp"])))
        return client_id, scopes

    def _verified_claims(self, token: str, key: jwt.PyJWK) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                leeway=self._leeway,
                # The audience is checked with the client (_client_id): PyJWT would either
                # ignore it or require it of Cognito's tokens, which have none.
                options={"require": ["exp", "iat", "iss"], "verify_aud": False},
            )
        except jwt.PyJWTError as error:
            raise _refusal(error) from None
        for name in ("exp", "iat", "nbf"):
            if name in claims and not _is_number(claims[name]):
                raise _unauthorized(f"the token's {name} is not a number", "token-claims")
        if claims["exp"] - claims["iat"] > self._max_lifetime:
            raise _unauthorized("the token's lifetime is longer than allowed", "token-lifetime")
        if claims.get("token_use", "access") != "access":
            raise _unauthorized("the token is not an access token", "token-not-access")
        return claims

    def _client_id(self, claims: dict[str, Any]) -> str:
        """The client the token was issued to, once the token is known to be for this API: by
        its ``aud`` (which must then be the configured audience) or its client id."""
        audience = claims.get("aud")
        if audience is not None:
            audiences = [audience] if isinstance(audience, str) else audience
            if not isinstance(audiences, list) or self._audience not in audiences:
                raise _unauthorized("the token is for another audience", "token-audience")
        elif not self._client_ids:
            raise _unauthorized("the token names no audience", "token-audience")
        client_id = claims.get("client_id", claims.get("azp"))
        if not isinstance(client_id, str) or not client_id:
            raise _unauthorized("the token names no client", "token-client")
        if self._client_ids and client_id not in self._client_ids:
            raise _unauthorized("the token is for another client", "token-client")
        return client_id


def _scopes(claims: dict[str, Any], prefix: str = "") -> frozenset[str]:
    """The token's scopes; with a prefix, only those carrying it, without it."""
    scope = claims.get("scope")
    scp = claims.get("scp")
    if isinstance(scope, str):
        items = scope.split()
    elif isinstance(scp, list):
        items = [item for item in scp if isinstance(item, str)]
    else:
        return frozenset()
    if not prefix:
        return frozenset(items)
    return frozenset(item.removeprefix(prefix) for item in items if item.startswith(prefix))


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
            span.set_attribute(SYNTHETIC_ATTRIBUTE, True)
            synthetic.mark()
        if self.scope not in scopes:
            raise Problem(
                403,
                "insufficient-scope",
                "Forbidden",
                f"This request needs the scope {self.scope}, which the token does not carry.",
                headers={
                    "WWW-Authenticate": f'Bearer realm="{REALM}", error="insufficient_scope", '
                    f'scope="{self.scope}"'
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
