"""The README's local flow as a newcomer follows it: `scripts/run-local.sh` (what `make run`
runs), then the API section's shell block — `logger-app token`, then each curl — as written,
over real HTTP, then Ctrl-C. Only the port and the ids each answer returns are filled in."""

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import boto3

from harness.builds import REPO
from harness.emulator import AWS_TEST_ENV
from harness.processes import free_port, wait_for_http


def _readme_commands() -> list[str]:
    """The shell block of the README's API section, one command per entry."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("## The API (v1)", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    commands, current = [], ""
    for line in block.splitlines():
        if not current and (not line.strip() or line.startswith("#")):
            continue
        current += line.removesuffix("\\") + " " if line.endswith("\\") else line
        if not line.endswith("\\"):
            commands.extend(part.strip() for part in current.split("; "))
            current = ""
    return commands


def test_make_run_then_the_readme_curl_flow_works(tmp_path: Path) -> None:
    port, moto_port = free_port(), free_port()
    issuer = tmp_path / "local-issuer"  # not the checkout's .local-issuer/
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LOGGER_APP_"))},
        "PORT": str(port),
        "MOTO_PORT": str(moto_port),
        "LOGGER_APP_LOCAL_ISSUER_DIR": str(issuer),
        "OTEL_SDK_DISABLED": "true",
    }
    log = tmp_path / "run-local.out"
    with log.open("wb") as out:
        script = subprocess.Popen(
            ["bash", str(REPO / "scripts" / "run-local.sh")],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its moto server too, stopped with it below
        )
        try:
            wait_for_http(f"http://127.0.0.1:{port}/readyz", timeout=60)
            printed = log.read_text()
            assert "logger-app token --scope" in printed, printed
            assert not issuer.joinpath("private-key.pem").stat().st_mode & 0o077
            patient_id = _run_readme_block(port, env)
            _wait_until_welcomed(patient_id, f"http://127.0.0.1:{moto_port}", log)

            # Ctrl-C, as a terminal sends it: SIGINT to the script's process group.
            os.killpg(script.pid, signal.SIGINT)
            assert script.wait(timeout=60) != 0
            assert _session(script.pid) == [], log.read_text()[-3000:]
        finally:
            if script.poll() is None:
                os.killpg(script.pid, signal.SIGTERM)
                script.wait(timeout=60)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    # One stream, each line saying which process wrote it.
    assert {line["service"] for line in lines} == {"logger-app", "logger-app-worker"}
    worker = [line for line in lines if line["service"] == "logger-app-worker"]
    assert [line["event"] for line in worker] == [
        "worker.started",
        "worker.processed",  # the sign-up's event
        "worker.processed",  # the record's
        "worker.stopped",
    ]
    assert {line["logger"] for line in worker} == {"logger_app.worker"}


def _wait_until_welcomed(patient_id: str, emulator: str, log: Path) -> None:
    """The worker `make run` started consumed the sign-up's event: the patient is welcomed."""
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=emulator,
        region_name=AWS_TEST_ENV["AWS_REGION"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    deadline = time.monotonic() + 10
    while True:
        patient = dynamodb.get_item(
            TableName="logger-app-patients", Key={"pk": {"S": "patient#" + patient_id}}
        )["Item"]
        if "welcomed_at" in patient:
            return
        assert time.monotonic() < deadline, "not welcomed:\n" + log.read_text()[-3000:]
        time.sleep(0.2)


def _session(session_id: int) -> list[str]:
    """The command lines of the processes still running in a session."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = stat.with_name("cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        # After the command's name: state, ppid, pgrp, session; a zombie has exited already.
        if int(fields[3]) == session_id and fields[0] != "Z":
            members.append(cmdline)
    return members


def _run_readme_block(port: int, env: dict[str, str]) -> str:
    """Run the block; return the signed-up patient's id."""
    commands = _readme_commands()
    token_line, curls = commands[0], commands[1:]
    assert token_line.startswith("TOKEN=$(.venv/bin/logger-app token")
    token = subprocess.run(
        ["bash", "-c", f'{token_line} && printf %s "$TOKEN"'],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert token.count(".") == 2

    found: dict[str, str] = {}
    answers = []
    for command in curls:
        assert command.startswith("curl -s ")
        filled = command.replace("localhost:8000", f"127.0.0.1:{port}")
        filled = re.sub(r"<(\w+)>", lambda m: found[m.group(1)], filled)
        result = subprocess.run(
            ["bash", "-c", filled.replace("curl -s ", "curl -s --fail-with-body ", 1)],
            env={**env, "TOKEN": token},
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 0, f"{command}\n{result.stdout}{result.stderr}"
        answer = json.loads(result.stdout)
        answers.append(answer)
        found.update({k: v for k, v in answer.items() if isinstance(v, str)})
        if "/v1/records" in command and "POST" not in command:
            assert answer["details"] == "follow-up"
    [signup] = [a for a in answers if "patient_id" in a and "created_at" in a]
    assert answers[-1]["status"] == "ready"
    return str(signup["patient_id"])
