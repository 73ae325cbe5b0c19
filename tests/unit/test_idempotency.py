import pytest

from logger_app.idempotency import fingerprint, first_answer, put_key, stored_key
from logger_app.problems import Problem
from logger_app.schemas import SignupRequest, SignupResponse

ADA = SignupRequest(email="ada@example.com", full_name="Ada")


def test_a_stored_key_belongs_to_its_client_and_reveals_neither() -> None:
    assert stored_key("client-a", "abc").startswith("idempotency#")
    assert stored_key("client-a", "abc") == stored_key("client-a", "abc")
    assert stored_key("client-a", "abc") != stored_key("client-b", "abc")
    assert stored_key("ab", "c") != stored_key("a", "bc")
    assert "abc" not in stored_key("client-a", "abc")
    assert "client" not in stored_key("client-a", "abc")


def test_fingerprint_tells_bodies_and_endpoints_apart() -> None:
    same = SignupRequest(email="ada@example.com", full_name="Ada")
    assert fingerprint("patient.sign_up", ADA) == fingerprint("patient.sign_up", same)
    other = SignupRequest(email="ada@example.com", full_name="Bo")
    assert fingerprint("patient.sign_up", ADA) != fingerprint("patient.sign_up", other)
    assert fingerprint("patient.sign_up", ADA) != fingerprint("record.create", ADA)


def test_the_first_answer_is_given_only_for_the_same_request() -> None:
    answer = SignupResponse.model_validate(
        {"patient_id": "7b0e8a9c-1c48-4f7e-9a4e-3e2f6a1d0b11", "created_at": "2026-01-01T00:00:00Z"}
    )
    stored = put_key("patients", "client-a", "k", "patient.sign_up", ADA, answer)["Put"]["Item"]
    assert first_answer(stored, "patient.sign_up", ADA) == answer.model_dump_json()
    for action, body in [
        ("patient.sign_up", SignupRequest(email="bo@example.com", full_name="Bo")),
        ("record.create", ADA),
    ]:
        with pytest.raises(Problem) as refused:
            first_answer(stored, action, body)
        assert (refused.value.status, refused.value.slug) == (409, "idempotency-key-reused")
