"""A bearer token's verification: from the token to its verified client id and scopes.

A token is accepted only when all of these hold: RS256 (the issuer's algorithm; ``none`` and
HMAC are refused before any key is looked up), signed by a key in the issuer's JWKS (fetched
over https), ``iss`` exactly the issuer, ``exp`` and ``iat`` present, ``exp``, ``iat`` and
``nbf`` numbers (PyJWT alone accepts ``"exp": "9999999999"``), ``exp`` not passed and ``iat``
and ``nbf`` not to come (with a small leeway), ``exp - iat`` within the maximum lifetime,
``token_use`` ``access`` when present (Cognito's ID tokens are refused), an ``aud``, when the token
has one, equal to the configured audience (a token for another API is refused even where only
client ids are configured), a ``client_id`` in the allowed list (when one is configured; a token
without ``aud`` needs one), and the route's scope in ``scope`` (or ``scp``; with
``auth_scope_prefix`` set, Cognito's ``<resource server>/``, only scopes carrying it).

A token verified once is not verified again while it is unexpired and its key is still the
issuer's current one (token_cache.py): its client id and scopes are kept by its exact string.

Nothing from the token except the verified client id reaches logs, spans or metrics. Each
refusal carries a reason code (``token-expired``, ...) for the audit log.
"""

import math
from typing import Any

import jwt

from logger_app import local_issuer
from logger_app.auth.jwks import KeysUnavailable, issuer_keys
from logger_app.auth.token_cache import Verified, VerifiedTokens
from logger_app.problems import Problem
from logger_app.settings import ApiSettings
from logger_app.token_claims import ACCESS, ALGORITHM, TOKEN_USE

REALM = "logger-app"
# The problem types of a refused token and of an issuer whose keys cannot be fetched.
UNAUTHORIZED = "unauthorized"
ISSUER_UNAVAILABLE = "issuer-unavailable"


def challenge(**parameters: str) -> str:
    """A ``WWW-Authenticate`` value of the bearer scheme (RFC 6750 §3): the realm, then these."""
    return "Bearer " + ", ".join(
        f'{name}="{value}"' for name, value in {"realm": REALM, **parameters}.items()
    )


def _unauthorized(description: str, reason: str) -> Problem:
    """A 401 telling the client why (never the token or its claims), with the audit log's
    reason code."""
    return Problem(
        401,
        UNAUTHORIZED,
        "Unauthorized",
        f"A valid bearer access token is required: {description}.",
        headers={
            "WWW-Authenticate": challenge(error="invalid_token", error_description=description)
        },
        reason=reason,
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
                ISSUER_UNAVAILABLE,
                "Token issuer unavailable",
                "The token issuer's keys cannot be fetched right now. Retry after a moment.",
                headers={"Retry-After": self._retry_after},
            ) from None
        if key is None:
            raise _unauthorized("the token's signing key is unknown", "token-key-unknown")
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
        if claims.get(TOKEN_USE, ACCESS) != ACCESS:
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
