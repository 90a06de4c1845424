"""A loopback emulator of the account facts `make doctor` and `make smoke` read, where moto has none.

Lambda's ``GetAccountSettings`` (``GET /2016-08-19/account-settings``) and
``GetFunctionConcurrency`` (``GET /2019-09-30/functions/{name}/concurrency``), rest-json; and
Service Quotas' ``ListServiceQuotas`` (JSON 1.1, ``X-Amz-Target: ServiceQuotasV20190624.*``),
with pages of two quotas so clients must follow ``NextToken``. Errors use the real wire format
so the real boto3 clients raise the same ``ClientError`` codes. Point boto3 at it with
``AWS_ENDPOINT_URL_LAMBDA`` and ``AWS_ENDPOINT_URL_SERVICE_QUOTAS``; tests set the facts.

The operations in ``ROUTES`` are routed by the request URIs of botocore's service models, and
their answers are checked against the models' output shapes before they are sent
(``tryon_dev.aws_shapes``): Bedrock's model access (``GetFoundationModelAvailability``,
``ListFoundationModelAgreementOffers``, ``CreateFoundationModelAgreement``; point boto3 at it
with ``AWS_ENDPOINT_URL_BEDROCK``) and Lambda's ``GetFunctionConfiguration`` and
``GetFunctionUrlConfig``. Each request's SigV4 region is recorded (``requests``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tryon_dev.aws_shapes import ShapeMismatch, check_output, http_route
from tryon_dev.loopback_service import LoopbackService

PAGE_SIZE = 2
ACCOUNT = "123456789012"
CREATED = "2026-01-01T00:00:00.000+0000"


@dataclass
class ModelAccess:
    """One foundation model's state as GetFoundationModelAvailability reports it."""

    agreement: str = "AVAILABLE"  # AVAILABLE | PENDING | NOT_AVAILABLE | ERROR
    agreement_error: str = ""
    authorized: bool = True
    entitled: bool = True
    in_region: bool = True


@dataclass
class FunctionFacts:
    timeout: int = 180
    url: str = ""


class EmulatedError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class AccountFacts:
    concurrent_executions: int = 1000
    unreserved_concurrent_executions: int = 1000
    # Function name -> its reserved concurrency (absent: no reservation; unknown: not deployed).
    reserved: dict[str, int | None] = field(default_factory=dict)
    # Service code -> quotas as ListServiceQuotas returns them.
    quotas: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # Foundation model id -> its access state (unknown ids: ResourceNotFoundException).
    models: dict[str, ModelAccess] = field(default_factory=dict)
    # Function name -> what GetFunctionConfiguration / GetFunctionUrlConfig answer.
    functions: dict[str, FunctionFacts] = field(default_factory=dict)


class AccountEmulator(LoopbackService):
    thread_name = "account-emulator"

    def __init__(self, facts: AccountFacts | None = None) -> None:
        super().__init__()
        self.facts = facts or AccountFacts()
        self.requests: list[tuple[str, str]] = []  # (operation, SigV4 region)
        self.agreements: list[tuple[str, str]] = []  # (model id, offer token) of each agreement created
        self.shape_errors: list[str] = []  # answers botocore's model does not describe (none expected)

    def request_handler(self) -> type[BaseHTTPRequestHandler]:
        return _Handler


def _model(facts: AccountFacts, model_id: str) -> ModelAccess:
    if model_id not in facts.models:
        raise EmulatedError(404, "ResourceNotFoundException", f"Model {model_id} not found")
    return facts.models[model_id]


def _availability(emulator: AccountEmulator, params: dict[str, str], _: dict[str, Any]) -> dict[str, Any]:
    access = _model(emulator.facts, params["modelId"])
    agreement: dict[str, Any] = {"status": access.agreement}
    if access.agreement_error:
        agreement["errorMessage"] = access.agreement_error
    return {
        "modelId": params["modelId"],
        "agreementAvailability": agreement,
        "authorizationStatus": "AUTHORIZED" if access.authorized else "NOT_AUTHORIZED",
        "entitlementAvailability": "AVAILABLE" if access.entitled else "NOT_AVAILABLE",
        "regionAvailability": "AVAILABLE" if access.in_region else "NOT_AVAILABLE",
    }


def _offer_token(model_id: str) -> str:
    return f"offer-token-{model_id}"


def _offers(emulator: AccountEmulator, params: dict[str, str], _: dict[str, Any]) -> dict[str, Any]:
    model_id = params["modelId"]
    _model(emulator.facts, model_id)
    if params.get("offerType", "PUBLIC") not in ("ALL", "PUBLIC"):
        raise EmulatedError(400, "ValidationException", "offerType must be ALL or PUBLIC")
    terms = {
        "usageBasedPricingTerm": {"rateCard": [{"dimension": "image", "price": "0.04", "unit": "image"}]},
        "legalTerm": {"url": "https://example.invalid/eula"},
        "supportTerm": {"refundPolicyDescription": "none"},
    }
    offer = {"offerId": f"offer-{model_id}", "offerToken": _offer_token(model_id), "termDetails": terms}
    return {"modelId": model_id, "offers": [offer]}


def _create_agreement(emulator: AccountEmulator, _: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    model_id, token = str(body.get("modelId", "")), str(body.get("offerToken", ""))
    access = _model(emulator.facts, model_id)
    if token != _offer_token(model_id):
        raise EmulatedError(400, "ValidationException", "The offer token is not valid for this model")
    if access.agreement in ("AVAILABLE", "PENDING"):
        raise EmulatedError(400, "ConflictException", "An agreement for this model already exists")
    emulator.agreements.append((model_id, token))
    access.agreement, access.agreement_error = "PENDING", ""  # Marketplace takes minutes to entitle
    return {"modelId": model_id}


def _function(emulator: AccountEmulator, name: str) -> FunctionFacts:
    if name not in emulator.facts.functions:
        raise EmulatedError(404, "ResourceNotFoundException", f"Function not found: arn:aws:lambda:::{name}")
    return emulator.facts.functions[name]


def _function_arn(name: str) -> str:
    return f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}"


