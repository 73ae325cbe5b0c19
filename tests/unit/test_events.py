import json

import pytest

from logger_app.events import Event, MalformedEventError, received_attributes


def attributes(event: Event) -> dict[str, str]:
    """The message attributes as SQS delivers them to the worker, as strings."""
    return {name: value["StringValue"] for name, value in event.message_attributes().items()}


def test_a_message_reads_back_as_the_event_that_was_sent() -> None:
    sent = Event(
        "record.created", {"id": "r-1", "kind": "note"}, trace_context={"traceparent": "t"}
    )

    received = Event.from_message(sent.body(), attributes(sent))

    assert received == sent


def test_a_received_messages_attributes_read_back_as_the_events_strings() -> None:
    sent = Event("patient.signed_up", {}, trace_context={"traceparent": "t"}, synthetic=True)
    message = {"Body": sent.body(), "MessageAttributes": sent.message_attributes()}

    assert received_attributes(message) == attributes(sent)
    assert Event.from_message(sent.body(), received_attributes(message)) == sent
    assert received_attributes({}) == {}


def test_fields_the_reader_does_not_know_are_ignored() -> None:
    body = {**json.loads(Event("patient.signed_up", {}).body()), "added_later": {"x": 1}}

    assert Event.from_message(json.dumps(body), {}).type == "patient.signed_up"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("[" * 5_000 + "]" * 5_000, "the body is nested too deeply"),
        ('{"data": ' * 5_000 + "{}" + "}" * 5_000, "the body is nested too deeply"),
        ("{'id': 'single quotes'}", "the body is not JSON"),
        ("", "the body is not JSON"),
        ("1" * 5_000, "the body is not JSON"),  # more digits than int() converts
        ('["id", "type"]', "the body is not a JSON object"),
        (
            '{"type": "x", "occurred_at": "t", "data": {}}',
            "the body's 'id' is missing or not a string",
        ),
        (
            '{"id": 7, "type": "x", "occurred_at": "t", "data": {}}',
            "the body's 'id' is missing or not a string",
        ),
        (
            '{"id": "e", "occurred_at": "t", "data": {}}',
            "the body's 'type' is missing or not a string",
        ),
        (
            '{"id": "e", "type": "x", "data": {}}',
            "the body's 'occurred_at' is missing or not a string",
        ),
        (
            '{"id": "e", "type": "x", "occurred_at": "t"}',
            "the body's 'data' is missing or not an object of strings",
        ),
        (
            '{"id": "e", "type": "x", "occurred_at": "t", "data": {"n": 1}}',
            "the body's 'data' is missing or not an object of strings",
        ),
    ],
)
def test_anything_else_is_malformed_saying_why_without_quoting_it(body: str, reason: str) -> None:
    with pytest.raises(MalformedEventError) as malformed:
        Event.from_message(body, {})

    assert str(malformed.value) == reason
