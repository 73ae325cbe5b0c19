"""The HTTP server histogram with the ``logger_app.traffic`` attribute (patient or synthetic),
so the SLOs and the staff panels built on it can leave ``logger-app verify``'s requests out.

The ASGI instrumentation computes the histogram's attributes itself, from the request, and no
hook of it reaches them; a metric View can only drop attributes. So the FastAPI instrumentation
is given this meter provider, whose request-duration histogram adds the attribute to each
measurement, read from the request's synthetic mark (``logger_app.synthetic``: the measurement
is taken in the request's context, once it has been answered). Every other instrument passes
through unchanged.
"""

from collections.abc import Callable, Sequence

from opentelemetry.context import Context
from opentelemetry.metrics import (
    CallbackT,
    Counter,
    Histogram,
    Meter,
    MeterProvider,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.util.types import Attributes

from logger_app import synthetic

# The server duration histogram under the stable HTTP conventions and under the old ones.
DURATION_HISTOGRAMS = frozenset({"http.server.request.duration", "http.server.duration"})


class _TrafficHistogram(Histogram):
    # Histogram's own __init__ is abstract: this one holds only what it delegates to.
    def __init__(self, histogram: Histogram, traffic: Callable[[], str]) -> None:
        self._histogram = histogram
        self._traffic = traffic

    def record(
        self, amount: float, attributes: Attributes = None, context: Context | None = None
    ) -> None:
        labelled = {**(attributes or {}), synthetic.HTTP_TRAFFIC_ATTRIBUTE: self._traffic()}
        self._histogram.record(amount, labelled, context)


class _TrafficMeter(Meter):
    def __init__(self, meter: Meter) -> None:
        super().__init__(meter.name, meter.version, meter.schema_url)
        self._meter = meter

    def create_histogram(
        self,
        name: str,
        unit: str = "",
        description: str = "",
        *,
        explicit_bucket_boundaries_advisory: Sequence[float] | None = None,
    ) -> Histogram:
        histogram = self._meter.create_histogram(
            name,
            unit,
            description,
            explicit_bucket_boundaries_advisory=explicit_bucket_boundaries_advisory,
        )
        if name in DURATION_HISTOGRAMS:
            return _TrafficHistogram(histogram, synthetic.traffic)
        return histogram

    def create_counter(self, name: str, unit: str = "", description: str = "") -> Counter:
        return self._meter.create_counter(name, unit, description)

    def create_up_down_counter(
        self, name: str, unit: str = "", description: str = ""
    ) -> UpDownCounter:
        return self._meter.create_up_down_counter(name, unit, description)

    def create_observable_counter(
        self,
        name: str,
        callbacks: Sequence[CallbackT] | None = None,
        unit: str = "",
        description: str = "",
    ) -> ObservableCounter:
        return self._meter.create_observable_counter(name, callbacks, unit, description)

    def create_observable_gauge(
        self,
        name: str,
        callbacks: Sequence[CallbackT] | None = None,
        unit: str = "",
        description: str = "",
    ) -> ObservableGauge:
        return self._meter.create_observable_gauge(name, callbacks, unit, description)

    def create_observable_up_down_counter(
        self,
        name: str,
        callbacks: Sequence[CallbackT] | None = None,
        unit: str = "",
        description: str = "",
    ) -> ObservableUpDownCounter:
        return self._meter.create_observable_up_down_counter(name, callbacks, unit, description)


class TrafficMeterProvider(MeterProvider):
    """``provider``'s meters, their server duration histogram labelled by traffic."""

    def __init__(self, provider: MeterProvider) -> None:
        self._provider = provider

    def get_meter(
        self,
        name: str,
        version: str | None = None,
        schema_url: str | None = None,
        attributes: Attributes = None,
    ) -> Meter:
        return _TrafficMeter(self._provider.get_meter(name, version, schema_url, attributes))
