"""Run the Lambda handler on a laptop: a dev server, an event invoker, a one-shot generator.

Every HTTP request becomes a function-URL (payload 2.0) event and goes through
``handler.app.handle_event``, so local runs take exactly the Lambda code path.

    python -m handler.local serve [--host 127.0.0.1] [--port 3000] [--api-key KEY] \
        [--emulate-aws bedrock|sagemaker]
    python -m handler.local invoke events/NAME.json [--out result.jpg]
    python -m handler.local generate --selfie PATH --description TEXT [--garment-url URL] \
        --mode studio --out out.jpg
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

TEXT_TYPES = ("application/json", "text/", "application/xml", "application/x-www-form-urlencoded")


@dataclass
class LocalContext:
    """The parts of the Lambda context the handler reads."""

    aws_request_id: str
    deadline: float
    function_name: str = "tryon-local"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:local:000000000000:function:tryon-local"
    memory_limit_in_mb: int = 3008

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


def new_context(timeout_seconds: float) -> LocalContext:
    return LocalContext(aws_request_id=str(uuid.uuid4()), deadline=time.monotonic() + timeout_seconds)


def function_url_event(
    method: str, raw_path: str, headers: dict[str, str], body: bytes, source_ip: str = "127.0.0.1"
) -> dict[str, Any]:
    """The event a Lambda function URL sends for this request (payload format 2.0)."""
    parts = urlsplit(raw_path)
    lowered = {k.lower(): v for k, v in headers.items()}
    content_type = lowered.get("content-type", "")
    is_text = any(content_type.startswith(t) for t in TEXT_TYPES)
    try:
        text_body = body.decode("utf-8") if is_text else None
    except UnicodeDecodeError:
        text_body = None
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": parts.path or "/",
        "rawQueryString": parts.query,
        "headers": lowered,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "local",
            "domainName": lowered.get("host", "localhost"),
            "domainPrefix": "local",
            "http": {
                "method": method.upper(),
                "path": parts.path or "/",
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if parts.query:
        pairs = (p.partition("=") for p in parts.query.split("&"))
        event["queryStringParameters"] = {name: value for name, _, value in pairs}
    if body:
        if text_body is not None:
            event["body"] = text_body
        else:
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
    return event


_flush_lock = threading.Lock()


def invoke(event: dict[str, Any], timeout_seconds: float | None = None) -> dict[str, Any]:
    from handler.app import handle_event, metrics
    from handler.services import get_services

    timeout = timeout_seconds or get_services().settings.local_timeout_seconds
    response = handle_event(event, new_context(timeout))
    _print_metrics(metrics)
    return response


def _print_metrics(metrics: Any) -> None:
    """Print the EMF metrics as Lambda would, without ever costing a request its answer.

    The dev server answers in threads, but Powertools Metrics and the EMF ``print`` are made for
    one request at a time: the log handler's lock keeps the printed blob and log lines from
    interleaving into broken lines, and a metric added by another thread mid-flush only costs
    that blob (the metrics are local-run information; the response is what must not be lost).
    """
    from handler.app import logger

    handler = logger.registered_handler
    with _flush_lock:
        handler.acquire()
        try:
            if metrics.metric_set:  # another thread may have flushed ours already
                metrics.flush_metrics(raise_on_empty_metrics=False)
        except RuntimeError:  # "dictionary changed size during iteration"
            metrics.clear_metrics()
        finally:
            handler.release()


class TryOnRequestHandler(BaseHTTPRequestHandler):
    server_version = "tryon-local"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    max_body_bytes = 6 * 1024 * 1024

    def _handle(self) -> None:
        length_header = self.headers.get("Content-Length")
        try:
            length = int(length_header) if length_header else 0
        except ValueError:
            length = -1
        if length < 0:
            self._send(400, {"Content-Type": "application/json"}, b'{"error":"invalid content-length"}', close=True)
            return
        if length > self.max_body_bytes:
            # Like the function URL: refuse without reading the body, then close.
            self._send(
                413,
                {"Content-Type": "application/json"},
                b'{"error":"request body is too large: the limit is 6 MB"}',
                close=True,
            )
            return
        body = self.rfile.read(length) if length else b""
        headers = dict(self.headers.items())
        event = function_url_event(self.command, self.path, headers, body, self.client_address[0])
        response = invoke(event)
        from handler.app import decode_event_body

        self._send(int(response.get("statusCode", 500)), response.get("headers") or {}, decode_event_body(response))

    def _send(self, status: int, headers: dict[str, str], body: bytes, close: bool = False) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, str(value))
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _handle

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, CONNECT, made-up ones) reaches the handler too, like on a
        # function URL, and gets the API's JSON 404/405 instead of http.server's HTML 501.
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (malformed request line, headers) as JSON, never HTML."""
        # The standard phrase only: http.server's messages quote the client's request line.
        text = self.responses.get(code, ("error",))[0].lower()
        body = json.dumps({"error": text}, separators=(",", ":")).encode()
        self.close_connection = True
        if getattr(self, "command", None) is None:
            self.command = "GET"  # the request line did not parse: answer with a body
        if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
            self.request_version = "HTTP/1.1"  # with a status line and headers, not HTTP/0.9's bare body
        self._send(code, {"Content-Type": "application/json"}, body, close=True)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass  # the handler's structured log line already records every request


class TryOnHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def make_server(host: str, port: int) -> TryOnHTTPServer:
    from handler.services import get_services

    TryOnRequestHandler.max_body_bytes = get_services().settings.max_body_bytes
    return TryOnHTTPServer((host, port), TryOnRequestHandler)


