"""The worker as ECS runs it, for a while: ``python -m bench.worker_soak [--minutes 10]``.

`logger-app worker` with its production defaults (20 s long polls, nothing overridden) idles
against moto's server while sign-up events trickle in at random intervals, mostly longer than
a poll, some in quick succession. Each event is a ``patient.signed_up`` for a patient stored as
the API stores one, sent with the body and attributes of ``events.Event`` (what the publisher
sends). After the last event the soak waits longer than the visibility timeout, so that an event
hidden by an abandoned poll would still show up, then stops the worker with SIGTERM.

Measured from outside the worker's own reckoning where it can be:
- processed: the patient's ``welcomed_at`` (written by the worker's transaction) is set;
  latency = ``welcomed_at`` minus the send's wall-clock time;
- dead-lettered: messages in the dead-letter queue at the end, and the worker's
  ``dead_lettered`` lines;
- processed twice: ``worker.duplicate`` lines and ``worker.processed`` lines beyond one per
  event; received more than once: ``worker.processed`` lines with ``receives`` over 1;
- poll failures: ``worker.poll_failed`` lines, and any line mentioning a read timeout.

moto's server (``moto_server``, threaded) rather than the benchmark's locked emulator: a long
poll holds its request open, which the lock would turn into a stall of every other call.
Writes ``bench/results/worker-soak-<date>.json``; the run is recorded by hand in BENCHMARKS.md.
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import boto3

from harness.emulator import apply_aws_test_env, moto_server
from harness.processes import BIN
from logger_app.bootstrap import bootstrap
from logger_app.events import Event
from logger_app.settings import Settings

REPO = Path(__file__).resolve().parents[1]
DEFAULTS = Settings()


@dataclass(frozen=True)
class SoakResult:
    commit: str
    minutes: float
    seed: int
    sent: int
    processed: int
    never_processed: int
    latency_p50_s: float | None
    latency_p99_s: float | None
    latency_max_s: float | None
    slow_over_3s: int
    dead_lettered_in_queue: int
    dead_lettered_logged: int
    processed_lines: int
    duplicates_logged: int
    received_more_than_once: int
    poll_failures_logged: int
    read_timeout_lines: int
    worker_exit_status: int | None
    gaps_s: list[float]


def intervals(rng: random.Random, seconds: float) -> list[float]:
    """Gaps between events: exponential around 30 s (most longer than a 20 s poll), bounded
    to 0.5-90 s, and one quick pair in ten."""
    gaps: list[float] = []
    while sum(gaps) < seconds:
        gap = 0.5 if rng.random() < 0.1 else min(90.0, max(0.5, rng.expovariate(1 / 30)))
        gaps.append(round(gap, 1))
    return gaps[:-1] if len(gaps) > 1 else gaps


def soak(minutes: float, seed: int, log_path: Path) -> SoakResult:
    rng = random.Random(seed)
    with moto_server() as endpoint:
        apply_aws_test_env(endpoint)
        queue_url = bootstrap(DEFAULTS)
        environment = {k: v for k, v in os.environ.items() if not k.startswith("LOGGER_APP_")}
        with log_path.open("wb") as log:
            worker = subprocess.Popen(
                [str(BIN / "logger-app"), "worker"],
                env={**environment, "OTEL_SDK_DISABLED": "true"},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        _wait_for(lambda: '"worker.started"' in log_path.read_text(), 60)
        sqs, dynamodb = boto3.client("sqs"), boto3.client("dynamodb")
        sent: dict[str, float] = {}  # patient id -> the send's wall-clock time
        gaps = intervals(rng, minutes * 60)
        time.sleep(gaps[0])
        for gap in [*gaps[1:], 0.0]:
            patient_id = str(uuid.uuid4())
            dynamodb.put_item(
                TableName=DEFAULTS.patients_table, Item={"pk": {"S": "patient#" + patient_id}}
            )
            event = Event("patient.signed_up", {"patient_id": patient_id}, trace_context={})
            sent[patient_id] = time.time()
            sqs.send_message(
                QueueUrl=queue_url,
                MessageBody=event.body(),
                MessageAttributes=event.message_attributes(),
            )
            time.sleep(gap)
        # Longer than the visibility timeout: an event an abandoned poll hid comes back.
        time.sleep(DEFAULTS.worker_visibility_timeout_seconds + 10)
        latencies = [_latency(dynamodb, patient_id, at) for patient_id, at in sent.items()]
        dead_in_queue = _depth(sqs, DEFAULTS.dead_letter_queue_name)
        worker.terminate()
        try:
            status: int | None = worker.wait(timeout=DEFAULTS.worker_wait_seconds + 15)
        except subprocess.TimeoutExpired:
            worker.kill()
            status = None

    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line[:1] == "{"]
    processed_lines = [line for line in lines if line["event"] == "worker.processed"]
    done = sorted(latency for latency in latencies if latency is not None)
    return SoakResult(
        commit=_commit(),
        minutes=minutes,
        seed=seed,
        sent=len(sent),
        processed=len(done),
        never_processed=len(latencies) - len(done),
        latency_p50_s=round(statistics.median(done), 3) if done else None,
        latency_p99_s=round(done[min(len(done) - 1, int(len(done) * 0.99))], 3) if done else None,
        latency_max_s=round(done[-1], 3) if done else None,
        slow_over_3s=sum(1 for latency in done if latency > 3),
        dead_lettered_in_queue=dead_in_queue,
        dead_lettered_logged=sum(1 for line in lines if "dead-letter" in line["message"]),
        processed_lines=len(processed_lines),
        duplicates_logged=sum(1 for line in lines if line["event"] == "worker.duplicate"),
        received_more_than_once=sum(1 for line in processed_lines if line.get("receives", 1) > 1),
        poll_failures_logged=sum(1 for line in lines if line["event"] == "worker.poll_failed"),
        read_timeout_lines=sum(1 for line in lines if "ReadTimeout" in json.dumps(line)),
        worker_exit_status=status,
        gaps_s=gaps,
    )


def _latency(dynamodb: Any, patient_id: str, sent_at: float) -> float | None:
    item = dynamodb.get_item(
        TableName=DEFAULTS.patients_table, Key={"pk": {"S": "patient#" + patient_id}}
    )["Item"]
    if "welcomed_at" not in item:
        return None
    welcomed = datetime.fromisoformat(item["welcomed_at"]["S"].replace("Z", "+00:00"))
    return welcomed.timestamp() - sent_at


def _depth(sqs: Any, queue_name: str) -> int:
    url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(count) for count in attributes.values())


def _wait_for(ready: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError("the worker did not start")
        time.sleep(0.1)


def _commit() -> str:
    result = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    )
    return result.stdout.strip() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.worker_soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=22)
    parser.add_argument(
        "--results", type=Path, default=REPO / "bench" / "results", help="JSON folder"
    )
    parser.add_argument("--no-results", action="store_true", help="print only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="worker-soak-") as workdir:
        result = soak(args.minutes, args.seed, Path(workdir) / "worker.log")
    text = json.dumps(
        {"date": datetime.now(UTC).isoformat(timespec="seconds"), **asdict(result)}, indent=2
    )
    print(text)
    if not args.no_results:
        args.results.mkdir(parents=True, exist_ok=True)
        (args.results / f"worker-soak-{date.today().isoformat()}.json").write_text(text + "\n")
    clean = (
        result.never_processed == result.dead_lettered_in_queue == result.duplicates_logged == 0
        and result.received_more_than_once == result.poll_failures_logged == 0
        and result.slow_over_3s == 0
    )
    sys.exit(0 if clean else 1)


if __name__ == "__main__":
    main()
