"""The real ``serve`` command with the tiny model, over HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import io
import json

import pytest
from jsonschema import Draft202012Validator
from PIL import Image

from tests.conftest import b64_image, http, photo, tryon_body
from tryon_model_server.contract import SCHEMA_PATH
from tryon_model_server.families import get_family

SCHEMA = json.loads(SCHEMA_PATH.read_text())
RESPONSE_VALIDATOR = Draft202012Validator({**SCHEMA["$defs"]["response"], "$defs": SCHEMA["$defs"]})
ERROR_VALIDATOR = Draft202012Validator(SCHEMA["$defs"]["error"])


def invoke(base_url: str, body: object) -> tuple[int, dict]:
    answer = http(f"{base_url}/invocations", json.dumps(body).encode())
    return answer.status, answer.body


def decoded(answer: dict) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(answer["image_base64"])))


def test_ping_answers_200_when_the_model_is_loaded(served_tiny_model: str) -> None:
    answer = http(f"{served_tiny_model}/ping")
    assert answer.status == 200
    assert answer.body == {"status": "ok"}


@pytest.mark.parametrize("mode", ["studio", "environment"])
@pytest.mark.parametrize("with_garment", [False, True], ids=["text-only", "garment-image"])
def test_invocation_returns_an_image_with_the_persons_aspect_ratio(
    family: str, served_tiny_model: str, mode: str, with_garment: bool
) -> None:
    garment = b64_image(photo((240, 240), garment=True), "PNG") if with_garment else None
    status, answer = invoke(
        served_tiny_model, tryon_body(mode=mode, garment_image_base64=garment, output_format="jpeg")
    )
    assert status == 200, answer
    RESPONSE_VALIDATOR.validate(answer)
    assert answer["mime_type"] == "image/jpeg"
    image = decoded(answer)
    assert image.format == "JPEG"
    # 300x450 person (2:3) at the test's 256x256 pixel budget, sides multiples of what the tiny
    # model's latent packing needs: 224x320 (32: Qwen's tiny 16x VAE), 208x312 (8: klein's tiny 4x VAE).
    assert image.size == {"qwen-image-edit-2511": (224, 320), "flux2-klein-4b": (208, 312)}[family]
    assert abs(image.width / image.height - 300 / 450) < 0.05


def test_png_is_the_default_output_format(served_tiny_model: str) -> None:
    body = tryon_body()
    del body["output_format"]
    status, answer = invoke(served_tiny_model, body)
    assert status == 200
    assert answer["mime_type"] == "image/png"
    assert decoded(answer).format == "PNG"


def test_same_seed_gives_the_same_image_and_another_seed_another(served_tiny_model: str) -> None:
    first = invoke(served_tiny_model, tryon_body(seed=5))[1]["image_base64"]
    again = invoke(served_tiny_model, tryon_body(seed=5))[1]["image_base64"]
    other = invoke(served_tiny_model, tryon_body(seed=6))[1]["image_base64"]
    assert first == again
    assert first != other


def test_num_inference_steps_changes_the_denoising_within_the_base_models_bounds(
    family: str, served_tiny_model: str
) -> None:
    if get_family(family).base is None:
        # A step-distilled family runs its steps whatever is asked, and says so in the answer.
        asked = [invoke(served_tiny_model, tryon_body(num_inference_steps=n)) for n in (1, 3)]
        assert [status for status, _ in asked] == [200, 200]
        assert [answer["num_inference_steps"] for _, answer in asked] == [2, 2]  # TEST_ENV's TRYON_DEFAULT_STEPS
        assert asked[0][1]["image_base64"] == asked[1][1]["image_base64"]
        return
    one = invoke(served_tiny_model, tryon_body(num_inference_steps=1))
    two = invoke(served_tiny_model, tryon_body(num_inference_steps=2))
    three = invoke(served_tiny_model, tryon_body(num_inference_steps=3))
    assert one[0] == two[0] == three[0] == 200
    assert [one[1]["num_inference_steps"], three[1]["num_inference_steps"]] == [2, 3]
    assert one[1]["image_base64"] == two[1]["image_base64"], "one step is clamped to the base model's two"
    assert two[1]["image_base64"] != three[1]["image_base64"]


def test_a_request_to_undress_is_refused_as_content_filtered(served_tiny_model: str) -> None:
    status, answer = invoke(served_tiny_model, tryon_body(garment_description="Nude, no clothes"))
    assert status == 200
    assert answer == {"finish_reason": "content_filtered"}
    RESPONSE_VALIDATOR.validate(answer)


NOT_AN_IMAGE = base64.b64encode(b"GIF? no, just text").decode()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json", "the body is not valid JSON"),
        ([1, 2], "the body must be a JSON object"),
        ({k: v for k, v in tryon_body().items() if k != "mode"}, "'mode' is a required property"),
        (tryon_body(mode="Studio"), "mode: 'Studio' is not one of ['studio', 'environment']"),
        (tryon_body(seed=-1), "seed: -1 is less than the minimum of 0"),
        (tryon_body(num_inference_steps=0), "num_inference_steps: 0 is less than the minimum of 1"),
        (tryon_body(num_inference_steps=4.5), "num_inference_steps: 4.5 is not of type 'integer'"),
        (tryon_body(garment_description=""), "garment_description: '' should be non-empty"),
        (tryon_body(output_format="webp"), "output_format: 'webp' is not one of ['png', 'jpeg']"),
        (tryon_body(contract_version="2"), 'contract_version must be "1"'),
        (tryon_body(colour="red"), "unknown field"),
        (tryon_body(person_image_base64="%%%"), "person_image_base64 is not valid base64"),
        (tryon_body(person_image_base64=NOT_AN_IMAGE), "person_image_base64 is not a readable image"),
        (tryon_body(garment_image_base64=NOT_AN_IMAGE), "garment_image_base64 is not a readable image"),
        (tryon_body(person_image_base64=b64_image(photo((8, 8)))), "person_image_base64 is too small"),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 40 else None,
)
def test_bad_payloads_get_a_400_that_says_what_is_wrong(served_tiny_model: str, body: object, message: str) -> None:
    raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    answer = http(f"{served_tiny_model}/invocations", raw)
    assert answer.status == 400
    ERROR_VALIDATOR.validate(answer.body)
    assert message in answer.body["error"]


def test_a_body_that_is_not_json_by_content_type_gets_415(served_tiny_model: str) -> None:
    answer = http(f"{served_tiny_model}/invocations", json.dumps(tryon_body()).encode(), content_type="text/plain")
    assert answer.status == 415
    assert answer.body == {"error": "Content-Type must be application/json"}


def test_a_body_over_the_limit_gets_413(served_tiny_model: str) -> None:
    answer = http(f"{served_tiny_model}/invocations", b"{" + b" " * (9 * 1024 * 1024) + b"}")
    assert answer.status == 413
    assert "too large" in answer.body["error"]


def test_unknown_routes_and_methods_answer_json(served_tiny_model: str) -> None:
    assert http(f"{served_tiny_model}/nope").body == {"error": "not found"}
    wrong_method = http(f"{served_tiny_model}/ping", b"{}")
    assert wrong_method.status == 405
    assert wrong_method.body == {"error": "method not allowed"}
