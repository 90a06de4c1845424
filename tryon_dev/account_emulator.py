"""A loopback emulator of the account facts `make doctor` reads, where moto has none.

Lambda's ``GetAccountSettings`` (``GET /2016-08-19/account-settings``) and
``GetFunctionConcurrency`` (``GET /2019-09-30/functions/{name}/concurrency``), rest-json; and
Service Quotas' ``ListServiceQuotas`` (JSON 1.1, ``X-Amz-Target: ServiceQuotasV20190624.*``),
with pages of two quotas so clients must follow ``NextToken``. Errors use the real wire format
so the real boto3 clients raise the same ``ClientError`` codes. Point boto3 at it with
``AWS_ENDPOINT_URL_LAMBDA`` and ``AWS_ENDPOINT_URL_SERVICE_QUOTAS``; tests set the facts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote

from tryon_dev.loopback_service import LoopbackService

PAGE_SIZE = 2


@dataclass
class AccountFacts:
    concurrent_executions: int = 1000
    unreserved_concurrent_executions: int = 1000
    # Function name -> its reserved concurrency (absent: no reservation; unknown: not deployed).
    reserved: dict[str, int | None] = field(default_factory=dict)
    # Service code -> quotas as ListServiceQuotas returns them.
    quotas: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


class AccountEmulator(LoopbackService):
    thread_name = "account-emulator"

    def __init__(self, facts: AccountFacts | None = None) -> None:
        super().__init__()
        self.facts = facts or AccountFacts()

    def request_handler(self) -> type[BaseHTTPRequestHandler]:
        return _Handler


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

    def do_GET(self) -> None:
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
