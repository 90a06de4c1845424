"""The production backend on Amazon Bedrock: Stability AI Image Services plus a vision model.

Each Image Service edits one image per ``InvokeModel`` call (base64 in, base64 out), so a try-on
is a short pipeline:

1. Remove Background on the selfie, and at the same time (when a garment photo is given) the
   vision model (Converse) describes the garment: these two are independent, so they overlap.
2. ``studio``: the cut-out goes on pure white here, with Pillow (no model needed for white).
   ``environment``: Inpaint fills the transparent background with a scene matching the style;
   it needs no garment notes, so it starts as soon as the cut-out is back, even while the
   description is still running.
3. Search and Replace repaints the clothing region with the described garment.

Why the background first and the garment last: the garment change is the step that needs the
garment description, so it can only start after the vision call; putting the background
removal first lets it run alongside that call instead of after it. Doing the garment change
last also lets the new garment extend past the old silhouette (a dress over trousers, a coat
over a shirt) onto the final background, which a cut-out taken after the change would clip or
a mask taken before it would cut off. The result: at most 3 sequential model calls in every
case (studio 2, environment 3), with or without a garment photo, instead of 4 when the garment
change comes first (describe -> replace -> remove background -> inpaint).
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from PIL import Image

from tryon_api.backends.compositing import composite_on_white, require_cutout
from tryon_api.backends.model_calls import (
    EmptyModelOutput,
    ModelRun,
    RetryPolicy,
    decode_json,
)
from tryon_api.backends.model_input import encode_model_input
from tryon_api.backends.model_metrics import record_generation
from tryon_api.garments.description import parse_description
from tryon_api.garments.prompts import NEGATIVE_PROMPT, garment_edit, scene_prompt, vision_request_text
from tryon_api.settings import Settings
from tryon_api.tryon.deadline import Deadline
from tryon_api.tryon.errors import ContentFiltered, UpstreamFailed
from tryon_api.tryon.image_intake import decode_model_image, fit_size
from tryon_api.tryon.interface import GeneratedImage, GenerationInput, ImageLimits

logger = Logger(child=True)

# The Image Services' input rules: sides >= 64 px, at most 9,437,184 px, aspect 1:2.5 to 2.5:1.
# We send about 1.5 MP: enough detail for a portrait, and a fraction of the upload and latency.
STABILITY_LIMITS = ImageLimits(max_side=2048, max_pixels=1_572_864, min_side=64, min_aspect=1 / 2.5, max_aspect=2.5)
STABILITY_MAX_SEED = 4_294_967_294
VISION_MAX_TOKENS = 300


@dataclass(frozen=True)
class BedrockModels:
    search_replace: str
    inpaint: str
    remove_background: str
    vision: str

    @classmethod
    def from_settings(cls, settings: Settings) -> BedrockModels:
        return cls(
            search_replace=settings.bedrock_search_replace_model_id,
            inpaint=settings.bedrock_inpaint_model_id,
            remove_background=settings.bedrock_remove_background_model_id,
            vision=settings.bedrock_vision_model_id,
        )


def stability_seed(seed: int) -> int:
    """0 asks the service for a random seed, so map every request seed into 1..4294967294."""
    return seed % STABILITY_MAX_SEED + 1


def fit_for_stability(image: Image.Image) -> Image.Image:
    """Keep every image we send (including a previous step's output) within the services' limits."""
    size = fit_size(image.width, image.height, STABILITY_LIMITS)
    return image if size == image.size else image.resize(size, Image.Resampling.LANCZOS)


def _b64(image: Image.Image) -> str:
    return base64.b64encode(encode_model_input(fit_for_stability(image))[0]).decode("ascii")


def parse_stability_answer(payload: Any) -> Image.Image:
    """The one image of an Image Services answer, or the error its ``finish_reasons`` say."""
    if not isinstance(payload, dict):
        raise UpstreamFailed("the image model failed")
    reasons = payload.get("finish_reasons") or [None]
    reason = reasons[0] if isinstance(reasons, list) and reasons else None
    if isinstance(reason, str) and reason.startswith("Filter reason"):
        raise ContentFiltered()
    if reason is not None:  # "Inference error" or an unknown reason
        raise EmptyModelOutput(str(reason))
    images = payload.get("images")
    if not isinstance(images, list) or not images or not isinstance(images[0], str) or not images[0]:
        raise EmptyModelOutput("no image")
    try:
        data = base64.b64decode(images[0], validate=True)
    except ValueError:
        raise UpstreamFailed("the image model returned an unreadable image") from None
    image = decode_model_image(data, keep_alpha=True)
    if min(image.size) < 64:
        raise UpstreamFailed("the image model returned an unusable image")
    return image


class BedrockTryOnBackend:
    name = "bedrock"
    input_limits = STABILITY_LIMITS

    def __init__(self, client: Any, models: BedrockModels, policy: RetryPolicy | None = None) -> None:
        self.client = client
        self.models = models
        self.policy = policy or RetryPolicy()

    # --- one function per model call ----------------------------------------------------
    def _invoke_stability(self, model_id: str, body: dict[str, Any]) -> Image.Image:
        response = self.client.invoke_model(
            modelId=model_id, body=json.dumps(body), contentType="application/json", accept="application/json"
        )
        image = parse_stability_answer(decode_json(response["body"]))
        return image

    def remove_background(self, person: Image.Image) -> Image.Image:
        image = self._invoke_stability(self.models.remove_background, {"image": _b64(person), "output_format": "png"})
        return require_cutout(image)

    def inpaint_scene(self, cutout: Image.Image, prompt: str, negative_prompt: str, seed: int) -> Image.Image:
        body = {
            "image": _b64(cutout),  # transparent pixels are inpainted, opaque ones kept
            "prompt": prompt,
            "negative_prompt": negative_prompt,
            "seed": stability_seed(seed),
            "grow_mask": 3,
            "style_preset": "photographic",
            "output_format": "png",
        }
        return self._invoke_stability(self.models.inpaint, body).convert("RGB")

    def replace_garment(
        self, image: Image.Image, search_prompt: str, prompt: str, negative: str, seed: int
    ) -> Image.Image:
        body = {
            "image": _b64(image),
            "search_prompt": search_prompt,
            "prompt": prompt,
            "negative_prompt": negative,
            "seed": stability_seed(seed),
            "grow_mask": 5,
            "style_preset": "photographic",
            "output_format": "png",
        }
        return self._invoke_stability(self.models.search_replace, body)

    def describe_garment(self, garment: Image.Image, user_text: str) -> str:
        data, fmt = encode_model_input(garment)
        response = self.client.converse(
            modelId=self.models.vision,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"image": {"format": fmt, "source": {"bytes": data}}},
                        {"text": vision_request_text(user_text)},
                    ],
                }
            ],
            inferenceConfig={"maxTokens": VISION_MAX_TOKENS, "temperature": 0.2},
        )
        if response.get("stopReason") in ("content_filtered", "guardrail_intervened"):
            raise ContentFiltered()
        blocks = response.get("output", {}).get("message", {}).get("content", [])
        text = " ".join(b["text"] for b in blocks if isinstance(b, dict) and isinstance(b.get("text"), str)).strip()
        if not text:
            raise EmptyModelOutput("no description")
        return text

    # --- the pipeline -------------------------------------------------------------------
    def generate(self, generation: GenerationInput, deadline: Deadline) -> GeneratedImage:
        description = parse_description(generation.clothing_description)
        with ModelRun(deadline, self.policy) as run:
            cutting = run.start(
                "remove_background", self.models.remove_background, lambda: self.remove_background(generation.person)
            )
            describing = None
            if generation.garment is not None:
                garment = generation.garment
                describing = run.start(
                    "describe_garment",
                    self.models.vision,
                    lambda: self.describe_garment(garment, generation.clothing_description),
                )
            cutout = run.result(cutting)
            scene = scene_prompt(description, generation.seed) if generation.mode == "environment" else None
            inpainting = None
            if scene is not None:  # the scene needs no garment notes: start it while the description runs
                inpainting = run.start(
                    "inpaint_scene",
                    self.models.inpaint,
                    lambda: self.inpaint_scene(cutout, scene, NEGATIVE_PROMPT, generation.seed),
                )
            else:
                base = composite_on_white(cutout, shadow=True)
            notes = self._garment_notes(run, describing)
            if inpainting is not None:
                base = run.result(inpainting)
            edit = garment_edit(description, generation.mode, notes, scene, generation.garment_category)
            dressed = run.call(
                "replace_garment",
                self.models.search_replace,
                lambda: self.replace_garment(
                    base, edit.search_prompt, edit.prompt, edit.negative_prompt, generation.seed
                ),
            )
        record_generation(len(run.calls), run.sequential)
        return GeneratedImage(
            _png(dressed),
            "image/png",
            details={"model_calls": [c.step for c in run.calls], "sequential_model_calls": run.sequential},
        )

    @staticmethod
    def _garment_notes(run: ModelRun, describing: Any) -> str | None:
        """The vision model's notes; a garment it refuses or fails on still leaves the user's words."""
        if describing is None:
            return None
        try:
            notes: str = run.result(describing)
            return notes
        except (ContentFiltered, UpstreamFailed) as error:
            logger.warning("garment description unavailable, using the text only", extra={"error": error.message})
            return None


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=3)
    return buffer.getvalue()
