from logger_app.schemas import SignupRequest
from logger_app.signups import email_key, fingerprint, idempotency_key


def test_email_guard_is_a_digest_of_the_normalised_email() -> None:
    assert email_key(" Ada@Example.COM ") == email_key("ada@example.com")
    assert email_key("ada@example.com") != email_key("bob@example.com")
    assert "ada" not in email_key("ada@example.com")


def test_fingerprint_tells_bodies_apart() -> None:
    ada = SignupRequest(email="ada@example.com", full_name="Ada")
    assert fingerprint(ada) == fingerprint(SignupRequest(email="ada@example.com", full_name="Ada"))
    assert fingerprint(ada) != fingerprint(SignupRequest(email="ada@example.com", full_name="Bo"))


def test_idempotency_keys_are_hashed() -> None:
    assert idempotency_key("abc").startswith("idempotency#")
    assert "abc" not in idempotency_key("abc")
