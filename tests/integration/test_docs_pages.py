"""/docs and /redoc load nothing from another origin: every script, style and icon they name is
answered by the app itself, from the pinned package's files, so the pages work offline."""

import re
from pathlib import Path

import fastapi_offline
import pytest
from fastapi.testclient import TestClient

PACKAGE_FILES = Path(fastapi_offline.__file__).parent / "static"
# Every address a page names: attributes, and Swagger UI's quoted schema URL.
REFERENCES = re.compile(r'(?:src|href|spec-url)="([^"]*)"|url: \'([^\']*)\'')
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


@pytest.mark.parametrize(
    ("page", "scripts"),
    [("/docs", {"swagger-ui-bundle.js", "swagger-ui.css"}), ("/redoc", {"redoc.standalone.js"})],
)
def test_a_docs_page_loads_only_the_apps_own_files(
    client: TestClient, page: str, scripts: set[str]
) -> None:
    response = client.get(page)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "://" not in html, "an absolute URL: something loaded from another origin"
    referenced = [a or b for a, b in REFERENCES.findall(html)]
    assert "/openapi.json" in referenced
    assets = [ref for ref in referenced if ref != "/openapi.json"]
    assert all(ref.startswith("/docs-assets/") for ref in assets), assets
    assert {ref.removeprefix("/docs-assets/") for ref in assets} == {*scripts, "favicon.png"}
    for ref in assets:
        asset = client.get(ref)
        assert asset.status_code == 200, ref
        expected_type = CONTENT_TYPES[Path(ref).suffix]
        assert asset.headers["content-type"].startswith(expected_type), ref
        assert asset.content == (PACKAGE_FILES / Path(ref).name).read_bytes(), ref
    assert client.get("/openapi.json").json()["openapi"].startswith("3.1")


def test_swagger_ui_is_version_5_and_asks_no_public_validator(client: TestClient) -> None:
    """Swagger UI renders OpenAPI 3.1 (what FastAPI writes) from version 5 on; its validator
    badge would fetch an image from the public validator, naming the schema's address."""
    bundle = client.get("/docs-assets/swagger-ui-bundle.js").text
    assert re.search(r'PACKAGE_VERSION:"5\.\d+\.\d+"', bundle)
    assert '"validatorUrl": null' in client.get("/docs").text
    assert client.get("/docs/oauth2-redirect").status_code == 200
