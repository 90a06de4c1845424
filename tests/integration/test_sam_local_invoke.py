"""`sam local invoke TryOnFunction -e events/<event>.json` with samconfig.toml's local settings
(`--env-vars events/local-env.json`, the local parameter overrides) answers what
events/expected.json says, for every event.

The environment comes from SAM CLI's own code (``sam_local_environment.py`` run by the
``.tools/`` interpreter): the built template (``.aws-sam/build``, from ``make sam-build``), the
env-vars file and the overrides, through SAM's stack provider and ``EnvironmentVariables``. SAM
passes only the variables the template declares, so a variable the env file sets but the
template does not declare never reaches the function. There is no container runtime here: the
built handler is run by this venv's Python (standing in for the arm64 layer) under exactly that
environment, plus what the container would provide: ``PYTHONPATH`` (the runtime's task root)
and the address of the Bedrock endpoint (the loopback emulator, since AWS is out of reach).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tryon_dev.aws_emulator import AwsModelEmulator

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / ".aws-sam" / "build"
TOOLS_PYTHON = ROOT / ".tools" / "bin" / "python"
EVENTS = ROOT / "events"
EXPECTED: dict[str, dict[str, Any]] = json.loads((EVENTS / "expected.json").read_text())
HERE = Path(__file__).resolve().parent


def _python312() -> str | None:
    found = sorted(Path.home().glob(".pyenv/versions/3.12*/bin/python3.12"))
    return str(found[0]) if found else shutil.which("python3.12")


def _require_build() -> None:
    if not (BUILD / "template.yaml").exists():
        if _python312() is None:
            pytest.skip("no python3.12 on this machine, so `sam build` cannot build the layer (make sam-build)")
        pytest.fail("no .aws-sam/build: run `make sam-build` (make test does)")
    if not TOOLS_PYTHON.exists():
        pytest.fail("the SAM CLI is not installed in .tools/: run `make tools` (make test does)")


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.rglob("*.py")
        if "__pycache__" not in p.parts
    }


@pytest.fixture(scope="module")
def sam() -> dict[str, Any]:
    """What SAM CLI resolves for `sam local invoke TryOnFunction` with samconfig's local settings."""
    _require_build()
    source = {k: v for k, v in _digest(ROOT / "tryon_api").items() if not k.startswith("backends/embedded")}
    assert _digest(BUILD / "TryOnFunction" / "tryon_api") == source, "stale .aws-sam/build: run `make sam-build`"
    result = subprocess.run(
        [str(TOOLS_PYTHON), str(HERE / "sam_local_environment.py"), str(BUILD / "template.yaml"), "TryOnFunction"],
        cwd=ROOT,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    resolved: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return resolved


def test_every_variable_the_env_file_sets_is_declared_and_reaches_the_function(sam: dict[str, Any]) -> None:
    env_file = json.loads((ROOT / sam["env_vars_file"]).read_text())
    assert sam["env_vars_file"] == "events/local-env.json"
    for function, variables in env_file.items():
        assert function == "TryOnFunction"
        assert set(variables) <= set(sam["declared"]), "SAM drops variables the template does not declare"
        for name, value in variables.items():
            assert sam["environment"][name] == value
    assert sam["environment"]["TRYON_API_KEYS"] == "local-dev-key"


@pytest.fixture(scope="module")
def answers(sam: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    results = tmp_path_factory.mktemp("sam") / "results.jsonl"
    code = Path(sam["code"])
    assert code == BUILD / "TryOnFunction"
    with AwsModelEmulator() as emulator:
        environment = {
            **sam["environment"],
            "PYTHONPATH": str(code),  # the runtime's task root
            "PYTHONDONTWRITEBYTECODE": "1",  # leave the build as sam built it
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": emulator.url,  # where Bedrock is, for this test
        }
        events = [str(EVENTS / name) for name in sorted(EXPECTED)]
        run = subprocess.run(
            [sys.executable, str(HERE / "sam_invoke_driver.py"), str(results), *events],
            cwd=code,
            env=environment,
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert run.returncode == 0, run.stderr[-3000:]
    records = [json.loads(line) for line in results.read_text().splitlines()]
    assert {Path(r["module"]).resolve().is_relative_to(code) for r in records} == {True}  # the built code ran
    return {record["event"]: record["response"] for record in records}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_event_gets_its_expected_answer_under_sams_environment(
    answers: dict[str, dict[str, Any]], name: str
) -> None:
    expected = EXPECTED[name]
    response = answers[name]
    assert response["statusCode"] == expected["status"], response.get("body", "")[:300]
    body = base64.b64decode(response["body"]) if response.get("isBase64Encoded") else response["body"].encode()
    if expected["status"] == 200:
        payload = json.loads(body)
        assert set(payload) == {"image_base64", "mime_type"} and payload["mime_type"] == "image/jpeg"
        with Image.open(io.BytesIO(base64.b64decode(payload["image_base64"]))) as image:
            assert image.format == "JPEG"
    elif expected["status"] == 204:
        assert body == b""
    else:
        assert json.loads(body) == {"error": expected["error"]}


# ------------------------------------------------------------------ make invoke and the shell's exports

LEAKS = {
    "TRYON_BACKEND": "sagemaker",
    "TRYON_BEDROCK_VISION_MODEL_ID": "us.leaked.model-v1:0",
    "POWERTOOLS_METRICS_NAMESPACE": "Leaked",
    "TRYON_API_KEYS": "shell-key",
}


def resolved_environment(environment: dict[str, str]) -> dict[str, str]:
    """The function's environment as SAM CLI's code resolves it under this shell environment."""
    if not TOOLS_PYTHON.exists():
        pytest.fail("the SAM CLI is not installed in .tools/: run `make tools` (make test does)")
    result = subprocess.run(
        [str(TOOLS_PYTHON), str(HERE / "sam_local_environment.py"), str(ROOT / "template.yaml"), "TryOnFunction"],
        cwd=ROOT,
        env={**environment, "SAM_CLI_TELEMETRY": "0"},
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    found: dict[str, str] = json.loads(result.stdout.strip().splitlines()[-1])["environment"]
    return found


def test_exported_variables_steer_plain_sam_but_not_make_invoke() -> None:
    from tryon_dev.sam_local import sam_environment

    shell = sam_environment(os.environ)  # this test's own shell carries the Makefile's exports
    clean = resolved_environment(shell)
    assert clean["TRYON_BACKEND"] == "bedrock" and clean["POWERTOOLS_METRICS_NAMESPACE"] == "TryOnDev"
    # SAM's own ranking: the shell beats the template's values, the env-vars file beats the shell.
    leaky = resolved_environment({**shell, **LEAKS})
    assert leaky["TRYON_BACKEND"] == "sagemaker"
    assert leaky["TRYON_BEDROCK_VISION_MODEL_ID"] == "us.leaked.model-v1:0"
    assert leaky["POWERTOOLS_METRICS_NAMESPACE"] == "Leaked"
    assert leaky["TRYON_API_KEYS"] == "local-dev-key"
    # What make invoke hands to sam: the function sees exactly what it sees with a clean shell.
    assert resolved_environment(sam_environment({**shell, **LEAKS})) == clean


def test_make_invoke_runs_sam_local_invoke_without_them(monkeypatch: pytest.MonkeyPatch) -> None:
    from tryon_dev import sam_local

    for name, value in {**LEAKS, "POWERTOOLS_SERVICE_NAME": "tryon", "TRYON_SOMETHING_NEW": "1"}.items():
        monkeypatch.setenv(name, value)
    ran: list[tuple[str, list[str], dict[str, str]]] = []
    monkeypatch.setattr(sam_local.os, "execve", lambda path, argv, env: ran.append((path, argv, env)))
    sam_local.main(["--event", "events/bad-mode.json", "--config-env", "prod"])
    ((path, argv, env),) = ran
    assert path == str(ROOT / ".tools" / "bin" / "sam")
    assert argv[1:] == ["local", "invoke", "TryOnFunction", "--event", "events/bad-mode.json", "--config-env", "prod"]
    assert not [k for k in env if k.startswith(("TRYON_", "POWERTOOLS_"))]
    assert env["PATH"] == os.environ["PATH"]
