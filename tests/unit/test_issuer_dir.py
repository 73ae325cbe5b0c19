"""The local issuer's directory, as `logger-app token` finds it: from any directory of the
checkout, or where LOGGER_APP_LOCAL_ISSUER_DIR says; outside a checkout, an error saying how."""

from pathlib import Path

import pytest

from logger_app.issuer_dir import IssuerNotFoundError, issuer_dir

ROOT = Path(__file__).resolve().parents[2]


def test_finds_the_checkouts_issuer_from_a_subdirectory() -> None:
    found = issuer_dir(None, {}, ROOT / "docs", Path("/nowhere/logger_app/cli.py"))

    assert found == ROOT / ".local-issuer"


def test_outside_any_checkout_says_where_it_looked_and_how_to_point_it(tmp_path: Path) -> None:
    with pytest.raises(IssuerNotFoundError) as raised:
        issuer_dir(None, {}, tmp_path, tmp_path / "site" / "logger_app" / "cli.py")

    assert str(tmp_path) in str(raised.value)
    assert "LOGGER_APP_LOCAL_ISSUER_DIR" in str(raised.value)
    assert "--issuer-dir" in str(raised.value)
    assert not (tmp_path / ".local-issuer").exists()


def test_the_variable_wins_over_the_checkout(tmp_path: Path) -> None:
    environ = {"LOGGER_APP_LOCAL_ISSUER_DIR": str(tmp_path)}

    assert issuer_dir(None, environ, ROOT, ROOT / "src" / "logger_app" / "cli.py") == tmp_path
