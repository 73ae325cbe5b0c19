"""Data source references shared by every dashboard.

Panels name data sources by uid only, without a plugin type: the local stack's Prometheus
(`prometheus`) and AWS's Amazon Managed Prometheus (`grafana-amazonprometheus-datasource`) are
provisioned under the same uid, so one dashboard file serves both (Grafana resolves by uid).
"""

from grafana_foundation_sdk.models.dashboard import DataSourceRef

PROMETHEUS_UID = "prometheus"
LOKI_UID = "loki"

PROMETHEUS = DataSourceRef(uid=PROMETHEUS_UID)
LOKI = DataSourceRef(uid=LOKI_UID)
