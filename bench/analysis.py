"""The targets of the benchmark issue, checked against one run's results."""

import statistics
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

TELEMETRY_OVERHEAD_MAX = 1.15
SIGNUP_FLOOR_MAX = 1.35
STARTUP_MAX_SECONDS = 1.5
RSS_MAX_MB = 100.0
P99_GROWTH_MAX = 4.0


@dataclass(frozen=True)
class Verdict:
    target: str
    measured: str
    met: bool
    miss: str  # by how much, when missed


Key = tuple[str, str, int]  # configuration, workload, concurrency


def index(results: dict[str, Any]) -> dict[Key, dict[str, Any]]:
    return {
        (m["configuration"], m["workload"], m["concurrency"]): m
        for config in results["configurations"]
        for m in config["measurements"]
    }


def _configs(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in results["configurations"]}


def _by(value: float, limit: float, unit: str = "x") -> str:
    if unit == "x":
        return f"{value / limit:.2f}x the limit ({value:.2f}{unit} vs {limit:.2f}{unit})"
    return f"{value - limit:+.2f} {unit} over ({value:.2f} vs {limit:.2f} {unit})"


def telemetry_ratios(results: dict[str, Any], against: str = "sdk_disabled") -> dict[Key, float]:
    """CPU per request of each configuration divided by `against`'s, same workload and
    concurrency."""
    rows = index(results)
    ratios: dict[Key, float] = {}
    for (config, workload, concurrency), m in rows.items():
        base = rows.get((against, workload, concurrency))
        if config != against and base and base["app_cpu_ms_per_request"] > 0:
            ratios[config, workload, concurrency] = (
                m["app_cpu_ms_per_request"] / base["app_cpu_ms_per_request"]
            )
    return ratios


def floor_ratios(results: dict[str, Any]) -> dict[Key, float]:
    """App CPU per request over the floor (its boto3 calls alone), where there is a floor."""
    floors = results["floors"]
    return {
        key: m["app_cpu_ms_per_request"] / floors[key[1]]["cpu_ms_per_op"]
        for key, m in index(results).items()
        if key[1] in floors and floors[key[1]]["cpu_ms_per_op"] > 0
    }


def _telemetry_verdict(results: dict[str, Any]) -> Verdict | None:
    ratios = {k: v for k, v in telemetry_ratios(results).items() if k[0] == "instrumented"}
    if not ratios:
        return None
    (_, workload, concurrency), worst = max(ratios.items(), key=lambda item: item[1])
    by_workload = _median_by_workload(ratios.items())
    summary = ", ".join(f"{w} {r:.2f}x" for w, r in by_workload.items())
    met = worst <= TELEMETRY_OVERHEAD_MAX
    return Verdict(
        f"Telemetry overhead: instrumented CPU/request ≤ {TELEMETRY_OVERHEAD_MAX}x SDK-disabled",
        f"worst {worst:.2f}x ({workload}, c={concurrency}); median by workload: {summary}",
        met,
        "" if met else _by(worst, TELEMETRY_OVERHEAD_MAX),
    )


def _median_by_workload(items: Iterable[tuple[Key, float]]) -> dict[str, float]:
    grouped: dict[str, list[float]] = {}
    for (_, workload, _), value in items:
        grouped.setdefault(workload, []).append(value)
    return {w: statistics.median(v) for w, v in grouped.items()}


def _signup_verdicts(results: dict[str, Any]) -> list[Verdict]:
    verdicts = []
    ratios = floor_ratios(results)
    for config in ("sdk_disabled", "instrumented"):
        key = (config, "signup", 1)
        if key not in ratios:
            continue
        ratio = ratios[key]
        met = ratio <= SIGNUP_FLOOR_MAX
        app = index(results)[key]["app_cpu_ms_per_request"]
        floor = results["floors"]["signup"]["cpu_ms_per_op"]
        verdicts.append(
            Verdict(
                f"Sign-up CPU ≤ {SIGNUP_FLOOR_MAX}x its boto3 calls alone ({config}, c=1)",
                f"{ratio:.2f}x ({app:.2f} ms vs floor {floor:.2f} ms)",
                met,
                "" if met else _by(ratio, SIGNUP_FLOOR_MAX),
            )
        )
    return verdicts


def _startup_verdict(results: dict[str, Any]) -> Verdict | None:
    config = _configs(results).get("instrumented")
    if not config or not config["startup_seconds"]:
        return None
    median = statistics.median(config["startup_seconds"])
    met = median < STARTUP_MAX_SECONDS
    return Verdict(
        f"Start-up to /readyz 200 < {STARTUP_MAX_SECONDS} s (instrumented, median)",
        f"{median:.2f} s (each: {', '.join(f'{s:.2f}' for s in config['startup_seconds'])})",
        met,
        "" if met else _by(median, STARTUP_MAX_SECONDS, "s"),
    )


