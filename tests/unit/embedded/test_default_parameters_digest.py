"""The per-stage parameter dataclasses change nothing by default: the renders are byte-for-byte the same.

The digests were recorded on a fixed seed before the tuning numbers moved out of the function bodies
(commit "Unit tests for the untested preview stages ...", 2026-12-07), on the synthetic full body
(no MediaPipe model in the loop, so only this package's arithmetic counts) for tops, bottoms and
one-pieces in both modes. The two skirt renders were re-recorded once, when the legs below a skirt
or shorts began to be painted as skin (a change of behaviour, commit "Bare legs below shorts and
skirts"), after every parameter move before it had been checked against the original digests.

NumPy and OpenCV pick vector code by CPU, and their float results may differ in the last bit
between CPU families: a canary of those same primitives, recorded with the digests,
tells such a machine apart, and there the comparison is skipped rather than failed.
"""

from __future__ import annotations

import hashlib

import cv2
import numpy as np
import pytest

from tests.unit.embedded.synthetic_person import synthetic_person
from tryon_api.backends.embedded import fabric
from tryon_api.backends.embedded.dressing import dress_person
from tryon_api.backends.embedded.scenes import composite_environment_array, composite_studio_array
from tryon_api.garments.description import parse_description

SEED = 11
RECORDED = {
    (
        "navy blazer over a white shirt",
        "tops",
        "studio",
    ): "da29ae55b31bf969c792faa41f490ab008a9c33ecf86a97cc338a17cbeed3be5",
    (
        "red and white striped linen shirt",
        "tops",
        "environment",
    ): "6e37d601fb38c19dba4a4316d520ca5e9a664949f45a0e3c0c58faf0d5cd39cf",
    ("grey hoodie", "auto", "studio"): "e462b320f788adc9916dff380f97cc84da5c452aabd4190da5fa4b59a3ff8764",
    ("blue jeans", "bottoms", "environment"): "99657645cb302e3f85cc72a872a6c3e5000cc3ad843f72fe6c0629d06055fec4",
    ("green floral dress", "one-pieces", "studio"): "1bb3b25d00eeb234230714e5906f0329895fbddda6b532be6a67e36cfd2a435d",
    ("black pleated skirt", "auto", "studio"): "1250eb512ad40073036ac69ca3af8b33f16cffadf1ce8c02a53d8e816e10ea1a",
}
CANARY = "44ad1e56234e2dd3c09092b22094dbce5da9f7db0ee223f3e1439a4b77d9db8b"


def canary() -> str:
    """The float primitives the preview leans on, on fixed data: equal here means equal arithmetic."""
    rng = np.random.default_rng(0)
    values = rng.random((97, 131), dtype=np.float32) * 3
    parts = [
        np.exp(values - 1.5),
        np.log(values + 0.01),
        np.power(values, np.float32(1 / 2.4)),
        np.arcsin(np.clip(values - 1.5, -0.999, 0.999)),
        np.tanh(values),
        cv2.GaussianBlur(values, (0, 0), 2.3),
        fabric.fast_blur(values, 9.0),
        cv2.resize(values, (61, 45), interpolation=cv2.INTER_AREA),
        cv2.resize(values, (200, 150), interpolation=cv2.INTER_CUBIC),
    ]
    return hashlib.sha256(b"".join(np.ascontiguousarray(p).tobytes() for p in parts)).hexdigest()


def render(description: str, category: str, mode: str) -> str:
    person = synthetic_person()
    dressed = dress_person(
        person.rgb, parse_description(description), SEED, analysis=person.analysis, garment_category=category
    )
    if mode == "studio":
        image = composite_studio_array(dressed.rgb, dressed.matte, dressed.clean_edge)
    else:
        image = composite_environment_array(dressed.rgb, dressed.matte, "casual", SEED, dressed.clean_edge)
    return hashlib.sha256(image.tobytes()).hexdigest()


@pytest.mark.parametrize(("description", "category", "mode"), list(RECORDED))
def test_default_parameters_render_the_recorded_bytes(description: str, category: str, mode: str) -> None:
    if canary() != CANARY:
        pytest.skip("this CPU's float arithmetic differs from the recording machine's (canary digest)")
    assert render(description, category, mode) == RECORDED[(description, category, mode)]


