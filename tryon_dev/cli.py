"""The dev CLI: a local server, an event invoker, a one-shot generator, all on the Lambda code path.

Every HTTP request becomes a function-URL (payload 2.0) event and goes through
``tryon_api.http.app.handle_event``, so local runs take exactly the Lambda code path.

    python -m tryon_dev serve [--host 127.0.0.1] [--port 3000] [--api-key KEY] \
        [--emulate-aws bedrock|sagemaker] [--sagemaker-model-url URL]
    python -m tryon_dev invoke events/NAME.json [--out result.jpg]
    python -m tryon_dev generate --selfie PATH --description TEXT [--garment-url URL] \
        --mode studio --out out.jpg
    python -m tryon_dev keys [--data-dir DIR | --stack NAME] create --name N [--per-minute N] \
        [--per-month N] | list | revoke ID | usage [ID]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tryon_api.jobs.dependencies import SECRET_FILE
from tryon_api.settings import Settings
from tryon_dev.events import function_url_event
from tryon_dev.invoke import decode_event_body, invoke
from tryon_dev.keys_cli import add_keys_parser
from tryon_dev.server import make_server

if TYPE_CHECKING:
    from tryon_dev.job_workers import LocalJobWorkers


def _configure_keys(api_key: str | None) -> str:
    """Local runs without a secret: the flag, else TRYON_API_KEYS, else a fresh random key."""
    if api_key:
        os.environ["TRYON_API_KEYS"] = api_key
    if not os.environ.get("TRYON_API_KEY_SECRET_ID") and not os.environ.get("TRYON_API_KEYS", "").strip():
        os.environ["TRYON_API_KEYS"] = "local-" + secrets.token_urlsafe(18)
    keys = os.environ.get("TRYON_API_KEYS", "")
    return keys.split(",")[0].strip() if keys else "(from Secrets Manager)"


def start_aws_emulation(backend: str, sagemaker_model_url: str | None = None) -> str:
    """Serve the production backend's code path against the loopback AWS model emulator (and the
    person check against the loopback Rekognition emulator).

    The real boto3 clients are pointed at it with the standard endpoint variables, so requests
    go through serialization, SigV4 signing and error parsing exactly as in production. With
    ``sagemaker_model_url`` the emulated SageMaker runtime passes each invocation to that model
    server (``model_server/``, e.g. ``make model-serve``) instead of answering itself.
    """
    from tryon_dev.aws_emulator import AwsModelEmulator

    emulator = AwsModelEmulator(
        endpoint_names=(os.environ.get("TRYON_SAGEMAKER_ENDPOINT_NAME") or "tryon-vton",),
        sagemaker_model_url=sagemaker_model_url,
    )
    emulator.start()
    # The deployed checks too, on one loopback Rekognition endpoint: the person check (DetectFaces)
    # and image moderation (DetectModerationLabels: it labels nothing, so the calls show without
    # refusing; the description gets the local check).
    from tryon_dev.moderation_emulator import ModerationEmulator
    from tryon_dev.person_check_emulator import RekognitionEmulator

    rekognition = ModerationEmulator(faces=RekognitionEmulator())
    os.environ["AWS_ENDPOINT_URL_REKOGNITION"] = rekognition.start().url
    os.environ.setdefault("TRYON_PERSON_DETECTOR", "rekognition")
    os.environ.setdefault("TRYON_MODERATION_IMAGE_SERVICE", "rekognition")
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
    if args.sagemaker_model_url:
        args.emulate_aws = "sagemaker"
    if args.emulate_aws:
        url = start_aws_emulation(args.emulate_aws, args.sagemaker_model_url)
        print(f"AWS model emulator ({args.emulate_aws}) on {url}", flush=True)
        if args.sagemaker_model_url:
            print(f"  SageMaker invocations go to the model server at {args.sagemaker_model_url}", flush=True)
    if args.webhook_secret:
        os.environ["TRYON_WEBHOOK_SECRET"] = args.webhook_secret
    if args.data_dir:
        os.environ["TRYON_JOBS_DATA_DIR"] = args.data_dir
    from tryon_api.http.services import get_services

    services = get_services()  # load the backend before the first request
    workers = start_job_workers(services.settings)
    server = make_server(args.host, args.port)
    host, port = str(server.server_address[0]), int(server.server_address[1])
    print(f"try-on API ({services.settings.backend} backend) listening on http://{host}:{port}", flush=True)
    print(f"  POST http://{host}:{port}/generate_image   X-API-Key: {key}", flush=True)
    print(f"  POST http://{host}:{port}/jobs             (GET, DELETE /jobs/{{id}})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if workers is not None:
            workers.stop()
    return 0


def start_job_workers(settings: Settings) -> LocalJobWorkers | None:
    """Jobs in SQLite and the data folder, run by a pool of threads (none when the jobs live on AWS)."""
    if settings.jobs_table_name:
        print("  jobs: on AWS (TRYON_JOBS_TABLE_NAME is set): no local workers", flush=True)
        return None
    from tryon_api.http.job_services import get_job_dependencies
    from tryon_dev.job_workers import LocalJobWorkers

    deps = get_job_dependencies()
    workers = LocalJobWorkers(deps, settings.jobs_local_workers)
    picked_up = workers.start()
    data_dir = Path(settings.jobs_data_dir).resolve()
    secret = "TRYON_WEBHOOK_SECRET" if settings.webhook_secret else f"generated, in {data_dir / SECRET_FILE}"
    print(f"  jobs: {settings.jobs_local_workers} workers, data in {data_dir}", flush=True)
    print(f"  webhook secret: {secret}", flush=True)
    if picked_up:
        print(f"  {picked_up} queued message(s) from the last run picked up again", flush=True)
    return workers


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
    parser = argparse.ArgumentParser(prog="python -m tryon_dev", description=__doc__.split("\n\n")[0])
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
    serve.add_argument(
        "--sagemaker-model-url",
        metavar="URL",
        help="send SageMaker invocations to the model server at URL (make model-serve); implies --emulate-aws",
    )
    serve.add_argument(
        "--webhook-secret",
        help="the secret that signs job webhooks (default: TRYON_WEBHOOK_SECRET, else one kept in the data folder)",
    )
    serve.add_argument(
        "--data-dir",
        help="the folder of the jobs and the API keys (default: TRYON_JOBS_DATA_DIR, else .tryon-data)",
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
    add_keys_parser(sub)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
