"""bench/profile.py: py-spy's samples grouped by component, on made-up stacks."""

import pytest

from bench.profile import OTHER, by_component, component_table

SITE = "/venv/lib/python3.11/site-packages"
LIB = "/usr/lib/python3.11"


def _frame(function: str, path: str) -> str:
    return f"{function} ({path}:1)"


def test_a_sample_counts_for_the_deepest_frame_that_has_a_component() -> None:
    worker = _frame("Thread._bootstrap", f"{LIB}/threading.py")
    call = _frame("_api_call", f"{SITE}/botocore/client.py")
    hook = _frame("_patched_api_call", f"{SITE}/opentelemetry/instrumentation/botocore/__init__.py")
    sign = _frame("SigV4Auth.add_auth", f"{SITE}/botocore/auth.py")
    hmac = _frame("new", f"{LIB}/hmac.py")  # no component of its own: its caller's
    handler = _frame("RequestLog.__call__", "/src/logger_app/request_log.py")
    jwt_check = _frame("RSAAlgorithm.verify", f"{SITE}/jwt/algorithms.py")
    collapsed = "\n".join(
        [
            f"{worker};{call};{sign};{hmac} 2",
            f"{worker};{call};{hook} 1",  # the botocore instrumentation: span recording
            f"{handler};{jwt_check} 1",
            f"{_frame('main', '/x/unknown.py')} 1",
            "",
        ]
    )
    shares = by_component(collapsed)
    assert shares["botocore signing"] == pytest.approx(40.0)
    assert shares["span recording (SDK, instrumentations, context)"] == pytest.approx(20.0)
    assert shares["JWT verification"] == pytest.approx(20.0)
    assert shares[OTHER] == pytest.approx(20.0)
    assert next(iter(shares)) == "botocore signing"  # largest first
    assert "| botocore signing | 40.0 |" in component_table(shares)
