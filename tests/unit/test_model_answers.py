"""Reading the models' answers: images, filter reasons, empty results, the SageMaker contract."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from tryon_api.backends.bedrock import parse_stability_answer, stability_seed
from tryon_api.backends.model_calls import EmptyModelOutput
from tryon_api.backends.sagemaker import parse_tryon_answer
from tryon_api.tryon.errors import ContentFiltered, UpstreamFailed


def png(size: tuple[int, int] = (128, 96)) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, (1, 2, 3)).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def test_a_successful_answer_gives_its_image() -> None:
    image = parse_stability_answer({"seeds": [5], "finish_reasons": [None], "images": [png()]})
    assert image.size == (128, 96)


@pytest.mark.parametrize(
    "reason", ["Filter reason: prompt", "Filter reason: output image", "Filter reason: input image"]
)
def test_filter_reasons_are_content_filtered(reason: str) -> None:
    with pytest.raises(ContentFiltered):
        parse_stability_answer({"finish_reasons": [reason]})


@pytest.mark.parametrize(
    "payload",
    [
        {"seeds": [1], "finish_reasons": ["Inference error"], "images": [None]},
        {"seeds": [1], "finish_reasons": [None], "images": []},
        {"seeds": [1], "finish_reasons": [None]},
    ],
)
def test_answers_without_an_image_are_worth_a_retry(payload: dict[str, object]) -> None:
    with pytest.raises(EmptyModelOutput):
        parse_stability_answer(payload)


@pytest.mark.parametrize("images", [["bm90IGFuIGltYWdl"], ["***"], [png((32, 32))]])
def test_unreadable_or_tiny_images_are_model_failures(images: list[str]) -> None:
    with pytest.raises(UpstreamFailed):
        parse_stability_answer({"finish_reasons": [None], "images": images})


def test_seed_is_never_zero_which_would_mean_random() -> None:
    assert stability_seed(0) == 1
    assert stability_seed(4_294_967_293) == 4_294_967_294
    assert 1 <= stability_seed(2**31 - 1) <= 4_294_967_294


def test_sagemaker_contract_answers() -> None:
    result = parse_tryon_answer({"finish_reason": "success", "image_base64": png(), "mime_type": "image/png"})
    assert result.mime_type == "image/png" and result.data.startswith(b"\x89PNG")
    with pytest.raises(ContentFiltered):
        parse_tryon_answer({"finish_reason": "content_filtered"})
    with pytest.raises(EmptyModelOutput):
        parse_tryon_answer({"finish_reason": "success", "mime_type": "image/png"})
    with pytest.raises(UpstreamFailed):
        parse_tryon_answer({"finish_reason": "success", "image_base64": png(), "mime_type": "text/html"})


def test_images_sent_to_the_image_services_fit_their_limits() -> None:
    from tryon_api.backends.bedrock import fit_for_stability

    width, height = fit_for_stability(Image.new("RGB", (4000, 3000))).size
    assert width * height <= 1_572_864 and abs(width / height - 4 / 3) < 0.01
    small = Image.new("RGB", (800, 600))
    assert fit_for_stability(small) is small
