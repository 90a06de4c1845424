"""The request parser: every bad body gets its status and exact message; good variants pass."""

from __future__ import annotations

import base64
import json

import pytest

from tryon_api.http.request_parsing import decode_base64_image, parse_generate_request
from tryon_api.tryon.errors import BadRequest

PNG_BYTES = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
)
GOOD_B64 = base64.b64encode(PNG_BYTES).decode()


def body(**fields: object) -> str:
    base: dict[str, object] = {"selfie_base64": GOOD_B64, "clothing_description": "red hoodie", "mode": "studio"}
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not ...})


BAD_BODIES = [
    ("empty body", "", "request body must be a JSON object"),
    ("whitespace body", "  \n", "request body must be a JSON object"),
    ("not json", "{selfie", "request body is not valid JSON"),
    ("json array", "[1, 2]", "request body must be a JSON object"),
    ("json string", '"hello"', "request body must be a JSON object"),
    ("json null", "null", "request body must be a JSON object"),
    ("selfie missing", body(selfie_base64=...), "selfie_base64 is required"),
    ("selfie null", body(selfie_base64=None), "selfie_base64 is required"),
    ("selfie empty", body(selfie_base64=""), "selfie_base64 is required"),
    ("selfie blank", body(selfie_base64="  \n "), "selfie_base64 is required"),
    ("selfie number", body(selfie_base64=12), "selfie_base64 must be a string"),
    ("selfie list", body(selfie_base64=[GOOD_B64]), "selfie_base64 must be a string"),
    ("selfie bad chars", body(selfie_base64="abc$def"), "selfie_base64 is not valid base64"),
    ("selfie bad length", body(selfie_base64="abcde"), "selfie_base64 is not valid base64"),
    ("selfie padding inside", body(selfie_base64="ab=cd"), "selfie_base64 is not valid base64"),
    (
        "selfie text data url",
        body(selfie_base64="data:text/plain;base64," + GOOD_B64),
        "selfie_base64 must be an image",
    ),
    ("description missing", body(clothing_description=...), "clothing_description is required"),
    ("description null", body(clothing_description=None), "clothing_description is required"),
    ("description empty", body(clothing_description=""), "clothing_description is required"),
    ("description blank", body(clothing_description=" \t\n"), "clothing_description is required"),
    ("description number", body(clothing_description=3), "clothing_description must be a string"),
    ("description object", body(clothing_description={"a": 1}), "clothing_description must be a string"),
    (
        "description too long",
        body(clothing_description="x" * 1001),
        "clothing_description must be at most 1000 characters",
    ),
    ("mode missing", body(mode=...), "mode is required"),
    ("mode empty", body(mode=""), "mode is required"),
    ("mode unknown", body(mode="beach"), 'mode must be "studio" or "environment"'),
    ("mode wrong case", body(mode="Studio"), 'mode must be "studio" or "environment"'),
    ("mode number", body(mode=1), 'mode must be "studio" or "environment"'),
    ("url number", body(clothing_image_url=5), "clothing_image_url must be a string"),
    (
        "url relative",
        body(clothing_image_url="/jacket.jpg"),
        "clothing_image_url must be an absolute http or https URL",
    ),
    (
        "url ftp",
        body(clothing_image_url="ftp://example.com/a.jpg"),
        "clothing_image_url must be an absolute http or https URL",
    ),
    (
        "url file",
        body(clothing_image_url="file:///etc/passwd"),
        "clothing_image_url must be an absolute http or https URL",
    ),
    (
        "url no host",
        body(clothing_image_url="https:///a.jpg"),
        "clothing_image_url must be an absolute http or https URL",
    ),
    (
        "url bad port",
        body(clothing_image_url="https://example.com:99999/a.jpg"),
        "clothing_image_url must be an absolute http or https URL",
    ),
    (
        "url with space",
        body(clothing_image_url="https://exa mple.com/a.jpg"),
        "clothing_image_url must be an absolute http or https URL",
    ),
    (
        "url too long",
        body(clothing_image_url="https://example.com/" + "a" * 2100),
        "clothing_image_url must be at most 2048 characters",
    ),
]


@pytest.mark.parametrize(("case", "raw", "message"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
def test_bad_body_is_refused_with_its_message(case: str, raw: str, message: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_generate_request(raw)
    assert caught.value.status == 400
    assert caught.value.message == message


def test_checks_run_in_field_order() -> None:
    with pytest.raises(BadRequest, match="selfie_base64 is required"):
        parse_generate_request(json.dumps({"mode": "bad"}))
    with pytest.raises(BadRequest, match="clothing_description is required"):
        parse_generate_request(json.dumps({"selfie_base64": "!!", "mode": "bad"}))


def test_error_never_echoes_the_image_data() -> None:
    secret_looking = "QUJD" * 500 + "$"
    with pytest.raises(BadRequest) as caught:
        parse_generate_request(body(selfie_base64=secret_looking))
    assert "QUJD" not in caught.value.message


def test_valid_body_is_parsed_and_trimmed() -> None:
    request = parse_generate_request(
        body(clothing_description="  Black leather jacket  ", mode="environment", extra_field={"x": 1})
    )
    assert request.selfie_bytes == PNG_BYTES
    assert request.clothing_description == "Black leather jacket"
    assert request.mode == "environment"
    assert request.clothing_image_url is None


def test_bytes_body_is_accepted() -> None:
    assert parse_generate_request(body().encode()).mode == "studio"


@pytest.mark.parametrize("url", ["", "   ", None])
def test_empty_garment_url_means_absent(url: object) -> None:
    assert parse_generate_request(body(clothing_image_url=url)).clothing_image_url is None


def test_garment_url_is_kept() -> None:
    url = "https://example.com/jacket.jpg?size=large"
    assert parse_generate_request(body(clothing_image_url=url)).clothing_image_url == url


def test_description_of_exactly_1000_characters_is_accepted() -> None:
    assert len(parse_generate_request(body(clothing_description="y" * 1000)).clothing_description) == 1000


@pytest.mark.parametrize(
    "encoded",
    [
        GOOD_B64,
        "data:image/png;base64," + GOOD_B64,
        "DATA:image/png;base64," + GOOD_B64,
        "data:;base64," + GOOD_B64,
        GOOD_B64.rstrip("="),
        "\n".join(GOOD_B64[i : i + 20] for i in range(0, len(GOOD_B64), 20)),
        GOOD_B64[:30] + "\r\n" + GOOD_B64[30:],
        base64.urlsafe_b64encode(PNG_BYTES).decode(),
    ],
    ids=["standard", "data-url", "data-url-upper", "data-url-no-type", "unpadded", "wrapped", "crlf", "urlsafe"],
)
def test_base64_variants_decode_to_the_same_bytes(encoded: str) -> None:
    assert decode_base64_image(encoded, "selfie_base64") == PNG_BYTES


def test_urlsafe_alphabet_with_dash_and_underscore() -> None:
    data = bytes(range(256)) * 3
    assert b"-" in base64.urlsafe_b64encode(data) or b"_" in base64.urlsafe_b64encode(data)
    assert decode_base64_image(base64.urlsafe_b64encode(data).decode(), "selfie_base64") == data
