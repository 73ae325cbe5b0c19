"""The patients dashboard speaks of every record kind the API accepts (logger_app.schemas.
RecordKind): each has its words in the live list of events and a unit for its counts."""

from dashboards.patients import RECORD_UNITS, RECORD_WORDS
from logger_app.schemas import RecordKind


def test_every_record_kind_has_words() -> None:
    assert set(RECORD_WORDS) == set(RecordKind)


def test_every_record_kind_has_a_unit() -> None:
    assert set(RECORD_UNITS) == set(RecordKind)
