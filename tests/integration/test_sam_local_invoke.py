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
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.cfn_template import default, load_template
from tryon_dev.aws_emulator import AwsModelEmulator
from tryon_dev.moderation_emulator import ModerationEmulator
from tryon_dev.person_check_emulator import RekognitionEmulator

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

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


def sam_resolved(function: str) -> dict[str, Any]:
    """What SAM CLI resolves for `sam local invoke FUNCTION` with samconfig's local settings, from
    the build that `make sam-build` left (checked against the source first)."""
    _require_build()
    source = {k: v for k, v in _digest(ROOT / "tryon_api").items() if not k.startswith("backends/embedded")}
    assert _digest(BUILD / function / "tryon_api") == source, "stale .aws-sam/build: run `make sam-build`"
    result = subprocess.run(
        [str(TOOLS_PYTHON), str(HERE / "sam_local_environment.py"), str(BUILD / "template.yaml"), function],
        cwd=ROOT,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    resolved: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return resolved


@pytest.fixture(scope="module")
def sam() -> dict[str, Any]:
    return sam_resolved("TryOnFunction")


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
    # One Rekognition endpoint: the person check's DetectFaces and image moderation's labels.
    with AwsModelEmulator() as emulator, ModerationEmulator(faces=RekognitionEmulator()) as rekognition:
        environment = {
            **sam["environment"],
            "PYTHONPATH": str(code),  # the runtime's task root
            "PYTHONDONTWRITEBYTECODE": "1",  # leave the build as sam built it
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": emulator.url,  # where Bedrock is, for this test
            "AWS_ENDPOINT_URL_REKOGNITION": rekognition.url,  # the template's person check and image checks
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


# ---------------------------------------------------------------- the jobs worker: events/worker/

WORKER_EVENTS = sorted((EVENTS / "worker").glob("*.json"))


@pytest.fixture(scope="module")
def sam_worker() -> dict[str, Any]:
    return sam_resolved("JobWorkerFunction")


def test_sam_runs_the_worker_handler_from_its_own_build_with_the_jobs_variables(sam_worker: dict[str, Any]) -> None:
    assert sam_worker["handler"] == "tryon_api.entrypoints.queue_worker.lambda_handler"
    assert Path(sam_worker["code"]) == BUILD / "JobWorkerFunction"
    environment = sam_worker["environment"]
    # SAM gives a resource's Ref as its logical id; `--env-vars` puts the deployed names there.
    for name, resource in (
        ("TRYON_JOBS_TABLE_NAME", "JobsTable"),
        ("TRYON_JOBS_BUCKET_NAME", "JobsBucket"),
        ("TRYON_JOBS_QUEUE_URL", "JobsQueue"),
        ("TRYON_WEBHOOK_SECRET_ID", "WebhookSecret"),
    ):
        assert name in sam_worker["declared"] and environment[name] == resource
    assert "TRYON_API_KEY_SECRET_ID" not in sam_worker["declared"]  # the worker never reads the API keys
    template = load_template()
    assert environment["AWS_LAMBDA_FUNCTION_TIMEOUT"] == str(default(template, "WorkerTimeoutSeconds"))


def test_each_worker_event_runs_in_the_built_worker_under_sams_environment(
    sam_worker: dict[str, Any], tmp_path: Path
) -> None:
    """The sample events through the built handler, its AWS calls answered by a moto server on
    loopback (AWS_ENDPOINT_URL): their job id is unknown, so each message runs nothing and succeeds."""
    import boto3
    from moto.server import ThreadedMotoServer

    from tests.integration.jobs.aws_resources import create_jobs_resources

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        # moto's state is per process: a table another test of this worker made is dropped first.
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10)
        clients = {
            name: boto3.client(name, region_name="us-east-1", endpoint_url=endpoint)
            for name in ("dynamodb", "s3", "sqs", "secretsmanager")
        }
        names = create_jobs_resources(clients["dynamodb"], clients["s3"], clients["sqs"])
        secret = clients["secretsmanager"].create_secret(Name="tryon/dev/webhook-secret", SecretString="s" * 48)
        environment = {
            **sam_worker["environment"],
            # What `--env-vars` would give for a deployed stack: the names of its resources.
            "TRYON_JOBS_TABLE_NAME": names["table"],
            "TRYON_JOBS_BUCKET_NAME": names["bucket"],
            "TRYON_JOBS_QUEUE_URL": names["queue_url"],
            "TRYON_WEBHOOK_SECRET_ID": secret["ARN"],
            "AWS_ENDPOINT_URL": endpoint,
            "PYTHONPATH": sam_worker["code"],
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        results = tmp_path / "results.jsonl"
        run = subprocess.run(
            [sys.executable, str(HERE / "sam_invoke_driver.py"), str(results), *map(str, WORKER_EVENTS)],
            cwd=sam_worker["code"],
            env=environment,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        server.stop()
    assert run.returncode == 0, run.stderr[-3000:]
    records = [json.loads(line) for line in results.read_text().splitlines()]
    assert [r["event"] for r in records] == [p.name for p in WORKER_EVENTS]
    assert all(Path(r["module"]).resolve().is_relative_to(Path(sam_worker["code"])) for r in records)
    assert [r["response"] for r in records] == [{"batchItemFailures": []}] * len(WORKER_EVENTS)


@pytest.mark.parametrize("path", WORKER_EVENTS, ids=lambda p: p.name)
def test_each_worker_event_has_the_shape_of_sams_own_sqs_event(path: Path) -> None:
    """`sam local invoke -e` passes the file as it is; SAM's `generate-event sqs receive-message`
    template (shipped with the SAM CLI in .tools/) is the shape Lambda sends."""
    if not TOOLS_PYTHON.exists():
        pytest.fail("the SAM CLI is not installed in .tools/: run `make tools` (make test does)")
    (sam_sample,) = (ROOT / ".tools").glob(
        "lib/python3*/site-packages/samcli/lib/generated_sample_events/events/sqs/Sqs.json"
    )
    (reference,) = json.loads(sam_sample.read_text())["Records"]
    records = json.loads(path.read_text())["Records"]
    assert records
    for record in records:
        assert set(record) == set(reference)
        assert set(record["attributes"]) == set(reference["attributes"])
        assert record["eventSource"] == reference["eventSource"] == "aws:sqs"
        assert record["md5OfBody"] == hashlib.md5(record["body"].encode(), usedforsecurity=False).hexdigest()
