"""SageMaker's container contract over HTTP: ``GET /ping`` and ``POST /invocations``.

The model loads in a background thread so ``/ping`` answers at once: 503 while loading, 200 when
ready, 500 when loading failed (SageMaker then stops the endpoint's creation with the log's
reason). One image is generated at a time; further requests wait their turn.

Statuses: 400 bad payload (the message says which field and why), 404/405 unknown route or
method, 413 body too large, 415 not JSON, 500 the model raised, 503 the model is not loaded yet.
Every error body is ``{"error": "..."}``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tryon_model_server.contract import BadRequest, encode_image, parse_request
from tryon_model_server.model import TryOnModel
from tryon_model_server.refusal import is_refused
from tryon_model_server.settings import ServerSettings

logger = logging.getLogger("tryon_model_server")


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class ModelSlot:
    """The model once loaded, or why it is not; one generation at a time."""

    def __init__(self, loader: Callable[[], TryOnModel]) -> None:
        self._loader = loader
        self.model: TryOnModel | None = None
        self.failure: str | None = None
        self.ready = threading.Event()
        self._generate_lock = threading.Lock()

    def load(self) -> None:
        try:
            self.model = self._loader()
        except Exception as exc:
            self.failure = f"{type(exc).__name__}: {exc}"
            logger.exception("the model failed to load")
        finally:
            self.ready.set()

    def start_loading(self) -> threading.Thread:
        thread = threading.Thread(target=self.load, name="model-loader", daemon=True)
        thread.start()
        return thread

    def generate(self, request: Any) -> Any:
        assert self.model is not None
        with self._generate_lock:
            return self.model.generate(request)


def create_app(slot: ModelSlot, settings: ServerSettings, load_in_background: bool = True) -> Starlette:
    async def ping(_: Request) -> Response:
        if not slot.ready.is_set():
            return error(503, "the model is still loading")
        if slot.failure is not None:
            return error(500, f"the model failed to load: {slot.failure}")
        return JSONResponse({"status": "ok"})

    async def invocations(request: Request) -> Response:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return error(415, "Content-Type must be application/json")
        body = await request.body()  # read whole: answering before the client has sent it all breaks its pipe
        if len(body) > settings.max_body_bytes:
            return error(413, f"the body is too large: at most {settings.max_body_bytes} bytes")
        try:
            tryon = await run_in_threadpool(
                parse_request, body, settings.max_input_pixels, settings.min_image_side, settings.max_image_aspect
            )
        except BadRequest as exc:
            return error(400, str(exc))
        if is_refused(tryon.garment_description, settings.blocked_terms):
            return JSONResponse({"finish_reason": "content_filtered"})
        if not slot.ready.is_set():
            return error(503, "the model is still loading")
        if slot.model is None:
            return error(503, f"the model failed to load: {slot.failure}")
        steps = settings.steps_for(tryon.num_inference_steps)
        started = time.monotonic()
        try:
            image = await run_in_threadpool(slot.generate, tryon)
        except Exception as exc:
            logger.exception("the model failed")
            return error(500, f"the model failed: {type(exc).__name__}: {str(exc)[:300]}")
        image_b64, mime_type = await run_in_threadpool(encode_image, image, tryon.output_format)
        logger.info(
            "generated %dx%d in %.2f s (mode=%s, garment_image=%s, steps=%d, asked=%s)",
            image.width,
            image.height,
            time.monotonic() - started,
            tryon.mode,
            tryon.garment is not None,
            steps,
            tryon.num_inference_steps,
        )
        answer = {"finish_reason": "success", "image_base64": image_b64, "mime_type": mime_type}
        return JSONResponse({**answer, "num_inference_steps": steps})

    async def http_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        messages = {404: "not found", 405: "method not allowed"}
        return error(exc.status_code, messages.get(exc.status_code, str(exc.detail)))

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if load_in_background:
            slot.start_loading()
        yield

    return Starlette(
        routes=[Route("/ping", ping, methods=["GET"]), Route("/invocations", invocations, methods=["POST"])],
        exception_handlers={HTTPException: http_error},
        lifespan=lifespan,
    )
