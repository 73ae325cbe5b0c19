"""The setup phase of a configuration: a patient and records for the read workloads to find."""

import json
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from harness.issuer import auth_headers


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **auth_headers()},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        if response.status != 201:
            raise RuntimeError(f"{url} answered {response.status}")
        answer: dict[str, Any] = json.load(response)
        return answer


def create_fixtures(app_url: str, path: Path, records: int = 100) -> Path:
    """Sign up one patient and create `records` records; write the patient id then the record
    ids, one a line (the Lua script uses the first line as the patient of new records)."""
    tag = uuid.uuid4().hex[:12]
    patient = _post(
        f"{app_url}/v1/signups",
        {"email": f"fixture.{tag}@bench.example", "full_name": "Fixture Patient"},
    )
    patient_id = patient["patient_id"]
    ids = [
        _post(
            f"{app_url}/v1/records",
            {"patient_id": patient_id, "doctor_id": "dr-bench", "kind": "call_started"},
        )["id"]
        for _ in range(records)
    ]
    path.write_text("\n".join([patient_id, *ids]) + "\n")
    return path
