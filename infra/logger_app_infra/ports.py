"""Container ports, shared by the task definitions and the security group rules."""

APP_PORT = 8000
LOKI_PORT = 3100
GRAFANA_PORT = 3000
