"""`make doctor`: a preflight of the AWS account and region before (and after) `sam deploy`.

The region and the stack's parameters are those `sam deploy --config-env ENV` uses: samconfig.toml's
region (the shell's only when samconfig.toml names none), and the parameters of the deployed
stack when it exists, else the template defaults under samconfig.toml's ``parameter_overrides``.
The credentials are the usual AWS environment's. One line per check, with what to do when it
is not OK; the exit status is 1 when any check FAILs.

- each configured Bedrock model's availability to this account in this region
  (``GetFoundationModelAvailability``: the Marketplace agreement, the caller's authorization,
  the entitlement, the region). Nothing is billed and nothing is subscribed;
- with ``--invoke`` (``make doctor INVOKE=1``) also one minimal valid, billed call per model
  (a 64 x 64 image for the Stability AI services, a one-word Converse for the vision model);
- the API-key secret exists and holds at least one key (after the first deploy: the stack
  creates it);
- ReservedConcurrency plus the jobs worker's WorkerConcurrency (both reserved by the stack)
  leave the account's 100 unreserved executions that Lambda requires;
- content moderation is on (a WARN when the stack's ModerationLevel is off: nothing the API
  answers or stores is checked then, but for selfies that appear to show a minor);
- the Bedrock requests-per-minute quota of each model covers ReservedConcurrency requests and
  WorkerConcurrency jobs in flight (a request takes at least ``FASTEST_REQUEST_SECONDS`` and calls each model at most
  ``MAX_ATTEMPTS_PER_CALL`` times).

``--subscribe`` (``make subscribe``) is the one-time step that accepts each configured model's
public Marketplace offer (``ListFoundationModelAgreementOffers``, then
``CreateFoundationModelAgreement``) with your credentials; the function's role holds no
Marketplace permission.
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
from tryon_dev.stack_config import (
    deploy_parameters,
    deploy_region,
    deploy_stack_name,
    parse_parameter_overrides,
    stack_parameters,
)

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


SUBSCRIBE = (
    "run make subscribe once (credentials allowed bedrock:ListFoundationModelAgreementOffers, "
    "bedrock:CreateFoundationModelAgreement, aws-marketplace:Subscribe and aws-marketplace:ViewSubscriptions), "
    "or open the model in the Bedrock console (Model catalog) and accept its offer; then make doctor again"
)
CROSS_REGION_PREFIXES = ("us.", "eu.", "apac.", "global.", "us-gov.", "jp.", "au.", "ca.")


def foundation_model_id(model_id: str) -> str:
    """us.stability.stable-image-inpaint-v1:0 -> stability.stable-image-inpaint-v1:0 (what is subscribed)."""
    for prefix in CROSS_REGION_PREFIXES:
        if model_id.startswith(prefix):
            return model_id[len(prefix) :]
    return model_id


def availability_problems(answer: dict[str, Any], region: str) -> list[tuple[str, str]]:
    """(what is not ready, what to do) for each of the four states that is not ready."""
    problems = []
    if answer.get("regionAvailability") != "AVAILABLE":
        problems.append(
            (
                f"not offered in {region}",
                "deploy to a region that serves it (samconfig.toml region; aws bedrock list-foundation-models "
                "--region <region>) or choose another Bedrock*ModelId",
            )
        )
    agreement = answer.get("agreementAvailability", {})
    status, error = agreement.get("status"), agreement.get("errorMessage", "")
    if status == "NOT_AVAILABLE":
        problems.append(("no Marketplace agreement (the account has not subscribed)", SUBSCRIBE))
    elif status == "PENDING":
        problems.append(
            (
                "the Marketplace subscription is being set up (up to 15 minutes; calls may succeed, then fail)",
                "wait, then make doctor again until it is OK; do not deploy traffic on it yet",
            )
        )
    elif status == "ERROR":
        problems.append(
            (
                f"the Marketplace subscription failed ({error[:160] or 'no message'})",
                "fix what the message says (often the account's payment method or Marketplace permissions), "
                "then run make subscribe again",
            )
        )
    if answer.get("authorizationStatus") != "AUTHORIZED":
        problems.append(
            (
                "not authorized for these credentials",
                "an IAM policy or an organisation SCP denies this model: allow bedrock:InvokeModel on it "
                "(and the Marketplace actions of make subscribe), or ask the account's administrator",
            )
        )
    if answer.get("entitlementAvailability") != "AVAILABLE" and status not in ("NOT_AVAILABLE", "PENDING", "ERROR"):
        problems.append(
            (
                "no entitlement although the agreement exists",
                "AWS Marketplace > Manage subscriptions: the Stability AI subscription must be active (a "
                "License Manager grant for an organisation's accounts must be activated); wait 2 minutes after "
                "fixing, then make doctor again",
            )
        )
    return problems


def check_availability(client: Any, model_id: str, region: str) -> Check:
    foundation = foundation_model_id(model_id)
    name = f"access {model_id}"
    try:
        answer = client.get_foundation_model_availability(modelId=foundation)
    except ClientError as error:
        code, message = _error(error)
        if code == "AccessDeniedException":
            todo = "your credentials need bedrock:GetFoundationModelAvailability"
        elif code in ("ResourceNotFoundException", "ValidationException"):
            todo = f"{foundation} is not a model Bedrock knows: check the Bedrock*ModelId parameters"
        else:
            todo = "retry make doctor; check the Bedrock service health in this region"
        return Check(name, "FAIL", f"{code}: {message[:160]}", todo)
    except BotoCoreError as error:
        return Check(name, "FAIL", type(error).__name__, "check the network, the region and your credentials")
    problems = availability_problems(answer, region)
    if not problems:
        return Check(name, "OK", f"{foundation}: agreement, authorization, entitlement and region all available")
    return Check(name, "FAIL", "; ".join(p for p, _ in problems), " AND ".join(t for _, t in problems))


def subscribe(client: Any, model_id: str, region: str) -> Check:
    """Accept the model's public offer when it has no agreement yet (or a failed one)."""
    foundation = foundation_model_id(model_id)
    name = f"subscribe {model_id}"
    try:
        status = client.get_foundation_model_availability(modelId=foundation)["agreementAvailability"]["status"]
        if status in ("AVAILABLE", "PENDING"):
            return Check(name, "OK", f"agreement already {status}")
        offers = client.list_foundation_model_agreement_offers(modelId=foundation, offerType="PUBLIC")["offers"]
        if not offers:
            return Check(name, "FAIL", "no public offer", "subscribe in the Bedrock console (Model catalog)")
        client.create_foundation_model_agreement(modelId=foundation, offerToken=offers[0]["offerToken"])
    except ClientError as error:
        code, message = _error(error)
        return Check(name, "FAIL", f"{code}: {message[:160]}", SUBSCRIBE.replace("run make subscribe once", "use"))
    return Check(name, "OK", "offer accepted: the subscription takes up to 15 minutes; make doctor shows when")


