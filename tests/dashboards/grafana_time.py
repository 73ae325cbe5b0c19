"""Grafana's built-in time variables for one panel, computed the way Grafana computes them, so
the checks run each query over the window Grafana would give it (never a convenient constant).

Sources (Grafana documentation):
- "Global variables": $__range is the panel's time range (`to - from`, in seconds);
  $__interval is that range divided by the panel's resolution (max data points, by default its
  width in pixels), rounded to a "nice" interval, and never below the panel's min interval or,
  when the panel sets none, the data source's `timeInterval` (scrape interval).
- "Prometheus template variables": $__rate_interval = max($__interval + scrape interval,
  4 x scrape interval), the scrape interval being the data source's `timeInterval`.
- Loki's $__auto is $__interval for range queries.
A panel's relative time (`timeFrom`: "1h", or "now/d" for today) replaces the dashboard's range.
Widths assume a 1920-pixel-wide browser (Grafana's grid has 24 columns).
"""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

SCREEN_WIDTH_PX = 1920
GRID_COLUMNS = 24
REPO = Path(__file__).resolve().parents[2]
DATASOURCES = REPO / "grafana" / "provisioning" / "local" / "datasources" / "datasources.yaml"
DURATION = re.compile(r"^(\d+)([smhdw])$")
SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# Grafana's rounding of a raw interval (ms) to a nice one: (upper bound, result), ascending.
NICE_INTERVALS_MS = [
    (1_500, 1_000),
    (3_500, 2_000),
    (7_500, 5_000),
    (12_500, 10_000),
    (17_500, 15_000),
    (25_000, 20_000),
    (45_000, 30_000),
    (90_000, 60_000),
    (210_000, 120_000),
    (450_000, 300_000),
    (900_000, 600_000),
    (1_200_000, 900_000),
    (1_800_000, 1_200_000),
    (3_600_000, 1_800_000),
    (5_400_000, 3_600_000),
    (9_000_000, 7_200_000),
    (16_200_000, 10_800_000),
    (32_400_000, 21_600_000),
    (86_400_000, 43_200_000),
    (604_800_000, 86_400_000),
]


def seconds(duration: str) -> int:
    match = DURATION.match(duration)
    assert match, f"not a duration: {duration}"
    return int(match[1]) * SECONDS[match[2]]


def scrape_interval_seconds() -> int:
    """The Prometheus data source's timeInterval, as provisioned."""
    config = yaml.safe_load(DATASOURCES.read_text())
    [prometheus] = [d for d in config["datasources"] if d["uid"] == "prometheus"]
    return seconds(prometheus["jsonData"]["timeInterval"])


def range_start(relative: str, now: datetime) -> datetime:
    """Where a relative range ("now-6h", "6h", "now/d", "now/w") starts; UTC is the company's
    time zone in these checks."""
    if relative in {"now/d", "now/w"}:
        midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return midnight - timedelta(days=midnight.weekday()) if relative == "now/w" else midnight
    return now - timedelta(seconds=seconds(relative.removeprefix("now-")))


def nice_interval_ms(raw_ms: float) -> int:
    for upper, nice in NICE_INTERVALS_MS:
        if raw_ms < upper:
            return nice
    return 604_800_000


def builtins(dashboard_from: str, panel: dict[str, object], now: datetime) -> dict[str, str]:
    """$__range, $__interval, $__rate_interval and $__auto for one panel, at `now`."""
    start = range_start(str(panel.get("timeFrom") or dashboard_from), now)
    range_s = max(1, round((now - start).total_seconds()))
    width = int(dict(panel.get("gridPos") or {}).get("w", 12))
    resolution = int(panel.get("maxDataPoints") or SCREEN_WIDTH_PX * width // GRID_COLUMNS)
    scrape_s = scrape_interval_seconds()
    low_limit_s = seconds(str(panel["interval"])) if panel.get("interval") else scrape_s
    interval_s = max(nice_interval_ms(range_s * 1000 / resolution) // 1000, low_limit_s)
    rate_interval_s = max(interval_s + scrape_s, 4 * scrape_s)
    return {
        "__range": f"{range_s}s",
        "__interval": f"{interval_s}s",
        "__rate_interval": f"{rate_interval_s}s",
        "__auto": f"{interval_s}s",
    }