def _configure_keys(api_key: str | None) -> str:
    """Local runs without a secret: the flag, else TRYON_API_KEYS, else a fresh random key."""
    if api_key:
        os.environ["TRYON_API_KEYS"] = api_key
    if not os.environ.get("TRYON_API_KEY_SECRET_ID") and not os.environ.get("TRYON_API_KEYS", "").strip():
        os.environ["TRYON_API_KEYS"] = "local-" + secrets.token_urlsafe(18)
    keys = os.environ.get("TRYON_API_KEYS", "")
    return keys.split(",")[0].strip() if keys else "(from Secrets Manager)"


def start_aws_emulation(backend: str) -> str:
    """Serve the production backend's code path against the loopback AWS model emulator.

    The real boto3 clients are pointed at it with the standard endpoint variables, so requests
    go through serialization, SigV4 signing and error parsing exactly as in production.
    """
    from handler.dev.aws_emulator import AwsModelEmulator

    emulator = AwsModelEmulator(endpoint_names=(os.environ.get("TRYON_SAGEMAKER_ENDPOINT_NAME") or "tryon-vton",))
    emulator.start()
    os.environ["TRYON_BACKEND"] = backend
    os.environ.setdefault("TRYON_SAGEMAKER_ENDPOINT_NAME", "tryon-vton")
    os.environ["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] = emulator.url
    os.environ["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] = emulator.url
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    if not os.environ.get("AWS_ACCESS_KEY_ID"):  # the emulator checks the signature's shape, not its key
        os.environ["AWS_ACCESS_KEY_ID"] = "emulated"
        os.environ["AWS_SECRET_ACCESS_KEY"] = "emulated"  # noqa: S105 - a placeholder for the emulator
    return emulator.url


def cmd_serve(args: argparse.Namespace) -> int:
    key = _configure_keys(args.api_key)
    if args.emulate_aws:
        url = start_aws_emulation(args.emulate_aws)
        print(f"AWS model emulator ({args.emulate_aws}) on {url}", flush=True)
    from handler.services import get_services

    services = get_services()  # load the backend before the first request
    server = make_server(args.host, args.port)
    host, port = str(server.server_address[0]), int(server.server_address[1])
    print(f"try-on API ({services.settings.backend} backend) listening on http://{host}:{port}", flush=True)
    print(f"  POST http://{host}:{port}/generate_image   X-API-Key: {key}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def summarise_body(body: bytes, out: Path | None) -> str:
    """The body with the image replaced by its size (and saved to ``out``)."""
    try:
        payload = json.loads(body)
    except ValueError:
        return body[:500].decode("utf-8", "replace")
    if isinstance(payload, dict) and isinstance(payload.get("image_base64"), str):
        image = base64.b64decode(payload["image_base64"])
        if out is not None:
            out.write_bytes(image)
            payload["image_base64"] = f"<{len(image)} bytes, saved to {out}>"
        else:
            payload["image_base64"] = f"<{len(image)} bytes>"
    return json.dumps(payload)


def cmd_invoke(args: argparse.Namespace) -> int:
    _configure_keys(args.api_key or "local-dev-key")
    event = json.loads(Path(args.event).read_text())
    response = invoke(event)
    from handler.app import decode_event_body

    out = Path(args.out) if args.out else Path(Path(args.event).stem + ".out.jpg")
    body = decode_event_body(response)
    print(f"status: {response.get('statusCode')}")
    print(f"headers: {json.dumps(response.get('headers', {}))}")
    print(f"body: {summarise_body(body, out)}")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    key = _configure_keys(None)
    body = {
        "selfie_base64": base64.b64encode(Path(args.selfie).read_bytes()).decode("ascii"),
        "clothing_description": args.description,
        "mode": args.mode,
    }
    if args.garment_url:
        body["clothing_image_url"] = args.garment_url
    event = function_url_event(
        "POST",
        "/generate_image",
        {"content-type": "application/json", "x-api-key": key},
        json.dumps(body).encode(),
    )
    response = invoke(event)
    from handler.app import decode_event_body

    payload = json.loads(decode_event_body(response))
    if response.get("statusCode") != 200:
        print(f"error {response.get('statusCode')}: {payload.get('error')}", file=sys.stderr)
        return 1
    Path(args.out).write_bytes(base64.b64decode(payload["image_base64"]))
    print(f"wrote {args.out} ({payload['mime_type']})")
    return 0


def main(argv: list[str] | None = None) -> int:
    # What the template sets in Lambda; without a namespace the metrics flush would fail.
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "tryon")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "TryOn")
    parser = argparse.ArgumentParser(prog="python -m handler.local", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the API over HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=3000)
    serve.add_argument("--api-key", help="the API key to accept (default: TRYON_API_KEYS or a random one)")
    serve.add_argument(
        "--emulate-aws",
        choices=("bedrock", "sagemaker"),
        help="use the production backend against the loopback AWS model emulator",
    )
    serve.set_defaults(func=cmd_serve)
    inv = sub.add_parser("invoke", help="run the handler on a sample event")
    inv.add_argument("event")
    inv.add_argument("--out", help="where to save a returned image")
    inv.add_argument("--api-key", help="the API key the handler accepts (default: local-dev-key)")
    inv.set_defaults(func=cmd_invoke)
    gen = sub.add_parser("generate", help="generate one image")
    gen.add_argument("--selfie", required=True)
    gen.add_argument("--description", required=True)
    gen.add_argument("--garment-url")
    gen.add_argument("--mode", choices=("studio", "environment"), default="studio")
    gen.add_argument("--out", default="out.jpg")
    gen.set_defaults(func=cmd_generate)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
