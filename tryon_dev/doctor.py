"""`make doctor`: a preflight of the AWS account and region before (and after) `sam deploy`.

The account, region and credentials are the usual AWS environment's (AWS_PROFILE, AWS_REGION,
...; samconfig.toml's region when none is set). The stack's parameters are those `sam deploy
--config-env ENV` would use (template defaults, then samconfig.toml). One line per check, with
what to do when it is not OK; the exit status is 1 when any check FAILs.

- each configured Bedrock model is invocable: one minimal valid call each (a 64 x 64 image for
  the Stability AI services, a one-word Converse for the vision model). The first call to a
  Marketplace model from a fresh account also subscribes it (your credentials need
  aws-marketplace:Subscribe then). These calls are billed like any other (a few cents);
- the API-key secret exists and holds at least one key (after the first deploy: the stack
  creates it);
- ReservedConcurrency leaves the account's 100 unreserved executions that Lambda requires;
- the Bedrock requests-per-minute quota of each model covers ReservedConcurrency requests in
  flight (a request takes at least ``FASTEST_REQUEST_SECONDS`` and calls each model at most
  ``MAX_ATTEMPTS_PER_CALL`` times).
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import math
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from PIL import Image

from tryon_api.http.auth import parse_api_key_secret
from tryon_api.tryon.errors import TryOnError
from tryon_dev.stack_config import deploy_parameters, samconfig_section

Status = Literal["OK", "WARN", "FAIL"]
LAMBDA_UNRESERVED_FLOOR = 100  # Lambda keeps at least this many executions unreserved
FASTEST_REQUEST_SECONDS = 10  # the model takes 10-30 s per request (docs/API.md)
MAX_ATTEMPTS_PER_CALL = 1  # a quota check at the steady rate; retries only follow failures
MODEL_PARAMETERS = {
    "BedrockSearchReplaceModelId": "search-replace",
    "BedrockInpaintModelId": "inpaint",
    "BedrockRemoveBackgroundModelId": "remove-background",
    "BedrockVisionModelId": "vision",
}


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    todo: str = ""

    def line(self) -> str:
        text = f"{self.status:<4} {self.name}: {self.detail}"
        return f"{text} -> {self.todo}" if self.todo and self.status != "OK" else text


def _png(size: tuple[int, int] = (64, 64), transparent_border: bool = False) -> str:
    image = Image.new("RGBA", size, (200, 60, 60, 255))
    if transparent_border:  # Inpaint fills the transparent pixels
        image.paste((0, 0, 0, 0), (0, 0, size[0], 16))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def minimal_request(kind: str) -> dict[str, Any]:
    """The smallest valid request body for each Stability AI service we use."""
    if kind == "remove-background":
        return {"image": _png(), "output_format": "png"}
    if kind == "inpaint":
        return {"image": _png(transparent_border=True), "prompt": "a plain white wall", "output_format": "png"}
    return {"image": _png(), "prompt": "a plain red t-shirt", "search_prompt": "shirt", "output_format": "png"}


def _error(error: ClientError) -> tuple[str, str]:
    details = error.response.get("Error", {})
    return str(details.get("Code", "")), str(details.get("Message", ""))


def model_advice(code: str, message: str, model_id: str) -> str:
    if code == "AccessDeniedException" and "marketplace" in message.lower():
        return (
            "the account is not subscribed to this Marketplace model: run make doctor once with credentials "
            "allowed aws-marketplace:Subscribe and aws-marketplace:ViewSubscriptions (or deploy: the function "
            "role may subscribe through Bedrock), then wait a few minutes"
        )
    if code == "AccessDeniedException":
        return f"your credentials may not call bedrock:InvokeModel on {model_id} (or the model is not offered here)"
    if code in ("ResourceNotFoundException", "ValidationException"):
        return f"{model_id} is not a model id this region serves: check the Bedrock*ModelId parameters and the region"
    if code in ("ThrottlingException", "ServiceQuotaExceededException"):
        return "the model answered with throttling: the quota is small or in use; see the quota check below"
    return "the model failed: check the Bedrock service health in this region and retry"


def check_model(client: Any, parameter: str, model_id: str) -> Check:
    kind = MODEL_PARAMETERS[parameter]
    name = f"model {model_id}"
    try:
        if kind == "vision":
            answer = client.converse(
                modelId=model_id,
                messages=[{"role": "user", "content": [{"text": "Reply with the word OK."}]}],
                inferenceConfig={"maxTokens": 5},
            )
            stop = answer.get("stopReason", "?")
            return Check(name, "OK", f"invocable (Converse answered, stop reason {stop})")
        response = client.invoke_model(
            modelId=model_id,
            body=json.dumps(minimal_request(kind)),
            contentType="application/json",
            accept="application/json",
        )
        payload = json.loads(response["body"].read())
        reason = (payload.get("finish_reasons") or [None])[0]
        if reason is None and payload.get("images"):
            return Check(name, "OK", "invocable (a 64 x 64 test image came back)")
        return Check(name, "WARN", f"answered without an image (finish reason {reason!r})", "retry make doctor")
    except ClientError as error:
        code, message = _error(error)
        return Check(name, "FAIL", f"{code}: {message[:160]}", model_advice(code, message, model_id))
    except BotoCoreError as error:
        return Check(name, "FAIL", type(error).__name__, "check the network, the region and your credentials")


def check_secret(client: Any, secret_id: str) -> Check:
    name = f"secret {secret_id}"
    try:
        value = client.get_secret_value(SecretId=secret_id)
    except ClientError as error:
        code, message = _error(error)
        if code == "ResourceNotFoundException":
            return Check(
                name,
                "WARN",
                "does not exist yet",
                "sam deploy creates it with one generated key; run make doctor again after the first deploy",
            )
        return Check(name, "FAIL", f"{code}: {message[:160]}", "your credentials need secretsmanager:GetSecretValue")
    try:
        keys = parse_api_key_secret(value.get("SecretString") or "")
    except TryOnError:  # what the function answers 503 for: not JSON, no api_keys field, no key
        keys = ()
    if not keys:
        return Check(
            name,
            "FAIL",
            "holds no API key: the API answers 503 to every request",
            'put {"api_keys": ["<key>"]} into it (docs/deploying.md, Rotating the API key)',
        )
    return Check(name, "OK", f"exists and holds {len(keys)} key{'s' if len(keys) != 1 else ''}")


def check_concurrency(client: Any, function_name: str, reserved: int) -> Check:
    name = "reserved concurrency"
    try:
        limits = client.get_account_settings()["AccountLimit"]
    except ClientError as error:
        code, message = _error(error)
        return Check(name, "FAIL", f"{code}: {message[:160]}", "your credentials need lambda:GetAccountSettings")
    total = int(limits["ConcurrentExecutions"])
    unreserved = int(limits["UnreservedConcurrentExecutions"])
    try:  # a deployed function already holds its reservation: it is given back on update
        held = int(client.get_function_concurrency(FunctionName=function_name).get("ReservedConcurrentExecutions", 0))
    except ClientError:
        held = 0
    left = unreserved + held - reserved
    detail = (
        f"ReservedConcurrency={reserved}; account limit {total}, unreserved {unreserved}"
        + (f" (+{held} held by {function_name})" if held else "")
        + f": {left} would stay unreserved"
    )
    if left >= LAMBDA_UNRESERVED_FLOOR:
        return Check(name, "OK", detail)
    fits = max(0, unreserved + held - LAMBDA_UNRESERVED_FLOOR)
    return Check(
        name,
        "FAIL",
        detail + f", Lambda requires {LAMBDA_UNRESERVED_FLOOR}",
        f"deploy with ReservedConcurrency={fits} or less (0 switches the API off), or ask for a higher "
        "Lambda concurrent-executions quota (Service Quotas > AWS Lambda)",
    )


def _words(model_id: str) -> list[str]:
    """us.stability.stable-image-inpaint-v1:0 -> ['stable', 'image', 'inpaint']."""
    base = model_id.split(".", 2)[-1] if model_id.startswith(("us.", "eu.", "apac.", "global.")) else model_id
    base = base.split(".", 1)[-1]  # the provider
    base = re.sub(r"-v\d+(:\d+)?$", "", base)
    return [w for w in re.split(r"[-.:]", base) if w]


def _all_quotas(client: Any, service_code: str) -> Iterator[dict[str, Any]]:
    token = None
    while True:
        page = client.list_service_quotas(ServiceCode=service_code, **({"NextToken": token} if token else {}))
        yield from page.get("Quotas", [])
        token = page.get("NextToken")
        if not token:
            return


def requests_per_minute_quota(quotas: list[dict[str, Any]], model_id: str) -> dict[str, Any] | None:
    """The requests-per-minute quota for this model (cross-region for a profile id)."""
    words = _words(model_id)
    cross_region = model_id.startswith(("us.", "eu.", "apac.", "global."))
    candidates = []
    for quota in quotas:
        quota_name = str(quota.get("QuotaName", "")).lower()
        if "requests per minute" not in quota_name or not all(w in quota_name for w in words):
            continue
        if ("cross-region" in quota_name) != cross_region:
            continue
        # "Nova 2 Lite" must not take "Nova 2 Lite Sonic"'s quota: the fewest extra words win.
        candidates.append((len(quota_name), quota))
    return min(candidates, key=lambda c: c[0])[1] if candidates else None


def check_quotas(client: Any, model_ids: list[str], reserved: int) -> list[Check]:
    needed = math.ceil(reserved * 60 / FASTEST_REQUEST_SECONDS * MAX_ATTEMPTS_PER_CALL)
    try:
        quotas = list(_all_quotas(client, "bedrock"))
    except ClientError as error:
        code, message = _error(error)
        return [
            Check(
                "bedrock quotas",
                "FAIL",
                f"{code}: {message[:160]}",
                "your credentials need servicequotas:ListServiceQuotas",
            )
        ]
    checks = []
    for model_id in model_ids:
        name = f"quota {model_id}"
        quota = requests_per_minute_quota(quotas, model_id)
        if quota is None:
            checks.append(
                Check(
                    name,
                    "WARN",
                    "no requests-per-minute quota found for this model",
                    "look it up in Service Quotas > Amazon Bedrock and compare it with ReservedConcurrency x 6",
                )
            )
            continue
        value = float(quota["Value"])
        detail = f"{quota['QuotaName']} = {value:g}/min; ReservedConcurrency={reserved} can send {needed}/min"
        if value >= needed:
            checks.append(Check(name, "OK", detail))
        else:
            fits = int(value * FASTEST_REQUEST_SECONDS / 60 / MAX_ATTEMPTS_PER_CALL)
            checks.append(
                Check(
                    name,
                    "WARN",
                    detail + ": callers get 429 before the reserved concurrency is used",
                    f"ask for more ({quota.get('QuotaCode', 'Service Quotas > Amazon Bedrock')}) or deploy with "
                    f"ReservedConcurrency={max(1, fits)}",
                )
            )
    return checks


@dataclass(frozen=True)
class Clients:
    bedrock_runtime: Any
    secretsmanager: Any
    lambda_: Any
    service_quotas: Any

    @classmethod
    def from_environment(cls, region: str | None) -> Clients:
        session = boto3.session.Session(region_name=region)
        model = Config(retries={"mode": "standard", "total_max_attempts": 1}, read_timeout=120)
        return cls(
            bedrock_runtime=session.client("bedrock-runtime", config=model),
            secretsmanager=session.client("secretsmanager"),
            lambda_=session.client("lambda"),
            service_quotas=session.client("service-quotas"),
        )


def run_checks(parameters: dict[str, str], clients: Clients) -> list[Check]:
    environment = parameters["Environment"]
    reserved = int(parameters["ReservedConcurrency"])
    checks: list[Check] = []
    model_ids = [parameters[p] for p in MODEL_PARAMETERS]
    if parameters["Backend"] == "bedrock":
        checks.extend(check_model(clients.bedrock_runtime, p, parameters[p]) for p in MODEL_PARAMETERS)
    checks.append(check_secret(clients.secretsmanager, f"tryon/{environment}/api-keys"))
    checks.append(check_concurrency(clients.lambda_, f"tryon-{environment}", reserved))
    if parameters["Backend"] == "bedrock":
        checks.extend(check_quotas(clients.service_quotas, model_ids, reserved))
    return checks


def main(argv: list[str] | None = None, make_clients: Callable[[str | None], Clients] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make doctor", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config-env", default="default", help="samconfig.toml environment (default, prod)")
    parser.add_argument("--parameter-overrides", default="", help='as for sam deploy: "Key=Value Key2=Value2"')
    args = parser.parse_args(argv)
    from tryon_dev.stack_config import parse_parameter_overrides

    parameters = deploy_parameters(args.config_env, parse_parameter_overrides(args.parameter_overrides))
    region = boto3.session.Session().region_name or samconfig_section(args.config_env, "deploy").get("region")
    print(f"make doctor: stack tryon-{parameters['Environment']} ({args.config_env}), region {region}", flush=True)
    clients = (make_clients or Clients.from_environment)(region)
    checks = run_checks(parameters, clients)
    for check in checks:
        print(check.line(), flush=True)
    failed = [c for c in checks if c.status == "FAIL"]
    warned = [c for c in checks if c.status == "WARN"]
    print(f"{len(checks) - len(failed) - len(warned)} OK, {len(warned)} WARN, {len(failed)} FAIL", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