def _function_configuration(emulator: AccountEmulator, params: dict[str, str], _: dict[str, Any]) -> dict[str, Any]:
    name = params["FunctionName"]
    facts = _function(emulator, name)
    return {"FunctionName": name, "FunctionArn": _function_arn(name), "Timeout": facts.timeout, "MemorySize": 1024}


def _function_url(emulator: AccountEmulator, params: dict[str, str], _: dict[str, Any]) -> dict[str, Any]:
    name = params["FunctionName"]
    facts = _function(emulator, name)
    if not facts.url:
        raise EmulatedError(404, "ResourceNotFoundException", "The resource you requested does not exist.")
    return {
        "FunctionUrl": facts.url,
        "FunctionArn": _function_arn(name),
        "AuthType": "NONE",
        "CreationTime": CREATED,
        "LastModifiedTime": CREATED,
    }


Answer = Callable[[AccountEmulator, dict[str, str], dict[str, Any]], dict[str, Any]]
ROUTES: dict[tuple[str, str], Answer] = {
    ("bedrock", "GetFoundationModelAvailability"): _availability,
    ("bedrock", "ListFoundationModelAgreementOffers"): _offers,
    ("bedrock", "CreateFoundationModelAgreement"): _create_agreement,
    ("lambda", "GetFunctionConfiguration"): _function_configuration,
    ("lambda", "GetFunctionUrlConfig"): _function_url,
}


def _compile(service: str, operation: str) -> tuple[str, re.Pattern[str], int]:
    method, uri, status = http_route(service, operation)
    path = uri.split("?")[0]
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
    return method, re.compile(f"^{pattern}$"), status


_COMPILED = [(key, *_compile(*key)) for key in ROUTES]
_REGION = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/")


class _Handler(BaseHTTPRequestHandler):
    emulator: AccountEmulator
    protocol_version = "HTTP/1.1"

    def _answer(self, status: int, body: dict[str, Any], error: str = "", json_version: str = "") -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header(
            "Content-Type", f"application/x-amz-json-{json_version}" if json_version else "application/json"
        )
        if error:
            self.send_header("x-amzn-ErrorType", f"{error}:http://internal.amazon.com/")
        self.send_header("x-amzn-RequestId", "emulated")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _routed(self, method: str) -> bool:
        """Answer one of ``ROUTES`` (True), or leave the request to the hand-written handlers."""
        split = urlsplit(self.path)
        for (service, operation), route_method, pattern, status in _COMPILED:
            match = pattern.match(split.path)
            if route_method != method or match is None:
                continue
            region = _REGION.search(self.headers.get("Authorization", ""))
            self.emulator.requests.append((operation, region.group(1) if region else ""))
            params = {k: unquote(v) for k, v in match.groupdict().items()}
            params.update({k: v[0] for k, v in parse_qs(split.query).items()})
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}") if length else {}
            try:
                answer = check_output(service, operation, ROUTES[(service, operation)](self.emulator, params, body))
            except EmulatedError as error:
                self._answer(error.status, {"message": error.message}, error=error.code)
            except ShapeMismatch as error:  # the emulator's own bug: loud, never a quiet pass
                self.emulator.shape_errors.append(str(error))
                self._answer(500, {"message": f"emulator answer off the model: {error}"}, "InternalServerException")
            else:
                self._answer(status, answer)
            return True
        return False

    def do_GET(self) -> None:
        if self._routed("GET"):
            return
        facts = self.emulator.facts
        parts = [unquote(p) for p in self.path.split("?")[0].strip("/").split("/")]
        if parts == ["2016-08-19", "account-settings"]:
            self._answer(
                200,
                {
                    "AccountLimit": {
                        "ConcurrentExecutions": facts.concurrent_executions,
                        "UnreservedConcurrentExecutions": facts.unreserved_concurrent_executions,
                    },
                    "AccountUsage": {"FunctionCount": len(facts.reserved)},
                },
            )
        elif len(parts) == 4 and parts[:2] == ["2019-09-30", "functions"] and parts[3] == "concurrency":
            if parts[2] not in facts.reserved:
                self._answer(
                    404,
                    {"Type": "User", "Message": f"Function not found: {parts[2]}"},
                    error="ResourceNotFoundException",
                )
                return
            reserved = facts.reserved[parts[2]]
            self._answer(200, {} if reserved is None else {"ReservedConcurrentExecutions": reserved})
        else:
            self._answer(404, {"message": "unknown operation"}, error="UnknownOperationException")

    def do_POST(self) -> None:
        if self._routed("POST"):
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        target = self.headers.get("X-Amz-Target", "")
        if target != "ServiceQuotasV20190624.ListServiceQuotas":
            self._answer(400, {"__type": "UnknownOperationException"}, "UnknownOperationException", "1.1")
            return
        quotas = self.emulator.facts.quotas.get(body.get("ServiceCode", ""))
        if quotas is None:
            self._answer(400, {"__type": "NoSuchResourceException", "Message": "no such service"}, "", "1.1")
            return
        start = int(body.get("NextToken") or 0)
        page: dict[str, Any] = {"Quotas": quotas[start : start + PAGE_SIZE]}
        if start + PAGE_SIZE < len(quotas):
            page["NextToken"] = str(start + PAGE_SIZE)
        self._answer(200, page, json_version="1.1")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass
