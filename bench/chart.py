"""The PNG chart: CPU per request and latency, by workload, configuration and concurrency."""

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench.analysis import index

COLOURS = {"instrumented": "#d95f02", "sdk_disabled": "#1b9e77", "bare": "#7570b3"}


def draw(results: dict[str, Any], path: Path) -> Path:
    rows = index(results)
    configs = [c["name"] for c in results["configurations"]]
    workloads = list(results["plan"]["workloads"])
    concurrencies = list(results["plan"]["concurrencies"])
    floors = results["floors"]
    figure, axes = plt.subplots(
        2, len(concurrencies), figsize=(5.5 * len(concurrencies), 8), squeeze=False
    )
    width = 0.8 / max(len(configs), 1)
    positions = range(len(workloads))
    for column, concurrency in enumerate(concurrencies):
        cpu_axis, latency_axis = axes[0][column], axes[1][column]
        for n, config in enumerate(configs):
            offsets = [p + (n - (len(configs) - 1) / 2) * width for p in positions]
            found = [rows.get((config, w, concurrency)) for w in workloads]
            cpu = [m["app_cpu_ms_per_request"] if m else 0 for m in found]
            p99 = [m["latency_ms"]["p99"] if m else 0 for m in found]
            p50 = [m["latency_ms"]["p50"] if m else 0 for m in found]
            colour = COLOURS.get(config, "grey")
            cpu_axis.bar(offsets, cpu, width, label=config, color=colour)
            latency_axis.bar(offsets, p99, width, label=f"{config} p99", color=colour)
            latency_axis.scatter(offsets, p50, color="black", s=10, zorder=3)
        for p, workload in zip(positions, workloads, strict=True):
            if workload in floors:
                floor = floors[workload]["cpu_ms_per_op"]
                cpu_axis.hlines(floor, p - 0.45, p + 0.45, colors="black", linestyles="dashed")
        cpu_axis.set_title(f"App CPU per request, c={concurrency} (dashed: boto3 floor)")
        latency_axis.set_title(f"Latency p99 (bars) and p50 (dots), c={concurrency}")
        cpu_axis.set_ylabel("CPU ms / request")
        latency_axis.set_ylabel("ms (log)")
        latency_axis.set_yscale("log")
        for axis in (cpu_axis, latency_axis):
            axis.set_xticks(list(positions), workloads, rotation=20, fontsize=8)
            axis.grid(axis="y", alpha=0.3)
    axes[0][0].legend(fontsize=8)
    figure.suptitle(
        f"logger-app benchmark {results['started_at']} "
        f"({results['machine']['cores']} cores, moto as AWS)"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
