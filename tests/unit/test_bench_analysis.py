"""bench/analysis.py: issue #16's targets, judged on made-up results."""

from typing import Any

from bench.analysis import Verdict, verdicts


def _measurement(
    workload: str, concurrency: int, cpu: float, p50: float, delay: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "configuration": "instrumented",
        "workload": workload,
        "concurrency": concurrency,
        "requests": 100,
        "throughput_rps": 50.0,
        "errors": 0,
        "moto_server_errors": 0,
        "latency_ms": {"p50": p50, "p95": p50 * 2, "p99": p50 * 3},
        "app_cpu_ms_per_request": cpu,
        "publish_delay": delay,
    }


def _delay(p99: float | None, missing: int = 0) -> dict[str, Any]:
    return {
        "commits": 100,
        "published": 100 - missing,
        "missing": missing,
        "waited_seconds": 0.2,
        "p50_ms": None if p99 is None else p99 / 4,
        "p99_ms": p99,
    }


def _results(record_delay: dict[str, Any]) -> dict[str, Any]:
    return {
        "plan": {"publish_timeout_seconds": 10.0},
        "floors": {
            "signup": {
                "calls": ["DynamoDB.TransactWriteItems"],
                "cpu_ms_per_op": 1.0,
                "wall_ms_per_op": 20.0,
                "transact_cpu_ms_per_op": 1.0,
                "transact_wall_ms_per_op": 20.0,
            }
        },
        "configurations": [
            {
                "name": "instrumented",
                "startup_seconds": [],
                "rss_mb_after_load": 90.0,
                "peak_rss_mb": 95.0,
                "measurements": [
                    _measurement("signup", 1, 4.0, 25.0, _delay(5.0)),
                    _measurement("signup", 8, 4.9, 200.0, _delay(90.0)),
                    _measurement("signup", 32, 5.5, 900.0, _delay(300.0)),
                    _measurement("record_create", 8, 4.0, 200.0, record_delay),
                    _measurement("record_read", 8, 2.0, 20.0, None),
                ],
            }
        ],
    }


def _by_target(results: dict[str, Any]) -> dict[str, Verdict]:
    return {v.target: v for v in verdicts(results)}


def _find(found: dict[str, Verdict], *words: str) -> Verdict:
    [verdict] = [v for t, v in found.items() if all(w in t for w in words)]
    return verdict


def test_cpu_per_signup_against_the_run_of_2026_11_26() -> None:
    found = _by_target(_results(_delay(50.0)))
    assert _find(found, "0.6x", "c=8").met  # 4.9 ≤ 0.6 x 8.23
    c32 = _find(found, "0.6x", "c=32")
    assert not c32.met  # 5.5 > 0.6 x 9.00
    assert "5.40" in c32.target


def test_signup_p50_against_one_transaction() -> None:
    verdict = _find(_by_target(_results(_delay(50.0))), "TransactWriteItems alone")
    assert verdict.met  # 25 ms ≤ 1.3 x 20 ms
    assert "1.25x" in verdict.measured


def test_publish_delay_p99_at_c8_and_every_commit_published() -> None:
    found = _by_target(_results(_delay(120.0, missing=2)))
    assert _find(found, "Publish delay", "(signup").met
    record = _find(found, "Publish delay", "(record_create")
    assert not record.met
    assert "+20.00 ms" in record.miss
    unpublished = _find(found, "reaches SQS")
    assert not unpublished.met
    assert unpublished.measured.startswith("2 of 400 commits never published")


def test_publish_delay_without_any_message_is_missed() -> None:
    record = _find(_by_target(_results(_delay(None, 100))), "Publish delay", "(record_create")
    assert not record.met
    assert record.miss == "no message arrived"
