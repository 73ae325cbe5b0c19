"""What each event type writes (applied against moto: tests/integration/worker/test_consumer.py)."""

import pytest

from logger_app import events, keys, synthetic
from logger_app.worker.effects import default_effects
from logger_app.worker.failures import PoisonEventError

EFFECTS = default_effects("patients")


def test_every_event_type_has_an_effect() -> None:
    assert set(EFFECTS) == set(events.EVENT_TYPES)


def test_a_sign_up_marks_its_patient_welcomed_if_it_exists() -> None:
    [write] = EFFECTS[events.PATIENT_SIGNED_UP]({"patient_id": "p-1"})

    update = write["Update"]
    assert (update["TableName"], update["Key"]) == ("patients", {"pk": {"S": keys.patient("p-1")}})
    assert update["ConditionExpression"] == "attribute_exists(pk)"


def test_a_record_counts_its_kind_on_the_doctor() -> None:
    [write] = EFFECTS[events.RECORD_CREATED]({"doctor_id": "dr-1", "kind": "note"})

    update = write["Update"]
    assert update["Key"] == {"pk": {"S": keys.doctor("dr-1")}}
    assert update["UpdateExpression"] == "ADD #kind :one"
    assert update["ExpressionAttributeNames"] == {"#kind": "note"}


def test_a_synthetic_records_count_expires() -> None:
    with synthetic.marked(True):
        [write] = EFFECTS[events.RECORD_CREATED]({"doctor_id": "dr-1", "kind": "note"})

    assert write["Update"]["ExpressionAttributeNames"]["#expires"] == synthetic.EXPIRES_AT


def test_a_kind_the_api_does_not_accept_is_poison() -> None:
    with pytest.raises(PoisonEventError, match="unknown record kind"):
        EFFECTS[events.RECORD_CREATED]({"doctor_id": "dr-1", "kind": "pk"})


def test_data_missing_a_key_raises_key_error_naming_it() -> None:
    with pytest.raises(KeyError, match="patient_id"):
        EFFECTS[events.PATIENT_SIGNED_UP]({})
