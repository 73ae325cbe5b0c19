"""The ASGI application: ``logger_app.main:app``.

Created when uvicorn first reads ``app`` (after ``opentelemetry-instrument`` has configured the
SDK and instrumented botocore), so that importing ``create_app`` needs no configuration; the
FastAPI instrumentation is applied in ``create_app``.
"""

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI
from opentelemetry import metrics as otel_metrics
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

from logger_app import metrics
from logger_app.audit import AuditLog
from logger_app.auth.dependency import audited_routes
from logger_app.auth.tokens import Authenticator
from logger_app.aws import require_region_and_credentials
from logger_app.body_limit import BodySizeLimit
from logger_app.clock import utc_now
from logger_app.docs_ui import install_docs
from logger_app.logs import configure_logging
from logger_app.problems import install_problem_handlers
from logger_app.request_log import RequestLog
from logger_app.routes import health, records, signups
from logger_app.services import Services
from logger_app.settings import ApiSettings, get_api_settings
from logger_app.trace_response import TraceResponse
from logger_app.trace_sampling import keep_failed_traces
from logger_app.tracing import NO_HEADERS, server_request_hook
from logger_app.traffic_meter import TrafficMeterProvider

logger = logging.getLogger(__name__)


def create_app(
    settings: ApiSettings | None = None, *, clock: Callable[[], str] = utc_now
) -> FastAPI:
    """``clock`` gives the records' timestamps: the server's time, unless a test gives its own
    (two records at one id and timestamp, a clash, cannot be made to happen otherwise)."""
    settings = settings or get_api_settings()
    configure_logging(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        metrics.start_counting_requests()
        services = Services.create(settings, clock)
        services.publisher.observe_backlog()
        # The dashboards mark deploys and restarts with this line.
        logger.info("service started", extra={"event": "service.started"})
        app.state.services = services
        async with anyio.create_task_group() as background:
            background.start_soon(
                services.publisher.run,
                settings.outbox_drain_interval_seconds,
                settings.outbox_min_age_seconds,
            )
            yield
            # uvicorn has finished the in-flight requests: send the batch still lingering,
            # then whatever else is pending.
            background.cancel_scope.cancel()
        with anyio.move_on_after(settings.shutdown_drain_seconds):
            await services.publisher.flush()
            await services.publisher.drain()

    app = FastAPI(
        title="logger-app",
        version="1.0.0",
        summary="Patient sign-ups and patient-doctor interaction records.",
        lifespan=lifespan,
        # Served by install_docs, from the app's own files rather than a CDN.
        docs_url=None,
        redoc_url=None,
    )
    install_docs(app)
    app.state.authenticator = Authenticator(settings)
    install_problem_handlers(app, settings)
    app.include_router(signups.router)
    app.include_router(records.router)
    app.include_router(health.router)
    # Outermost last: the audit line sees every answer, the body limit's included.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    phi_routes = [*signups.router.routes, *records.router.routes]
    app.add_middleware(AuditLog, routes=audited_routes(phi_routes))
    app.add_middleware(RequestLog, skip_paths=health.HEALTH_PATHS)
    # Inside the server span (the instrumentation wraps the whole app), around every answer.
    app.add_middleware(TraceResponse)
    # The FastAPI instrumentation is applied here rather than by opentelemetry-instrument
    # (OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=fastapi) because only here can it leave out the
    # per-message `http send` / `http receive` spans: half the spans of a trace, costing CPU on
    # every request and telling a reader nothing. The server span and its metrics stay, with
    # neither the query string nor any header (tracing.py); its duration histogram is labelled
    # by traffic (traffic_meter.py), for the SLOs to leave synthetic requests out.
    FastAPIInstrumentor.instrument_app(
        app,
        excluded_urls=",".join(path.lstrip("/") for path in health.HEALTH_PATHS),
        exclude_spans=["receive", "send"],
        server_request_hook=server_request_hook,
        http_capture_headers_server_request=NO_HEADERS,
        http_capture_headers_server_response=NO_HEADERS,
        meter_provider=TrafficMeterProvider(otel_metrics.get_meter_provider()),
    )
    return app


def __getattr__(name: str) -> FastAPI:
    # PEP 562: `logger_app.main:app`, made once, on first use.
    if name == "app":
        settings = get_api_settings()  # its configuration errors first
        # Here, not in create_app: only the served app exports through opentelemetry-instrument's
        # processor (the tests' apps keep the span processors their tests installed).
        keep_failed_traces(settings.traces_successful_per_second)
        application = create_app(settings)
        # Before the lifespan, whose failures uvicorn reports with a traceback.
        require_region_and_credentials(settings)
        globals()["app"] = application
        return application
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
