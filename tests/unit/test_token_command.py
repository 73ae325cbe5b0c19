"""`logger-app token`: finds make run's issuer from any directory, refuses a dead lifetime."""

from pathlib import Path

import pytest

from logger_app.cli import main
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


@pytest.mark.parametrize("lifetime", ["0", "-5"])
def test_refuses_a_lifetime_that_is_already_over(
    lifetime: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(
            [
                "token",
                "--scope",
                "records:read",
                "--issuer-dir",
                str(tmp_path),
                "--lifetime",
                lifetime,
            ]
        )

    assert exited.value.code == 2
    assert "must be more than 0 seconds" in capsys.readouterr().err
    assert not (tmp_path / "private-key.pem").exists()
