"""Real faults, real alerts: the app throttled by DynamoDB or cut off from SQS (through the fault
proxy), its metrics through the collector into Prometheus, which evaluates the rules file (on
the harness's faster clock, tests/e2e/rules.py) and sends to Alertmanager, which routes by
severity to a webhook this test runs. Each alert is seen pending, then firing in Prometheus's
/api/v1/alerts, then received by the webhook; after the fault it resolves in Prometheus and the
webhook receives the resolution."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import yaml

from dashboards.alerts import QUERY as STAFF_PANEL_QUERY
from dashboards.alerts import alert_words
from tests.collector.otelcol import MAY_BUILD_COLLECTOR
from tests.dashboards.queries import substitute
from tests.durations import seconds
from tests.e2e.alertmanager import Notification, WebhookReceiver
from tests.e2e.app import App
from tests.e2e.processes import poll
from tests.e2e.prometheus import Prometheus
from tests.e2e.rules import RULES_FILE, TIME_SCALE
from tests.e2e.traffic import new_patient
from tests.faults import FaultProxy
from tests.support import auth_headers

pytestmark = [pytest.mark.e2e, MAY_BUILD_COLLECTOR]

WRITE = "DynamoDB_20120810.TransactWriteItems"
SEND = "AmazonSQS.Send"  # SendMessage and SendMessageBatch
RULES = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
ENVIRONMENT = "e2e"


def _rule(name: str) -> dict[str, Any]:
    [rule] = [r for g in RULES["groups"] for r in g["rules"] if r.get("alert") == name]
    return rule


class SignUps:
    """Sign-ups posted one after another in a background thread, while a test waits."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.statuses: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30, headers=auth_headers()) as client:
            while not self._stop.is_set():
                response = client.post("/v1/signups", json=new_patient())
                self.statuses.append(response.status_code)
                self._stop.wait(0.2)

    def __enter__(self) -> "SignUps":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)


@contextmanager
def fault(faults: FaultProxy, target: str, kind: str) -> Iterator[None]:
    faults.inject(target, kind)  # type: ignore[arg-type]
    try:
        yield
    finally:
        faults.clear()


def _states(prometheus: Prometheus, name: str) -> set[str]:
    return {a["state"] for a in prometheus.alerts() if a["labels"]["alertname"] == name}


def _watch(prometheus: Prometheus, name: str, until: str, timeout: float) -> list[str]:
    """The states the alert goes through (none, pending, firing), in order, until `until`."""
    seen: list[str] = []

    def read() -> list[str]:
        states = _states(prometheus, name)
        state = "firing" if "firing" in states else "pending" if "pending" in states else "none"
        if not seen or seen[-1] != state:
            seen.append(state)
        return seen

    return poll(read, until=lambda s: s[-1] == until, timeout=timeout, every=0.25)


def _received(webhook: WebhookReceiver, name: str, status: str) -> list[Notification]:
    return [
        n
        for n in webhook.notifications()
        if any(a["labels"]["alertname"] == name and a["status"] == status for a in n.alerts)
    ]


def _alert(notification: Notification, name: str) -> dict[str, Any]:
    return next(a for a in notification.alerts if a["labels"]["alertname"] == name)


def _timeout(rule: dict[str, Any], slack: float = 60) -> float:
    """Long enough for the rule's (scaled) 5-minute window and `for`, the collector's batching
    and a loaded machine."""
    return (300 + seconds(rule.get("for", "0s"))) / TIME_SCALE + slack


def test_prometheus_loads_every_alert_of_the_rules_file(prometheus: Prometheus) -> None:
    names = {r["alert"] for g in RULES["groups"] for r in g["rules"] if "alert" in r}
    assert poll(prometheus.alerting_rules, until=lambda got: names <= got) >= names


# What must stay quiet while everything works. Not the latency objectives: how fast moto answers
# on a shared test machine says nothing about the rules (promtool tests them).
FAILURE_ALERTS = {
    "SignupsFailing",
    "RecordWritesFailing",
    "ServerErrorsHigh",
    "DependencyUnavailable",
    "EventsNotPublished",
    "SignupsErrorBudgetBurn",
    "RecordWritesErrorBudgetBurn",
}


