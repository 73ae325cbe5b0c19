"""routes/deps.py: the dependencies the routes declare are spelled there once, and every route
module uses its aliases rather than spelling ``Depends(...)`` out again."""

from pathlib import Path

from logger_app import routes

ROUTES = Path(routes.__file__).parent


def test_no_route_module_spells_a_dependency_out() -> None:
    spelled = [
        module.name
        for module in sorted(ROUTES.glob("*.py"))
        if module.name != "deps.py" and "Depends(" in module.read_text()
    ]
    assert spelled == []
    assert (ROUTES / "deps.py").is_file()
