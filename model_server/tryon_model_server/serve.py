"""Start the model server: ``serve`` (SageMaker's start command) or ``python -m tryon_model_server``.

    serve [--model-dir DIR] [--host HOST] [--port PORT]

Everything else is configured by environment variables (``settings.py``, docs/model-server.md).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import uvicorn

from tryon_model_server.app import ModelSlot, create_app
from tryon_model_server.model import DiffusersTryOnModel
from tryon_model_server.settings import ServerSettings, SettingsError


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="serve", description="SageMaker try-on model server")
    parser.add_argument("command", nargs="?", choices=["serve"], help="SageMaker passes 'serve'")
    parser.add_argument("--model-dir", type=Path, help="model directory (default TRYON_MODEL_DIR or /opt/ml/model)")
    parser.add_argument("--host", help="bind address (default 0.0.0.0)")
    parser.add_argument("--port", type=int, help="port (default 8080)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = ServerSettings.from_env(model_dir=args.model_dir)
    except SettingsError as exc:
        # A start-up error, in the container's log, before /ping ever answers: never a 500 later.
        logging.getLogger("tryon_model_server").error("cannot start: %s", exc)
        raise SystemExit(2) from None
    overrides = {"host": args.host, "port": args.port}
    settings = settings.with_overrides(**{key: value for key, value in overrides.items() if value is not None})
    slot = ModelSlot(lambda: DiffusersTryOnModel.load(settings))
    app = create_app(slot, settings)
    # One worker process: the GPU holds one copy of the model.
    uvicorn.run(app, host=settings.host, port=settings.port, workers=1, log_level="info", timeout_keep_alive=75)


if __name__ == "__main__":
    main()