def test_normal_traffic_raises_no_failure_alert(
    app: App, prometheus: Prometheus, faults: FaultProxy
) -> None:
    faults.clear()
    with SignUps(app.url) as traffic:
        time.sleep(300 / TIME_SCALE)  # a whole (scaled) 5-minute window of traffic
    assert set(traffic.statuses) == {201}
    active = {a["labels"]["alertname"] for a in prometheus.alerts()}
    assert not active & FAILURE_ALERTS, prometheus.alerts()


@pytest.mark.timeout(600)
def test_dynamodb_throttled_pages_then_resolves(
    app: App, faults: FaultProxy, prometheus: Prometheus, alert_webhook: WebhookReceiver
) -> None:
    rule = _rule("SignupsFailing")
    with fault(faults, WRITE, "throttle"), SignUps(app.url) as traffic:
        states = _watch(prometheus, "SignupsFailing", until="firing", timeout=_timeout(rule))
        assert states[-2:] == ["pending", "firing"], states
        # The refusals, and which dependency refused, page too: one alert per dependency.
        refused = poll(
            lambda: [
                a
                for a in prometheus.alerts()
                if a["labels"]["alertname"] == "DependencyUnavailable" and a["state"] == "firing"
            ],
            until=bool,
            timeout=_timeout(rule),
        )
        assert {a["labels"]["service"] for a in refused} == {"DynamoDB"}
        firing = poll(
            lambda: _received(alert_webhook, "SignupsFailing", "firing"),
            until=bool,
            timeout=60,
        )
        # The staff panel's query lists it, in the words the panel shows, while it fires.
        staff = prometheus.query(
            substitute(STAFF_PANEL_QUERY, {"environment": ENVIRONMENT, "service": "logger-app"})
        )
    assert 503 in traffic.statuses

    notification = firing[0]
    assert notification.receiver == "page"
    alert = _alert(notification, "SignupsFailing")
    assert alert["labels"] == {
        "alertname": "SignupsFailing",
        "severity": "page",
        "deployment_environment": ENVIRONMENT,
        "service_name": "logger-app",
    }
    assert alert["annotations"]["summary"] == rule["annotations"]["summary"]
    assert alert["annotations"]["runbook_url"] == "docs/runbook.md#signupsfailing"
    assert (
        "sign-ups could not be saved in the last 5 minutes (e2e)"
        in (alert["annotations"]["description"])
    )
    signups_failing = [s for s in staff if s.labels["alertname"] == "SignupsFailing"]
    assert len(signups_failing) == 1
    assert abs(signups_failing[0].value / 1000 - time.time()) < 600
    assert alert_words()["SignupsFailing"] == "Patients cannot sign up"

    # The fault is over: sign-ups succeed, and the alert resolves.
    with SignUps(app.url) as traffic:
        states = _watch(prometheus, "SignupsFailing", until="none", timeout=_timeout(rule))
        resolved = poll(
            lambda: _received(alert_webhook, "SignupsFailing", "resolved"),
            until=bool,
            timeout=60,
        )
    assert set(traffic.statuses) == {201}
    assert _alert(resolved[0], "SignupsFailing")["endsAt"] >= alert["startsAt"]


@pytest.mark.timeout(600)
def test_sqs_down_opens_a_ticket_then_resolves(
    app: App, faults: FaultProxy, prometheus: Prometheus, alert_webhook: WebhookReceiver
) -> None:
    rule = _rule("EventsNotPublished")
    with fault(faults, SEND, "error500"), SignUps(app.url) as traffic:
        states = _watch(prometheus, "EventsNotPublished", until="firing", timeout=_timeout(rule))
        assert states[-2:] == ["pending", "firing"], states
        firing = poll(
            lambda: _received(alert_webhook, "EventsNotPublished", "firing"),
            until=bool,
            timeout=60,
        )
    # Saved all the same: the outbox keeps the events.
    assert set(traffic.statuses) == {201}
    assert firing[0].receiver == "ticket"
    alert = _alert(firing[0], "EventsNotPublished")
    assert alert["labels"]["severity"] == "ticket"
    assert alert["annotations"]["summary"] == rule["annotations"]["summary"]

    with SignUps(app.url):
        _watch(prometheus, "EventsNotPublished", until="none", timeout=_timeout(rule))
        # Tickets are notified at the (scaled) group interval: 10 minutes, here 60 s.
        resolved = poll(
            lambda: _received(alert_webhook, "EventsNotPublished", "resolved"),
            until=bool,
            timeout=120,
        )
    assert resolved
