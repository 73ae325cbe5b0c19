"""The alert checks' end-to-end stack: tests/e2e's fixtures, imported, with the app's AWS calls
going through the fault proxy (tests/faults.py) in front of moto, so a test can throttle
DynamoDB or take SQS down for real. Its own session, apart from tests/e2e's: the failures it
causes must not change the totals the e2e tests compare with their ledger.

The promtool tests of this directory use none of these fixtures (they start nothing)."""

from collections.abc import Iterator

import pytest

from harness.emulator import bootstrap, moto_server

# Every fixture of the e2e harness: the app, the collector, Prometheus with the rules, the
# Alertmanager and its webhook receiver.
from tests.e2e.conftest import *  # noqa: F403
from tests.faults import FaultProxy, fault_proxy


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        bootstrap(endpoint)
        yield endpoint


@pytest.fixture(scope="session")
def faults(moto_endpoint: str) -> Iterator[FaultProxy]:
    with fault_proxy(moto_endpoint) as proxy:
        yield proxy


@pytest.fixture(scope="session")
def aws_endpoint(faults: FaultProxy) -> str:  # replaces tests/e2e's: the app goes through faults
    return faults.url
