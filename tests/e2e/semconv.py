"""HTTP server telemetry names under the stable HTTP semantic conventions, which
`logger-app serve` opts into (`OTEL_SEMCONV_STABILITY_OPT_IN=http`, pinned by
tests/unit/test_cli.py)."""

HTTP_DURATION_BUCKET = "http_server_request_duration_seconds_bucket"
HTTP_ROUTE_LABEL = "http_route"
SERVER_STATUS_ATTRIBUTE = "http.response.status_code"