def _rss_verdict(results: dict[str, Any]) -> Verdict | None:
    config = _configs(results).get("instrumented")
    if not config:
        return None
    rss = config["rss_mb_after_load"]
    met = rss < RSS_MAX_MB
    return Verdict(
        f"RSS after the load < {RSS_MAX_MB:.0f} MiB (instrumented)",
        f"{rss:.0f} MiB (peak {config['peak_rss_mb']:.0f} MiB)",
        met,
        "" if met else _by(rss, RSS_MAX_MB, "MiB"),
    )


def _errors_verdict(results: dict[str, Any]) -> Verdict | None:
    rows = [m for m in index(results).values() if m["concurrency"] == 32]
    if not rows:
        return None
    errors = sum(m["errors"] for m in rows)
    moto = sum(m["moto_server_errors"] for m in rows)
    failing = sorted({f"{m['configuration']}/{m['workload']}" for m in rows if m["errors"]})
    return Verdict(
        "No errors at concurrency 32",
        f"{errors} errors in {sum(m['requests'] for m in rows):.0f} requests"
        + (f" ({', '.join(failing)})" if failing else "")
        + f"; moto answered 5xx {moto} times",
        errors == 0,
        "" if errors == 0 else f"{errors} errors",
    )


def _p99_verdict(results: dict[str, Any]) -> Verdict | None:
    """The target as stated, with what a closed loop implies: c connections always in flight
    mean a mean latency of c / throughput (Little's law), whatever the server does."""
    rows = index(results)
    growth = {
        key: m["latency_ms"]["p99"] / rows[key[0], key[1], 1]["latency_ms"]["p99"]
        for key, m in rows.items()
        if key[2] == 32 and (key[0], key[1], 1) in rows
    }
    if not growth:
        return None
    over_queue = [
        m["latency_ms"]["p99"] / (32_000 / m["throughput_rps"])
        for key, m in rows.items()
        if key in growth and m["throughput_rps"] > 0
    ]
    (config, workload, _), worst = max(growth.items(), key=lambda item: item[1])
    met = worst <= P99_GROWTH_MAX
    return Verdict(
        f"p99 at c=32 ≤ {P99_GROWTH_MAX:.0f}x p99 at c=1",
        f"worst {worst:.1f}x ({config}/{workload}); median "
        f"{statistics.median(growth.values()):.1f}x. At c=32, p99 is a median "
        f"{statistics.median(over_queue):.2f}x (worst {max(over_queue):.2f}x) the mean latency "
        "that 32 requests always in flight imply (32 / throughput)",
        met,
        "" if met else _by(worst, P99_GROWTH_MAX),
    )


def _event_loop_verdict(results: dict[str, Any]) -> Verdict | None:
    rows = index(results)
    probes = {
        c["name"]: c["event_loop_probe"]
        for c in results["configurations"]
        if c.get("event_loop_probe")
    }
    if not probes:
        return None
    parts, met = [], True
    for name, probe in probes.items():
        idle = rows.get((name, "health", 1))
        under = probe["health_latency_ms"]["p99"]
        bound = max(P99_GROWTH_MAX * idle["latency_ms"]["p99"], 10.0) if idle else 10.0
        met = met and under <= bound and probe["health_errors"] == 0
        parts.append(
            f"{name}: p99 {under:.1f} ms"
            + (f" (idle {idle['latency_ms']['p99']:.1f} ms)" if idle else "")
        )
    return Verdict(
        "Event loop never blocked: /healthz p99 at c=1 while sign-ups run at c=32 "
        f"≤ max({P99_GROWTH_MAX:.0f}x its idle p99, 10 ms) (added check)",
        "; ".join(parts),
        met,
        "" if met else "see the probe's latency",
    )


def verdicts(results: dict[str, Any]) -> list[Verdict]:
    found = [
        _telemetry_verdict(results),
        *_signup_verdicts(results),
        _startup_verdict(results),
        _rss_verdict(results),
        _errors_verdict(results),
        _p99_verdict(results),
        _event_loop_verdict(results),
    ]
    return [v for v in found if v is not None]


def summary(results: dict[str, Any]) -> dict[str, Any]:
    """What the JSON keeps beside the raw measurements."""

    def flat(ratios: dict[Key, float]) -> dict[str, float]:
        return {f"{c}/{w}/{n}": round(r, 3) for (c, w, n), r in ratios.items()}

    return {
        "targets": [asdict(v) for v in verdicts(results)],
        "cpu_ratio_vs_sdk_disabled": flat(telemetry_ratios(results)),
        "cpu_ratio_vs_floor": flat(floor_ratios(results)),
    }
