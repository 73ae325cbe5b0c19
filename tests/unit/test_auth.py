"""The JWKS cache's fetch discipline, and the verification of tokens."""

import json
import time
from pathlib import Path
from typing import Any

import anyio
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from logger_app import local_issuer
from logger_app.auth import Authenticator, KeySet, KeysUnavailable
from logger_app.problems import Problem
from logger_app.settings import ApiSettings


def test_concurrent_misses_fetch_once_and_refetches_are_spaced() -> None:
    now = [0.0]
    fetched: list[int] = []
    key = object()

    def fetch() -> dict[str, jwt.PyJWK]:
        fetched.append(1)
        return {"k1": key}  # type: ignore[dict-item]

    keys = KeySet(fetch, min_refetch_seconds=30, clock=lambda: now[0])

    async def scenario() -> None:
        found: list[object] = []

        async def look_up() -> None:
            found.append(await keys.key("k1"))

        async with anyio.create_task_group() as group:
            for _ in range(20):
                group.start_soon(look_up)
        assert found == [key] * 20
        assert await keys.key("unknown") is None  # within 30 s: no fetch
        now[0] = 31
        assert await keys.key("unknown") is None  # after: one
        assert await keys.key("unknown") is None

    anyio.run(scenario)
    assert len(fetched) == 2


def test_a_failed_fetch_without_a_cached_key_is_unavailable() -> None:
    def fetch() -> dict[str, jwt.PyJWK]:
        raise jwt.PyJWKClientConnectionError("down")

    keys = KeySet(fetch, min_refetch_seconds=30)
    with pytest.raises(KeysUnavailable):
        anyio.run(keys.key, "k1")


