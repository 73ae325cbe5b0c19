from logger_app.signups import email_key, normalised_email


def test_email_guard_is_a_digest_of_the_normalised_email() -> None:
    assert email_key(" Ada@Example.COM ") == email_key("ada@example.com")
    assert email_key("ada@example.com") != email_key("bob@example.com")
    assert "ada" not in email_key("ada@example.com")


def test_unicode_compatibility_forms_and_case_are_folded() -> None:
    assert normalised_email("\uff44ave@example.org") == "dave@example.org"  # fullwidth d
    assert normalised_email("\uff24\uff21\uff36\uff25@example.org") == "dave@example.org"
    assert normalised_email("Stra\u00dfe@example.org") == "strasse@example.org"  # casefold
    assert normalised_email("\u212bngstr\u00f6m@example.org") == normalised_email(
        "\u00e5ngstr\u00f6m@example.org"
    )  # the angstrom sign is the letter a-ring
    assert normalised_email("caf\u0065\u0301@example.org") == "caf\u00e9@example.org"  # composed
    assert email_key("\uff44ave@example.org") == email_key("Dave@example.org")


def test_letters_of_other_scripts_that_look_alike_are_not_folded() -> None:
    # Cyrillic a (U+0430) and Greek omicron (U+03BF) look like Latin letters but are not them.
    assert normalised_email("d\u0430ve@example.org") != "dave@example.org"
    assert normalised_email("b\u03bfb@example.org") != "bob@example.org"
