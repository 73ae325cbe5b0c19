"""A token verified once is not verified again while its entry holds (auth/token_cache.py),
and is refused once it expires or its key is withdrawn."""

import time
from pathlib import Path
from typing import Any

import anyio
import jwt
import pytest

from logger_app import local_issuer
from logger_app.auth.jwks import KeySet
from logger_app.auth.tokens import Authenticator
from logger_app.problems import Problem
from logger_app.settings import ApiSettings


@pytest.fixture
def signature_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tokens whose signature was checked (PyJWT's decode), in order: what the cache saves."""
    checked: list[str] = []
    decode = jwt.decode

    def checking(token: str, *args: Any, **kwargs: Any) -> Any:
        checked.append(token)
        return decode(token, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", checking)
    return checked


def _local_authenticator(directory: Path, **settings: Any) -> Authenticator:
    return Authenticator(ApiSettings(local_issuer_dir=directory, **settings))


def _refusal_reason(authenticator: Authenticator, token: str) -> str | None:
    try:
        anyio.run(authenticator.authenticate, token)
    except Problem as problem:
        return problem.reason
    return None


def test_a_token_used_again_is_not_verified_again(
    tmp_path: Path, signature_checks: list[str]
) -> None:
    authenticator = _local_authenticator(tmp_path)
    token = local_issuer.mint(tmp_path, ["records:read"])
    first = anyio.run(authenticator.authenticate, token)
    again = anyio.run(authenticator.authenticate, token)
    assert first == again == (local_issuer.CLIENT_ID, frozenset({"records:read"}))
    assert len(signature_checks) == 1


def test_a_different_token_is_verified_on_its_own(
    tmp_path: Path, signature_checks: list[str]
) -> None:
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
    assert len(signature_checks) == 2
    # The same claims with a signature not the issuer's: its own (failed) verification.
    header, payload, signature = reader.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    assert _refusal_reason(authenticator, forged) == "token-signature"
    assert _refusal_reason(authenticator, reader + " ") is not None
    assert anyio.run(authenticator.authenticate, reader)[1] == frozenset({"records:read"})


def test_a_verified_token_is_refused_once_it_expires(
    tmp_path: Path, signature_checks: list[str]
) -> None:
    authenticator = _local_authenticator(tmp_path, auth_leeway_seconds=0)
    token = local_issuer.mint(tmp_path, ["records:read"], lifetime_seconds=2)
    assert _refusal_reason(authenticator, token) is None
    assert _refusal_reason(authenticator, token) is None
    assert len(signature_checks) == 1
    exp = jwt.PyJWT().decode(token, options={"verify_signature": False})["exp"]
    time.sleep(max(0.0, exp - time.time()) + 0.1)
    assert _refusal_reason(authenticator, token) == "token-expired"
    assert len(signature_checks) == 2


def test_a_verified_token_is_refused_once_its_key_is_withdrawn(
    tmp_path: Path, signature_checks: list[str]
) -> None:
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
    assert len(signature_checks) == 1
    now[0] = 3600  # the keys are old: refetched, and the token's key is gone
    assert _refusal_reason(authenticator, token) == "token-key-unknown"