def test_a_scope_prefix_admits_only_the_resource_servers_scopes() -> None:
    """Cognito names custom scopes <resource server>/<scope>: with the prefix configured, the
    routes' scopes match those, and a bare or foreign scope grants nothing."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = jwt.PyJWK.from_dict(
        {**json.loads(RSAAlgorithm.to_jwk(private_key.public_key())), "kid": "k1", "use": "sig"}
    )
    issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc"
    settings = ApiSettings(
        auth_issuer=issuer,
        auth_client_ids="caller",
        auth_scope_prefix="logger-app/",
    )
    authenticator = Authenticator(settings)
    authenticator.keys = KeySet(lambda: {"k1": public}, min_refetch_seconds=30)
    now = int(time.time())
    claims = {
        "iss": issuer,
        "client_id": "caller",
        "token_use": "access",
        "iat": now,
        "exp": now + 300,
        "scope": "logger-app/signups:write records:read other/records:write",
    }
    token = jwt.encode(claims, private_key, algorithm="RS256", headers={"kid": "k1"})
    client_id, scopes = anyio.run(authenticator.authenticate, token)
    assert (client_id, scopes) == ("caller", frozenset({"signups:write"}))


def test_a_key_the_issuer_withdrew_is_refused_once_the_keys_are_old() -> None:
    now = [0.0]
    published: dict[str, object] = {"k1": object(), "k2": object()}
    fetched: list[int] = []

    def fetch() -> dict[str, jwt.PyJWK]:
        fetched.append(1)
        return dict(published)  # type: ignore[arg-type]

    keys = KeySet(fetch, min_refetch_seconds=30, clock=lambda: now[0], max_age_seconds=3600)

    async def scenario() -> None:
        assert await keys.key("k1") is published["k1"]
        del published["k1"]  # rotated out, or compromised
        now[0] = 3599
        assert await keys.key("k1") is not None  # the held keys are still current
        now[0] = 3600
        assert await keys.key("k1") is None  # refetched: withdrawn
        assert await keys.key("k2") is published["k2"]

    anyio.run(scenario)
    assert len(fetched) == 2


def test_old_keys_stay_in_use_while_the_issuer_cannot_be_reached() -> None:
    now = [0.0]
    key = object()
    reachable = [True]

    def fetch() -> dict[str, jwt.PyJWK]:
        if not reachable[0]:
            raise jwt.PyJWKClientConnectionError("down")
        return {"k1": key}  # type: ignore[dict-item]

    keys = KeySet(fetch, min_refetch_seconds=30, clock=lambda: now[0], max_age_seconds=3600)

    async def scenario() -> None:
        assert await keys.key("k1") is key
        reachable[0] = False
        now[0] = 4000
        assert await keys.key("k1") is key

    anyio.run(scenario)


def _local_authenticator(directory: Path, **settings: Any) -> Authenticator:
    return Authenticator(ApiSettings(local_issuer_dir=directory, **settings))


def _refusal_reason(authenticator: Authenticator, token: str) -> str | None:
    try:
        anyio.run(authenticator.authenticate, token)
    except Problem as problem:
        return problem.reason
    return None


def test_a_token_used_again_is_not_verified_again(tmp_path: Path) -> None:
    authenticator = _local_authenticator(tmp_path)
    token = local_issuer.mint(tmp_path, ["records:read"])
    first = anyio.run(authenticator.authenticate, token)
    again = anyio.run(authenticator.authenticate, token)
    assert first == again == (local_issuer.CLIENT_ID, frozenset({"records:read"}))
    assert authenticator.verifications == 1


def test_a_different_token_is_verified_on_its_own(tmp_path: Path) -> None:
    authenticator = _local_authenticator(tmp_path)
    reader = local_issuer.mint(tmp_path, ["records:read"])
    writer = local_issuer.mint(
        tmp_path, ["signups:write"], client_id=local_issuer.SYNTHETIC_CLIENT_ID
    )
    assert anyio.run(authenticator.authenticate, reader)[1] == frozenset({"records:read"})
    assert anyio.run(authenticator.authenticate, writer) == (
        local_issuer.SYNTHETIC_CLIENT_ID,
        frozenset({"signups:write"}),
    )
    assert authenticator.verifications == 2
    # The same claims with a signature not the issuer's: its own (failed) verification.
    header, payload, signature = reader.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    assert _refusal_reason(authenticator, forged) == "token-signature"
    assert _refusal_reason(authenticator, reader + " ") is not None
    assert anyio.run(authenticator.authenticate, reader)[1] == frozenset({"records:read"})


def test_a_verified_token_is_refused_once_it_expires(tmp_path: Path) -> None:
    authenticator = _local_authenticator(tmp_path, auth_leeway_seconds=0)
    token = local_issuer.mint(tmp_path, ["records:read"], lifetime_seconds=2)
    assert _refusal_reason(authenticator, token) is None
    assert _refusal_reason(authenticator, token) is None
    assert authenticator.verifications == 1
    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    time.sleep(max(0.0, exp - time.time()) + 0.1)
    assert _refusal_reason(authenticator, token) == "token-expired"
    assert authenticator.verifications == 2


def test_a_verified_token_is_refused_once_its_key_is_withdrawn(tmp_path: Path) -> None:
    authenticator = _local_authenticator(tmp_path)
    [jwk] = local_issuer.jwks(tmp_path)["keys"]
    published = {jwk["kid"]: jwt.PyJWK.from_dict(jwk)}
    now = [0.0]
    authenticator.keys = KeySet(
        lambda: dict(published), min_refetch_seconds=30, clock=lambda: now[0]
    )
    token = local_issuer.mint(tmp_path, ["records:read"])
    assert _refusal_reason(authenticator, token) is None
    published.clear()  # rotated out, or compromised
    now[0] = 3599
    assert _refusal_reason(authenticator, token) is None  # the held keys are still current
    assert authenticator.verifications == 1
    now[0] = 3600  # the keys are old: refetched, and the token's key is gone
    assert _refusal_reason(authenticator, token) == "token-key-unknown"
