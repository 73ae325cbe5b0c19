"""The event queue's depth gauge: registered by the worker's main, read from what the queue
last found (the SQS calls themselves: tests/integration/worker/test_consumer.py)."""

import subprocess
import sys
import textwrap

from logger_app.settings import Settings
from logger_app.worker.queue import EventQueue
from tests.unit.worker.doubles import RecordingSqs

# Runs in a process of its own: the SDK keeps the first gauge of a name for the process.
GAUGES = textwrap.dedent(
    """
    import importlib, pkgutil
    from opentelemetry import metrics
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))

    def gauges():
        # What the SDK reads from the depth gauge, and whether the gauge is registered.
        from logger_app.metrics import _readers

        data = reader.get_metrics_data()
        return {
            m.name: sorted((dict(p.attributes)["queue"], p.value) for p in m.data.data_points)
            for r in (data.resource_metrics if data else []) for s in r.scope_metrics
            for m in s.metrics if m.name == "logger_app.queue.depth"
        }, "logger_app.queue.depth" in _readers

    import logger_app.worker
    for module in pkgutil.iter_modules(getattr(logger_app.worker, "__path__", [])):
        if module.name != "__main__":
            importlib.import_module("logger_app.worker." + module.name)
    print(gauges())
    """
)


def gauges_after(code: str) -> list[str]:
    ran = subprocess.run(
        [sys.executable, "-c", GAUGES + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return ran.stdout.splitlines()


def test_importing_the_worker_registers_no_queue_gauge() -> None:
    assert gauges_after("") == ["({}, False)"]


def test_the_queue_reports_the_depths_it_last_read_once_observed() -> None:
    code = """
        from logger_app.settings import Settings
        from logger_app.worker.queue import EventQueue
        from tests.unit.worker.doubles import RecordingSqs

        sqs = RecordingSqs([])
        queue = EventQueue(sqs, sqs, Settings(), queue_url="https://sqs.example/events")
        queue.read_depths()
        print(gauges())
        queue.observe_depth()
        print(gauges())
    """
    assert gauges_after(code)[1:] == [
        "({}, False)",
        "({'logger_app.queue.depth': [('dead_letter', 7), ('events', 7)]}, True)",
    ]


def test_the_dead_letter_queue_is_found_from_the_redrive_policy() -> None:
    sqs = RecordingSqs([], limit=4)
    queue = EventQueue(sqs, sqs, Settings(), queue_url="https://sqs.example/events")

    queue.read_depths()

    assert queue.receive_limit == 4
    assert queue.depths == {"events": 7, "dead_letter": 7}
    assert sqs.called("get_queue_url") == [{"QueueName": "dlq"}]
