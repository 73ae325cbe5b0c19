"""HTTP server metric names, which depend on the semantic conventions the app opts into
(`OTEL_SEMCONV_STABILITY_OPT_IN` among `logger-app serve`'s defaults): the dashboards follow the
app, and regenerating them after the app switches changes the committed JSON."""

from logger_app.cli import TELEMETRY_DEFAULTS

_OPT_IN = {
    v.strip() for v in TELEMETRY_DEFAULTS.get("OTEL_SEMCONV_STABILITY_OPT_IN", "").split(",")
}
STABLE_HTTP = bool(_OPT_IN & {"http", "http/dup"})

if STABLE_HTTP:
    REQUEST_DURATION = "http_server_request_duration_seconds"
    DURATION_UNIT = "s"
    ROUTE = "http_route"
    STATUS = "http_response_status_code"
else:
    REQUEST_DURATION = "http_server_duration_milliseconds"
    DURATION_UNIT = "ms"
    # The old conventions put the route template (not the raw path) in http.target on metrics.
    ROUTE = "http_target"
    STATUS = "http_status_code"

REQUESTS = f"{REQUEST_DURATION}_count"
REQUEST_BUCKETS = f"{REQUEST_DURATION}_bucket"
