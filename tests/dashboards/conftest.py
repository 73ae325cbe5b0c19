"""The dashboard checks run on the end-to-end harness: the same fixtures, imported, not copied.

Imported fixtures make this directory's own session-scoped stack (app, collector, Prometheus),
separate from tests/e2e's: the extra traffic driven here (a note, rejected inputs) must not
change the exact totals the e2e tests compare with their ledger.
"""

from tests.dashboards.fixtures import (  # noqa: F401  (pytest finds fixtures by name)
    dashboard_traffic,
    degraded_apps,
    delivered_logs,
    worker,
)

# Every fixture of the e2e harness, whatever it grows to: this directory's tests need its stack.
from tests.e2e.conftest import *  # noqa: F403
