"""HTTP server telemetry names, which depend on the semantic conventions the app opts into
(`OTEL_SEMCONV_STABILITY_OPT_IN`, set by `logger-app serve` if at all): the tests follow the
app's own defaults, so they stay exact whichever the app chooses."""

from logger_app.cli import TELEMETRY_DEFAULTS

_OPT_IN = {
    v.strip() for v in TELEMETRY_DEFAULTS.get("OTEL_SEMCONV_STABILITY_OPT_IN", "").split(",")
}
STABLE_HTTP = bool(_OPT_IN & {"http", "http/dup"})

if STABLE_HTTP:
    HTTP_DURATION_BUCKET = "http_server_request_duration_seconds_bucket"
    HTTP_ROUTE_LABEL = "http_route"
    SERVER_STATUS_ATTRIBUTE = "http.response.status_code"
else:
    HTTP_DURATION_BUCKET = "http_server_duration_milliseconds_bucket"
    # The old conventions put the route template (not the raw path) in http.target on metrics.
    HTTP_ROUTE_LABEL = "http_target"
    SERVER_STATUS_ATTRIBUTE = "http.status_code"