# The bundled photos too, through MediaPipe: the face mesh's paths (painted neck, hair beside the jaw, skin
# grain) run only on real faces. The models' own output is part of the canary here.
PHOTO_RECORDED = {
    ("grace_hopper", "navy blazer over a white shirt", "studio"): (
        "fbbe4dcd436fd67ed7af335fb67aac4c6a19c31f473fddd8c72d41fa66ddb14f",
        "b283b4883ef207b809682c91fa231230a6a13d9e981b98148edcaa1030d56c31",
    ),
    ("astronaut", "white short-sleeve t-shirt", "environment"): (
        "9aeeddac558be19b21ae486357a85f8625667c7607acc117d1c7440032196532",
        "17609845b782fc4d3c103df11b0bb2f77407b3cbf5c627017b578d96b2cca2de",
    ),
    ("astronaut", "red turtleneck sweater", "studio"): (
        "9aeeddac558be19b21ae486357a85f8625667c7607acc117d1c7440032196532",
        "f3656e24c0d803a2452e8a3f7b186b988fe7ab6e59c51d454fdae177b4df3ff1",
    ),
}


def photo_analysis_digest(name: str) -> str:
    from tryon_api.backends.embedded.image_operations import rgb_array
    from tryon_api.backends.embedded.person_analysis import analyse_person

    analysis = analyse_person(rgb_array(photo(name)))
    parts = [analysis.matte, analysis.pose, analysis.face]
    return hashlib.sha256(b"".join(np.ascontiguousarray(p).tobytes() for p in parts if p is not None)).hexdigest()


def photo(name: str):  # type: ignore[no-untyped-def]
    from PIL import Image

    from tests.photos import ASTRONAUT, GRACE_HOPPER

    return Image.open({"astronaut": ASTRONAUT, "grace_hopper": GRACE_HOPPER}[name]).convert("RGB")


def render_photo(name: str, description: str, mode: str) -> str:
    from tryon_api.backends.embedded import render_try_on

    image = np.asarray(render_try_on(photo(name), description, mode, SEED).image)
    return hashlib.sha256(image.tobytes()).hexdigest()


@pytest.mark.parametrize(("name", "description", "mode"), list(PHOTO_RECORDED))
def test_default_parameters_render_the_recorded_bytes_on_the_photos(name: str, description: str, mode: str) -> None:
    analysis, expected = PHOTO_RECORDED[(name, description, mode)]
    if canary() != CANARY or photo_analysis_digest(name) != analysis:
        pytest.skip("this CPU's float arithmetic or MediaPipe's output differs from the recording machine's")
    assert render_photo(name, description, mode) == expected


# Every pattern and weave on a fixed grid of garment centimetres (the renders above draw only a few),
# recorded from fabric.py before its numbers moved into PatternParameters and WeaveParameters.
FABRIC_RECORDED = "ed6cf47fc434a5c787ef8573ce2c2cd53d040e3bc16f1de0f7b24591bb4d302a"
PATTERNS = [
    *("striped", "pinstriped", "plaid", "checked", "polka dot", "floral", "camo", "houndstooth", "herringbone"),
    *("leopard", "zebra", "tie-dye", "argyle", "paisley", "colour block", "geometric", None),
]
MATERIALS = [
    *("denim", "knit", "corduroy", "wool", "tweed", "fleece", "linen", "quilted", "suede", "sequin", "lace", "mesh"),
    *("cotton", None),
]


def fabric_digest() -> str:
    v, u = np.mgrid[0:160, 0:200].astype(np.float32) * 0.23
    u = u - 20.0
    colours = [fabric.srgb_to_linear(np.array(c, np.float32)) for c in ((31, 42, 74), (230, 230, 228), (180, 40, 40))]
    digests = {}
    for pattern in PATTERNS:
        for pixel_cm in (0.05, 0.3):
            albedo = fabric.pattern_albedo(pattern, u, v, colours, pixel_cm, 5)
            digests[f"pattern {pattern} {pixel_cm}"] = hashlib.sha256(albedo.tobytes()).hexdigest()
    for material in MATERIALS:
        for pixel_cm in (0.05, 0.3):
            texture = np.asarray(fabric.weave(material, u, v, pixel_cm, 5))
            digests[f"weave {material} {pixel_cm}"] = hashlib.sha256(texture.tobytes()).hexdigest()
    return hashlib.sha256("".join(digests[key] for key in sorted(digests)).encode()).hexdigest()


def test_default_pattern_and_weave_parameters_draw_the_recorded_cloth() -> None:
    if canary() != CANARY:
        pytest.skip("this CPU's float arithmetic differs from the recording machine's (canary digest)")
    assert fabric_digest() == FABRIC_RECORDED