def model_advice(code: str, message: str, model_id: str) -> str:
    if code == "AccessDeniedException" and "marketplace" in message.lower():
        return f"the account is not subscribed to this Marketplace model: {SUBSCRIBE}"
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


def check_concurrency(client: Any, function_name: str, reserved: int, worker_name: str = "", worker: int = 0) -> Check:
    """The API function's reservation and the jobs worker's, against the account's limit."""
    name = "reserved concurrency"
    try:
        limits = client.get_account_settings()["AccountLimit"]
    except ClientError as error:
        code, message = _error(error)
        return Check(name, "FAIL", f"{code}: {message[:160]}", "your credentials need lambda:GetAccountSettings")
    total = int(limits["ConcurrentExecutions"])
    unreserved = int(limits["UnreservedConcurrentExecutions"])
    held_by = {}
    for function in (function_name, worker_name) if worker_name else (function_name,):
        try:  # a deployed function already holds its reservation: it is given back on update
            answer = client.get_function_concurrency(FunctionName=function)
            held_by[function] = int(answer.get("ReservedConcurrentExecutions", 0))
        except ClientError:
            held_by[function] = 0
    held = sum(held_by.values())
    left = unreserved + held - reserved - worker
    detail = (
        f"ReservedConcurrency={reserved}"
        + (f" + WorkerConcurrency={worker}" if worker_name else "")
        + f"; account limit {total}, unreserved {unreserved}"
        + "".join(f" (+{n} held by {f})" for f, n in held_by.items() if n)
        + f": {left} would stay unreserved"
    )
    if left >= LAMBDA_UNRESERVED_FLOOR:
        return Check(name, "OK", detail)
    fits = max(0, unreserved + held - worker - LAMBDA_UNRESERVED_FLOOR)
    return Check(
        name,
        "FAIL",
        detail + f", Lambda requires {LAMBDA_UNRESERVED_FLOOR}",
        f"deploy with ReservedConcurrency={fits} or less (0 switches the API off)"
        + (" or a smaller WorkerConcurrency (at least 2)" if worker_name else "")
        + ", or ask for a higher Lambda concurrent-executions quota (Service Quotas > AWS Lambda)",
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


def check_quotas(client: Any, model_ids: list[str], reserved: int, worker: int = 0) -> list[Check]:
    """Requests (the API's) and jobs (the worker's) in flight both call the models."""
    needed = math.ceil((reserved + worker) * 60 / FASTEST_REQUEST_SECONDS * MAX_ATTEMPTS_PER_CALL)
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
        sources = f"ReservedConcurrency={reserved}" + (f" + WorkerConcurrency={worker}" if worker else "")
        detail = f"{quota['QuotaName']} = {value:g}/min; {sources} can send {needed}/min"
        if value >= needed:
            checks.append(Check(name, "OK", detail))
        else:
            fits = int(value * FASTEST_REQUEST_SECONDS / 60 / MAX_ATTEMPTS_PER_CALL) - worker
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
    region: str
    bedrock: Any
    bedrock_runtime: Any
    secretsmanager: Any
    lambda_: Any
    service_quotas: Any
    cloudformation: Any

    @classmethod
    def from_environment(cls, region: str | None) -> Clients:
        session = boto3.session.Session(region_name=region)
        model = Config(retries={"mode": "standard", "total_max_attempts": 1}, read_timeout=120)
        return cls(
            region=session.region_name or "",
            bedrock=session.client("bedrock"),
            bedrock_runtime=session.client("bedrock-runtime", config=model),
            secretsmanager=session.client("secretsmanager"),
            lambda_=session.client("lambda"),
            service_quotas=session.client("service-quotas"),
            cloudformation=session.client("cloudformation"),
        )


def check_moderation(parameters: dict[str, str]) -> list[Check]:
    """Nothing when moderation is on; a WARN when the stack turns it off."""
    if parameters.get("ModerationLevel", "permissive") != "off":
        return []
    return [
        Check(
            "content moderation",
            "WARN",
            "ModerationLevel=off: descriptions, garment photos and generated images are not checked "
            "(selfies that appear to show a minor still are, conservatively)",
            "moderate elsewhere, or deploy with ModerationLevel=permissive (docs/API.md, Content moderation)",
        )
    ]


def run_checks(parameters: dict[str, str], clients: Clients, invoke: bool = False) -> list[Check]:
    environment = parameters["Environment"]
    reserved = int(parameters["ReservedConcurrency"])
    worker = int(parameters.get("WorkerConcurrency", 0))
    checks: list[Check] = []
    model_ids = [parameters[p] for p in MODEL_PARAMETERS]
    if parameters["Backend"] == "bedrock":
        checks.extend(check_availability(clients.bedrock, m, clients.region) for m in model_ids)
        if invoke:
            checks.extend(check_model(clients.bedrock_runtime, p, parameters[p]) for p in MODEL_PARAMETERS)
    checks.extend(check_moderation(parameters))
    checks.append(check_secret(clients.secretsmanager, f"tryon/{environment}/api-keys"))
    worker_name = f"tryon-{environment}-jobs-worker" if worker else ""
    checks.append(check_concurrency(clients.lambda_, f"tryon-{environment}", reserved, worker_name, worker))
    if parameters["Backend"] == "bedrock":
        checks.extend(check_quotas(clients.service_quotas, model_ids, reserved, worker))
    return checks


def resolve_parameters(config_env: str, overrides: dict[str, str], clients: Clients) -> tuple[dict[str, str], str]:
    """The deployed stack's parameters when it exists, else what sam deploy would use; and which."""
    parameters = deploy_parameters(config_env)
    stack = deploy_stack_name(config_env)
    try:
        deployed = stack_parameters(clients.cloudformation, stack)
    except (ClientError, BotoCoreError) as error:
        deployed, source = None, f"samconfig.toml [{config_env}] (stack {stack} unreadable: {type(error).__name__})"
    else:
        source = f"samconfig.toml [{config_env}] (stack {stack} not deployed yet)"
    if deployed is not None:
        parameters.update(deployed)
        source = f"stack {stack} as deployed"
    parameters.update(overrides)
    return parameters, source


def main(argv: list[str] | None = None, make_clients: Callable[[str | None], Clients] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make doctor", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config-env", default="default", help="samconfig.toml environment (default, prod)")
    parser.add_argument("--parameter-overrides", default="", help='as for sam deploy: "Key=Value Key2=Value2"')
    parser.add_argument("--region", default=None, help="as for sam deploy --region (default: samconfig.toml's)")
    parser.add_argument("--invoke", action="store_true", help="also one billed minimal call per model")
    parser.add_argument("--subscribe", action="store_true", help="accept each model's Marketplace offer (once)")
    args = parser.parse_args(argv)
    region = args.region or deploy_region(args.config_env, boto3.session.Session().region_name)
    clients = (make_clients or Clients.from_environment)(region)
    overrides = parse_parameter_overrides(args.parameter_overrides)
    parameters, source = resolve_parameters(args.config_env, overrides, clients)
    print(
        f"make {'subscribe' if args.subscribe else 'doctor'}: stack {deploy_stack_name(args.config_env)} "
        f"({args.config_env}), region {clients.region}, parameters of {source}",
        flush=True,
    )
    if args.subscribe:
        models = [parameters[p] for p in MODEL_PARAMETERS]
        checks = [subscribe(clients.bedrock, m, clients.region) for m in dict.fromkeys(models)]
    else:
        checks = run_checks(parameters, clients, invoke=args.invoke)
    for check in checks:
        print(check.line(), flush=True)
    failed = [c for c in checks if c.status == "FAIL"]
    warned = [c for c in checks if c.status == "WARN"]
    print(f"{len(checks) - len(failed) - len(warned)} OK, {len(warned)} WARN, {len(failed)} FAIL", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
