"""The meter provider the FastAPI instrumentation is given: its server duration histogram (under
the stable HTTP conventions, as in production, and the old ones) is labelled by traffic, and
nothing else changes."""

import contextvars

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from logger_app import synthetic
from logger_app.traffic_meter import TrafficMeterProvider


def _points(reader: InMemoryMetricReader) -> dict[str, list[dict[str, object]]]:
    data = reader.get_metrics_data()
    assert data is not None
    return {
        metric.name: [dict(point.attributes or {}) for point in metric.data.data_points]
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }


def test_the_duration_histograms_say_which_traffic_and_nothing_else_changes() -> None:
    reader = InMemoryMetricReader()
    meter = TrafficMeterProvider(MeterProvider(metric_readers=[reader])).get_meter("test")
    stable = meter.create_histogram("http.server.request.duration", unit="s")
    old = meter.create_histogram("http.server.duration", unit="ms")
    size = meter.create_histogram("http.server.response.body.size", unit="By")
    active = meter.create_up_down_counter("http.server.active_requests")
    route = {"http.route": "/v1/signups"}

    def request(synthetic_request: bool) -> None:
        synthetic.begin_request()
        if synthetic_request:
            synthetic.mark()
        stable.record(0.1, route)
        if synthetic_request:
            old.record(200, route)
            size.record(10, route)
            active.add(1, route)

    # Each in a context of its own, as each request is.
    contextvars.copy_context().run(request, False)
    contextvars.copy_context().run(request, True)

    points = _points(reader)
    assert sorted(str(p["logger_app.traffic"]) for p in points["http.server.request.duration"]) == [
        "patient",
        "synthetic",
    ]
    assert points["http.server.duration"] == [{**route, "logger_app.traffic": "synthetic"}]
    assert points["http.server.response.body.size"] == [route]
    assert points["http.server.active_requests"] == [route]
