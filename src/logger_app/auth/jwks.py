"""The issuer's signing keys (its JWKS): the local issuer's file, or fetched over https.

The JWKS is fetched only when a token names a key id not in the cache: in a worker thread, once
for concurrent misses, and at most once per ``auth_jwks_min_refetch_seconds``. Checking a token
against a cached key is CPU only and runs on the event loop.
"""

import logging
import time
from collections.abc import Callable

import anyio
import anyio.to_thread
import jwt

from logger_app import local_issuer
from logger_app.settings import ApiSettings

logger = logging.getLogger("logger_app.auth")


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
