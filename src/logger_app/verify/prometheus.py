"""Prometheus (the local stand-in for AMP): the journey's counters moved.

Counters are cumulative, so the sink reads them when made, before the journey, and waits for
each to grow. Other traffic moves them too: this proves the path from the app to Prometheus
works, not which increment was the journey's.
"""

from logger_app.verify import web
from logger_app.verify.sinks import Journey

# Summed over every label (outcome, kind, environment, ...): a label added later changes nothing.
COUNTERS = {
    "sign-ups": "sum(logger_app_signups_total)",
    "records": "sum(logger_app_records_total)",
}


class PrometheusSink:
    name = "prometheus"

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.baseline: dict[str, float] | None
        try:
            self.baseline = {what: self._value(query) for what, query in COUNTERS.items()}
            self._baseline_error = ""
        except _Unreachable as error:
            self.baseline = None
            self._baseline_error = str(error)

    def _value(self, query: str) -> float:
        """The query's value; 0 while the series does not exist yet."""
        try:
            response = web.get(f"{self.url}/api/v1/query", {"query": query})
        except web.UnreachableError as error:
            raise _Unreachable(f"Prometheus {self.url} unreachable: {error}") from None
        if response.status != 200:
            raise _Unreachable(
                f"Prometheus {self.url} answered {response.status}: {response.text[:200]}"
            )
        result = response.json()["data"]["result"]
        return float(result[0]["value"][1]) if result else 0.0

    def missing(self, journey: Journey) -> str | None:
        if self.baseline is None:
            return f"{self._baseline_error} before the journey, so its counters cannot be compared"
        try:
            still = [
                f"{what} ({COUNTERS[what]} still {before:g})"
                for what, before in self.baseline.items()
                if self._value(COUNTERS[what]) <= before
            ]
        except _Unreachable as error:
            return str(error)
        if still:
            return (
                "counters did not move: " + ", ".join(still) + "; is the collector running and "
                "its remote write reaching Prometheus?"
            )
        return None


class _Unreachable(Exception):
    pass
