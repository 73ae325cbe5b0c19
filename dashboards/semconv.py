"""HTTP server metric names under the stable HTTP semantic conventions, which `logger-app serve`
opts into (`OTEL_SEMCONV_STABILITY_OPT_IN=http`, pinned by tests/unit/test_cli.py)."""

REQUEST_DURATION = "http_server_request_duration_seconds"
DURATION_UNIT = "s"
ROUTE = "http_route"
STATUS = "http_response_status_code"

REQUESTS = f"{REQUEST_DURATION}_count"
REQUEST_BUCKETS = f"{REQUEST_DURATION}_bucket"
