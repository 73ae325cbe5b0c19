"""The AMP check: the journey's counters moved in the workspace, read through its
Prometheus-compatible query API with SigV4-signed GETs (service `aps`): prometheus.py's check,
signed, with AWS's reasons for a refusal."""

from logger_app.verify.aws import why_failed
from logger_app.verify.prometheus import (
    COUNTERS,
    Counter,
    CounterSink,
    Headers,
    Query,
    QueryError,
    instant_query,
)
from logger_app.verify.sigv4 import SigV4Headers


def workspace_api(region: str, workspace: str) -> str:
    return f"https://aps-workspaces.{region}.amazonaws.com/workspaces/{workspace}/api/v1"


class AmpSink(CounterSink):
    name = "amp"
    stalled_because = (
        "the collector's remote write failing, e.g. no aps:RemoteWrite, or its export interval "
        "not yet passed"
    )

    def __init__(
        self,
        *,
        region: str,
        workspace: str,
        api: str | None = None,
        headers: Headers | None = None,
        query: Query = instant_query,
        counters: tuple[Counter, ...] = COUNTERS,
    ) -> None:
        super().__init__(
            api or workspace_api(region, workspace),
            headers=headers or SigV4Headers(service="aps", region=region),
            query=query,
            counters=counters,
        )
        self._workspace = workspace

    def failure(self, error: Exception) -> str:
        if isinstance(error, QueryError):
            if error.status == 403:
                return "the task role lacks aps:QueryMetrics (HTTP 403)"
            if error.status == 404:
                return f"no AMP workspace {self._workspace} in this region (HTTP 404)"
            return f"AMP query failed: {error}"
        return why_failed(error, service="AMP", permission="aps:QueryMetrics")
