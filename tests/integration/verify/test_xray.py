"""The X-Ray sink against moto's X-Ray (PutTraceSegments, BatchGetTraces) over real HTTP."""

import json
import time
import uuid
from typing import Any

import pytest

from harness.emulator import reset_moto
from harness.processes import free_port
from logger_app.verify.sinks import Journey
from logger_app.verify.xray import XRaySink, xray_trace_id
from tests.integration.verify.aws_doubles import REGION, client, new_trace_id, refusing_endpoint


@pytest.fixture
def xray(aws_endpoint: str) -> Any:
    reset_moto(aws_endpoint)
    return client("xray", aws_endpoint)


def journey(*trace_ids: str) -> Journey:
    return Journey(trace_ids, "patient-1", "record-1", time.time())


def put_trace(xray: Any, trace_id: str, services: tuple[str, ...]) -> None:
    """As ADOT's awsxray exporter sends a request's spans: the server span a segment, each
    botocore span a subsegment document of its own named after the AWS service."""
    now = time.time()
    root = uuid.uuid4().hex[:16]
    documents = [
        {
            "trace_id": xray_trace_id(trace_id),
            "id": root,
            "name": "logger-app",
            "start_time": now,
            "end_time": now + 0.05,
        }
    ]
    documents += [
        {
            "trace_id": xray_trace_id(trace_id),
            "id": uuid.uuid4().hex[:16],
            "parent_id": root,
            "type": "subsegment",
            "name": service,
            "namespace": "aws",
            "start_time": now + 0.01,
            "end_time": now + 0.02,
        }
        for service in services
    ]
    xray.put_trace_segments(TraceSegmentDocuments=[json.dumps(d) for d in documents])


def test_xray_id_format() -> None:
    xray_id = xray_trace_id("5759e988bd862e3fe1be46a994272793")

    assert xray_id == "1-5759e988-bd862e3fe1be46a994272793"


def test_arrived_once_every_trace_holds_its_dynamodb_and_sqs_calls(xray: Any) -> None:
    signup, record = new_trace_id(), new_trace_id()
    put_trace(xray, signup, ("DynamoDB", "SQS"))
    put_trace(xray, record, ("DynamoDB", "SQS"))

    assert XRaySink(region=REGION, client=xray).missing(journey(signup, record)) is None


def test_subsegments_nested_in_their_segment_count_too(xray: Any) -> None:
    # How BatchGetTraces returns a trace X-Ray has assembled.
    trace_id, now = new_trace_id(), time.time()
    document = {
        "trace_id": xray_trace_id(trace_id),
        "id": uuid.uuid4().hex[:16],
        "name": "logger-app",
        "start_time": now,
        "end_time": now + 0.05,
        "subsegments": [
            {"id": uuid.uuid4().hex[:16], "name": name, "namespace": "aws"}
            for name in ("DynamoDB", "SQS")
        ],
    }
    xray.put_trace_segments(TraceSegmentDocuments=[json.dumps(document)])

    assert XRaySink(region=REGION, client=xray).missing(journey(trace_id)) is None


def test_a_trace_not_in_xray_is_missing_by_its_xray_id(xray: Any) -> None:
    arrived, absent = new_trace_id(), new_trace_id()
    put_trace(xray, arrived, ("DynamoDB", "SQS"))

    missing = XRaySink(region=REGION, client=xray).missing(journey(arrived, absent))

    assert missing is not None
    assert f"trace {xray_trace_id(absent)} not in X-Ray yet" in missing


def test_a_trace_without_its_sqs_call_is_missing(xray: Any) -> None:
    trace_id = new_trace_id()
    put_trace(xray, trace_id, ("DynamoDB",))

    missing = XRaySink(region=REGION, client=xray).missing(journey(trace_id))

    assert missing is not None
    assert f"trace {xray_trace_id(trace_id)} has no SQS subsegment" in missing


def test_access_denied_names_the_permission() -> None:
    with refusing_endpoint(403, "AccessDeniedException") as endpoint:
        sink = XRaySink(region=REGION, client=client("xray", endpoint))
        missing = sink.missing(journey(new_trace_id()))

    assert missing == "the task role lacks xray:BatchGetTraces (AccessDeniedException)"


def test_an_unreachable_xray_is_missing_not_an_exception() -> None:
    sink = XRaySink(region=REGION, client=client("xray", f"http://127.0.0.1:{free_port()}"))

    missing = sink.missing(journey(new_trace_id()))

    assert missing is not None
    assert missing.startswith("X-Ray unreachable: ")


def test_a_malformed_trace_id_is_missing_not_an_exception(xray: Any) -> None:
    missing = XRaySink(region=REGION, client=xray).missing(journey("not-a-trace-id"))

    assert missing == (
        "the journey's not a 32-hex-digit trace id: 'not-a-trace-id' (the API's trace_id header)"
    )
