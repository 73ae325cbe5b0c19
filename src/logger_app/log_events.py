"""What the JSON log lines say that ``logger-app verify`` reads in the sinks: the ``service`` of
each process (its ``OTEL_SERVICE_NAME``) and the names (``event``) of the lines it looks for."""

API_SERVICE = "logger-app"
WORKER_SERVICE = "logger-app-worker"
# The request log's line of each request (request_log.py).
HTTP_REQUEST = "http.request"
# The worker's line of an event it handled (worker/consumer.py).
WORKER_PROCESSED = "worker.processed"
