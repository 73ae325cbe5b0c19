"""Laying rows and panels out on a dashboard, in reading order."""

from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.models.dashboard import Panel

Item = dashboard_builders.Row | Builder[Panel]


def add_all(board: dashboard_builders.Dashboard, items: list[Item]) -> dashboard_builders.Dashboard:
    """A row starts a new section; the panels after it flow left to right into it."""
    for item in items:
        if isinstance(item, dashboard_builders.Row):
            board = board.with_row(item)
        else:
            board = board.with_panel(item)
    return board
