"""The counters check, against any Prometheus-compatible query API: Prometheus itself (the
local stand-in for AMP), or AMP with SigV4-signed GETs (amp.py).

Counters are cumulative: the sink reads them in `before()`, called before the journey, and then
waits for each to grow. Only synthetic traffic moves them, so another verify running at the same
time is the one thing that could be mistaken for this journey.
"""

import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from logger_app.verify import web
from logger_app.verify.sinks import Journey

# The headers to add to a GET of this URL (SigV4 for AMP, none for a plain Prometheus).
Headers = Callable[[str], Mapping[str, str]]
# (labels, value) per series of an instant vector.
Sample = tuple[dict[str, str], float]
# An instant query: the API's base URL (ending in /api/v1), PromQL, the headers to add.
Query = Callable[[str, str, Headers], list[Sample]]


class QueryError(Exception):
    """A query the API did not answer: `status` is its HTTP status, None when unreachable."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def no_headers(_: str) -> Mapping[str, str]:
    return {}


def instant_query(api: str, expression: str, headers: Headers = no_headers) -> list[Sample]:
    """Evaluate PromQL now against a Prometheus-compatible API (its bodies never logged)."""
    # %20, never +, for a space: SigV4's canonical query string is percent-encoded.
    query = urllib.parse.urlencode({"query": expression}, quote_via=urllib.parse.quote)
    url = f"{api}/query?{query}"
    try:
        answer = web.request("GET", url, headers=headers(url))
    except web.UnreachableError as error:
        raise QueryError(f"unreachable ({error})") from None
    if answer.status != 200:
        raise QueryError(f"HTTP {answer.status}", answer.status)
    try:
        body = answer.json()
        data = body["data"]
        if body["status"] != "success" or data["resultType"] != "vector":
            raise ValueError
        return [
            ({str(k): str(v) for k, v in item["metric"].items()}, float(item["value"][1]))
            for item in data["result"]
        ]
    except (KeyError, TypeError, ValueError, IndexError):
        raise QueryError("not a Prometheus API answer (no instant vector)") from None


@dataclass(frozen=True)
class Counter:
    what: str  # as the report names it
    expression: str  # PromQL whose value grows by one journey


# The journey's sign-up and record, counted as synthetic traffic (docs/telemetry.md): only
# verify's client moves these. The worker is a sink of its own (its line in Loki or
# CloudWatch), so a stopped worker is never reported as a metrics path gone.
COUNTERS = (
    Counter("sign-ups", 'sum(logger_app_signups_total{outcome="created",traffic="synthetic"})'),
    Counter("records", 'sum(logger_app_records_total{outcome="created",traffic="synthetic"})'),
)


class CounterSink:
    """The journey's counters moved in the store behind `api` (its URL ending in /api/v1)."""

    name = "prometheus"
    # What a store whose counters do not move most likely lacks.
    stalled_because = "is the collector running and its remote write reaching Prometheus?"

    def __init__(
        self,
        api: str,
        *,
        headers: Headers = no_headers,
        query: Query = instant_query,
        counters: tuple[Counter, ...] = COUNTERS,
    ) -> None:
        self.api = api.rstrip("/")
        self._headers = headers
        self._query = query
        self._counters = counters
        self._baseline: dict[str, float] | None = None
        self._baseline_failure = "before() was not called before the journey"

    def _read(self) -> dict[str, float]:
        # A counter with no series yet reads zero: the first count makes it appear.
        return {
            c.what: sum(v for _, v in self._query(self.api, c.expression, self._headers))
            for c in self._counters
        }

    def failure(self, error: Exception) -> str:
        """A failed query, in words (never its body: it may quote the query)."""
        return f"{self.name} at {self.api} did not answer the query: {error}"

    def before(self) -> None:
        """Read the counters before the journey; a failure is reported by `missing`."""
        try:
            self._baseline = self._read()
        except Exception as error:
            self._baseline = None
            self._baseline_failure = self.failure(error)

    def missing(self, journey: Journey) -> str | None:
        if self._baseline is None:
            return f"no reading of the counters before the journey: {self._baseline_failure}"
        try:
            now = self._read()
        except Exception as error:  # an unreachable sink is a missing one
            return self.failure(error)
        still = [what for what, value in now.items() if value <= self._baseline[what]]
        if still:
            counters = "counter has" if len(still) == 1 else "counters have"
            return f"the {', '.join(still)} {counters} not moved ({self.stalled_because})"
        return None


def prometheus_sink(url: str) -> CounterSink:
    return CounterSink(f"{url.rstrip('/')}/api/v1")
