"""Where `logger-app token` finds the local issuer `make run` uses, from any directory.

`make run` keeps its key pair in `.local-issuer` at the project root; a token signed with any
other key is refused by the app, so the command never makes a key pair in a directory it only
guessed.
"""

import tomllib
from collections.abc import Mapping
from pathlib import Path

ENV_VAR = "LOGGER_APP_LOCAL_ISSUER_DIR"
DIRECTORY_NAME = ".local-issuer"
PROJECT_NAME = "logger-app"


class IssuerNotFoundError(Exception):
    """No issuer directory was named and no logger-app project root holds one."""


def _is_project_root(directory: Path) -> bool:
    pyproject = directory / "pyproject.toml"
    try:
        project = tomllib.loads(pyproject.read_text()).get("project", {})
    except (OSError, tomllib.TOMLDecodeError):
        return False
    return isinstance(project, dict) and project.get("name") == PROJECT_NAME


def project_root(start: Path, package_file: Path) -> Path | None:
    """The logger-app checkout holding `start`, else the one this package is installed from
    (an editable install, as `make run` makes), else None."""
    candidates = (start, *start.parents, *package_file.resolve().parents)
    return next((directory for directory in candidates if _is_project_root(directory)), None)


def issuer_dir(
    option: str | None, environ: Mapping[str, str], cwd: Path, package_file: Path
) -> Path:
    """The issuer directory: the option, else the variable, else the project root's."""
    if option:
        return Path(option)
    if environ.get(ENV_VAR):
        return Path(environ[ENV_VAR])
    root = project_root(cwd, package_file)
    if root is None:
        raise IssuerNotFoundError(
            f"no local issuer found: {ENV_VAR} is unset and neither {cwd} nor any directory "
            f"above it, nor the package's install location ({package_file.parent}), is a "
            f"{PROJECT_NAME} checkout; set {ENV_VAR} or pass --issuer-dir to the directory "
            f"make run uses (its {DIRECTORY_NAME})"
        )
    return root / DIRECTORY_NAME
