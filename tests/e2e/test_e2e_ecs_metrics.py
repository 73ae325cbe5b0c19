"""The ECS container metrics: the receiver reads the (stand-in) task metadata endpoint, the
filter keeps the dashboards' metrics only, and the series are per service and container name,
with the task only as `instance`."""

import pytest

from tests.collector.otelcol import MAY_BUILD_COLLECTOR
from tests.e2e.app import PER_TASK_LABELS
from tests.e2e.ecs_metadata import CONTAINERS, TASK_ID
from tests.e2e.processes import poll
from tests.e2e.prometheus import Prometheus

pytestmark = [pytest.mark.e2e, MAY_BUILD_COLLECTOR, pytest.mark.usefixtures("collector")]

# Names as the remote-write exporter writes them: the receiver's units become suffixes.
KEPT = {
    "ecs_task_cpu_utilized_None",
    "ecs_task_cpu_reserved_None",
    "ecs_task_memory_utilized_Megabytes",
    "ecs_task_memory_reserved_Megabytes",
    "ecs_task_network_rate_rx_Bytes_per_Second",
    "ecs_task_network_rate_tx_Bytes_per_Second",
    "container_cpu_utilized_None",
    "container_memory_utilized_Megabytes",
}


def _ecs_names(prometheus: Prometheus) -> set[str]:
    return {n for n in prometheus.metric_names() if n.startswith(("ecs_", "container_"))}


def test_the_filter_keeps_exactly_the_dashboard_metrics(prometheus: Prometheus) -> None:
    names = poll(lambda: _ecs_names(prometheus), until=lambda found: found >= KEPT)
    assert names == KEPT


def test_container_metrics_are_per_container_name(prometheus: Prometheus) -> None:
    metric = "container_memory_utilized_Megabytes"
    series = poll(
        lambda: prometheus.series(metric), until=lambda found: len(found) >= len(CONTAINERS)
    )
    assert sorted(s["container_name"] for s in series) == sorted(CONTAINERS)
    for labels in series:
        assert labels["job"] == "logger-app"
        assert labels["instance"] == TASK_ID  # from aws.ecs.task.id: one series per task
        assert labels["deployment_environment"] == "e2e"
        # container_name is the task definition's name here, the same in every task.
        assert not (PER_TASK_LABELS - {"container_name"}) & labels.keys(), sorted(labels)


def test_task_values_come_from_the_metadata_endpoint(prometheus: Prometheus) -> None:
    def value(metric: str) -> float | None:
        samples = prometheus.query(metric)
        return samples[0].value if samples else None

    # The stand-in task has 1024 MiB; each of its 3 containers uses 200 MiB less 10 MiB cache.
    assert poll(lambda: value("ecs_task_memory_reserved_Megabytes"), until=bool) == 1024
    assert poll(lambda: value("ecs_task_memory_utilized_Megabytes"), until=bool) == 3 * 190
