"""Several rounds of the same run, merged: the median of each number across rounds.

On a shared 2-core machine one measurement can be off by a third; running every configuration
once per round (so each round compares them under the same conditions) and taking medians makes
the comparison steadier. Every round's own values stay in the results under `rounds`.
"""

import statistics
from collections.abc import Sequence
from typing import Any

_NUMERIC_MEASUREMENT_FIELDS = (
    "requests",
    "seconds",
    "throughput_rps",
    "app_cpu_ms_per_request",
    "app_cpu_cores",
    "moto_cpu_ms_per_request",
    "moto_cpu_cores",
)


def _median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def merge_floors(rounds: Sequence[dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for workload, first in rounds[0].items():
        found = [r[workload] for r in rounds if workload in r]
        merged[workload] = {
            **first,
            "cpu_ms_per_op": _median([f["cpu_ms_per_op"] for f in found]),
            "wall_ms_per_op": _median([f["wall_ms_per_op"] for f in found]),
            "rounds_cpu_ms_per_op": [f["cpu_ms_per_op"] for f in found],
        }
        for name in ("transact_cpu_ms_per_op", "transact_wall_ms_per_op"):
            values = [f[name] for f in found if f.get(name) is not None]
            merged[workload][name] = _median(values) if values else None
    return merged


def _merge_measurements(found: Sequence[dict[str, Any]]) -> dict[str, Any]:
    merged = dict(found[0])
    for name in _NUMERIC_MEASUREMENT_FIELDS:
        merged[name] = _median([m[name] for m in found])
    merged["latency_ms"] = {
        k: _median([m["latency_ms"][k] for m in found]) for k in found[0]["latency_ms"]
    }
    # Errors are never averaged away: every round's count.
    merged["errors"] = sum(m["errors"] for m in found)
    merged["moto_server_errors"] = sum(m["moto_server_errors"] for m in found)
    merged["unexpected_statuses"] = " ".join(
        sorted({s for m in found for s in m["unexpected_statuses"].split()})
    )
    collectors = [m["collector_cpu_ms_per_request"] for m in found]
    merged["collector_cpu_ms_per_request"] = (
        _median([c for c in collectors if c is not None]) if any(collectors) else None
    )
    merged["publish_delay"] = merge_publish_delays([m.get("publish_delay") for m in found])
    merged["rounds_app_cpu_ms_per_request"] = [m["app_cpu_ms_per_request"] for m in found]
    merged["rounds_p99_ms"] = [m["latency_ms"]["p99"] for m in found]
    return merged


def merge_publish_delays(found: Sequence[dict[str, Any] | None]) -> dict[str, Any] | None:
    """Percentiles: the median across rounds; counts (commits, the unpublished): the sum."""
    delays = [d for d in found if d is not None]
    if not delays:
        return None
    merged: dict[str, Any] = {
        name: sum(d[name] for d in delays) for name in ("commits", "published", "missing")
    }
    merged["waited_seconds"] = max(d["waited_seconds"] for d in delays)
    for name in ("p50_ms", "p99_ms", "max_ms", "mean_ms"):
        values = [d[name] for d in delays if d[name] is not None]
        merged[name] = _median(values) if values else None
    merged["rounds_p99_ms"] = [d["p99_ms"] for d in delays]
    return merged


def merge_configuration(found: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One configuration's results from each round, merged."""
    merged = dict(found[0])
    merged["startup_seconds"] = [s for c in found for s in c["startup_seconds"]]
    # Memory: the worst round, since the target is a ceiling.
    for name in ("rss_mb_at_ready", "rss_mb_after_load", "peak_rss_mb"):
        merged[name] = max(c[name] for c in found)
    keys = [(m["workload"], m["concurrency"]) for m in found[0]["measurements"]]
    merged["measurements"] = [
        _merge_measurements(
            [m for c in found for m in c["measurements"] if (m["workload"], m["concurrency"]) == k]
        )
        for k in keys
    ]
    probes = [c["event_loop_probe"] for c in found if c.get("event_loop_probe")]
    if probes:
        merged["event_loop_probe"] = {
            **probes[0],
            "health_latency_ms": {
                k: _median([p["health_latency_ms"][k] for p in probes])
                for k in probes[0]["health_latency_ms"]
            },
            "health_errors": sum(p["health_errors"] for p in probes),
            "background_errors": sum(p["background_errors"] for p in probes),
            "rounds_health_p99_ms": [p["health_latency_ms"]["p99"] for p in probes],
        }
    return merged
