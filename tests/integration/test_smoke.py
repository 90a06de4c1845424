"""`make smoke` against the local server: all PASS on a working API, FAIL and exit 1 otherwise."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from tests.integration.conftest import RunningServer
from tests.loopback import file_host
from tryon_dev.account_emulator import AccountEmulator, AccountFacts, FunctionFacts
from tryon_dev.smoke import URL_MARGIN_SECONDS, client_timeout, function_region

# Long (servers, subprocesses, many requests): a larger limit than the suite's default (pyproject.toml).
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]
ROOT = Path(__file__).resolve().parents[2]
LINE = re.compile(r"^(PASS|FAIL) (studio|environment|wrong key|missing field|no person): (\d{3}) in (\d+\.\d) s")


def smoke(url: str, key: str) -> tuple[int, list[str]]:
    return smoke_with(url, key)


def smoke_with(url: str, key: str, *args: str) -> tuple[int, list[str]]:
    run = subprocess.run(
        [sys.executable, "-m", "tryon_dev.smoke", "--url", url, "--api-key", key, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert "Traceback" not in run.stderr, run.stderr
    return run.returncode, run.stdout.splitlines()


def test_a_working_api_passes_all_five_calls_with_their_latency(dev_server: RunningServer) -> None:
    code, lines = smoke(dev_server.url + "/", dev_server.api_key)  # the URL output ends with a slash
    assert code == 0, lines
    assert lines[0].endswith("(client timeout 915 s: not a function URL: Lambda's maximum, 900 s)")
    results = [LINE.match(text) for text in lines[1:-1]]
    assert [(m.group(1), m.group(2), m.group(3)) for m in results if m] == [
        ("PASS", "studio", "200"),
        ("PASS", "environment", "200"),
        ("PASS", "wrong key", "401"),
        ("PASS", "missing field", "400"),
        ("PASS", "no person", "422"),
    ]
    assert lines[-1] == "all answers as documented"


def test_a_wrong_key_fails_the_generations_and_exits_1(dev_server: RunningServer) -> None:
    code, lines = smoke(dev_server.url, "not-the-key")
    assert code == 1
    assert lines[1].startswith("FAIL studio: 401") and "expected 200" in lines[1]
    assert lines[3].startswith("PASS wrong key: 401")
    assert lines[4].startswith("FAIL missing field: 401")  # authentication comes first
    assert lines[5].startswith("FAIL no person: 401")
    assert lines[-1] == "4 answer(s) off the contract"


def test_something_that_is_not_the_api_fails_every_call() -> None:
    with file_host() as host:
        host.publish("/generate_image", b"<html>hello</html>", "text/html")
        code, lines = smoke(host.base_url, "any")
    assert code == 1
    assert len([text for text in lines if text.startswith("FAIL ")]) == 5


FUNCTION_URL = "https://abcdefghij0123456789.lambda-url.us-east-1.on.aws/"


def lambda_client(url: str) -> object:
    return boto3.client(
        "lambda", endpoint_url=url, region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
    )


def test_the_client_waits_the_deployed_functions_timeout() -> None:
    facts = AccountFacts(functions={"tryon-dev": FunctionFacts(timeout=900, url=FUNCTION_URL)})
    with AccountEmulator(facts) as account:
        seconds, why = client_timeout(FUNCTION_URL.rstrip("/"), "tryon-dev", lambda_client(account.url))
        assert seconds == 900 + URL_MARGIN_SECONDS and "tryon-dev's timeout 900 s" in why
        account.facts.functions["tryon-dev"].timeout = 30
        assert client_timeout(FUNCTION_URL, "tryon-dev", lambda_client(account.url))[0] == 30 + URL_MARGIN_SECONDS
        assert [operation for operation, _ in account.requests] == [
            "GetFunctionUrlConfig",
            "GetFunctionConfiguration",
        ] * 2
        assert account.shape_errors == []


def test_another_functions_url_or_none_falls_back_to_lambdas_maximum() -> None:
    other = "https://zzzzzzzzzz0123456789.lambda-url.us-east-1.on.aws/"
    facts = AccountFacts(functions={"tryon-dev": FunctionFacts(timeout=60, url=other)})
    with AccountEmulator(facts) as account:
        seconds, why = client_timeout(FUNCTION_URL, "tryon-dev", lambda_client(account.url))
        assert seconds == 900 + URL_MARGIN_SECONDS and "not this one" in why
        seconds, why = client_timeout(FUNCTION_URL, "tryon-prod", lambda_client(account.url))
        assert seconds == 900 + URL_MARGIN_SECONDS and "ResourceNotFoundException" in why
    assert function_region(FUNCTION_URL) == "us-east-1"
    assert function_region("http://127.0.0.1:3000/") is None


def test_the_timeout_is_the_one_the_client_uses() -> None:
    with socket.socket() as silent:  # accepts connections (the kernel's backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        code, lines = smoke_with(url, "key", "--timeout", "1")
    assert code == 1
    assert lines[0].endswith("(client timeout 1 s: --timeout)")
    assert re.match(r"^FAIL studio: no answer \(ReadTimeout\) after 1\.\d s$", lines[1]), lines
