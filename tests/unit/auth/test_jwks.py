"""The JWKS cache's fetch discipline."""

import anyio
import jwt
import pytest

from logger_app.auth.jwks import KeySet, KeysUnavailable


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
