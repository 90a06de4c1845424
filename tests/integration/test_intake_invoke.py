"""Hostile selfies and garment URLs through the whole handler (tryon_dev.invoke)."""

from __future__ import annotations

import base64
import io
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from PIL import Image

from tests.photos import b64, image_bytes, selfie_jpeg
from tests.unit.test_images import gps_exif, heic_bytes, png_header_only
from tryon_api.http.services import build_services, set_services
from tryon_api.settings import Settings
from tryon_api.tryon.garment_url import PRIVATE_ADDRESS
from tryon_dev.events import function_url_event
from tryon_dev.invoke import invoke

pytestmark = pytest.mark.integration

KEY = "test-key"


def use_settings(**overrides: Any) -> None:
    set_services(build_services(Settings(local_api_keys=(KEY,), **overrides)))


def post(selfie: bytes, **fields: str) -> tuple[int, dict[str, Any]]:
    body = {"selfie_base64": b64(selfie), "clothing_description": "red jacket", "mode": "studio", **fields}
    event = function_url_event(
        "POST",
        "/generate_image",
        {"content-type": "application/json", "x-api-key": KEY},
        json.dumps(body).encode(),
    )
    response = invoke(event, timeout_seconds=60)
    return int(response["statusCode"]), json.loads(response["body"])


@pytest.fixture
def no_connections(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    attempts: list[Any] = []

    def refuse(self: socket.socket, address: Any) -> None:
        attempts.append(address)
        raise ConnectionRefusedError("connections are disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


def selfie() -> bytes:
    return selfie_jpeg()


def test_heic_selfie_is_answered_with_a_progressive_jpeg() -> None:
    use_settings()
    photo = Image.open(io.BytesIO(selfie())).convert("RGB")
    status, body = post(heic_bytes(photo))
    assert status == 200, body
    assert body["mime_type"] == "image/jpeg"
    image = Image.open(io.BytesIO(base64.b64decode(body["image_base64"])))
    assert image.format == "JPEG"
    assert image.info.get("progressive") == 1
    assert image.size == photo.size


def test_gps_exif_of_the_selfie_never_reaches_the_response() -> None:
    use_settings()
    source = image_bytes(Image.open(io.BytesIO(selfie())).convert("RGB"), "JPEG", exif=gps_exif())
    status, body = post(source)
    assert status == 200, body
    out = base64.b64decode(body["image_base64"])
    assert b"Exif" not in out and b"PhoneMaker" not in out
    assert not Image.open(io.BytesIO(out)).getexif()


def test_rotated_selfie_is_answered_upright() -> None:
    use_settings()
    exif = Image.Exif()
    exif[0x0112] = 8
    # The portrait stored on its side (as a phone writes it), with the tag that turns it upright:
    # the person check only finds the face once the intake has turned it.
    upright = Image.open(io.BytesIO(selfie())).convert("RGB")
    status, body = post(image_bytes(upright.transpose(Image.Transpose.ROTATE_270), "JPEG", exif=exif))
    assert status == 200, body
    assert Image.open(io.BytesIO(base64.b64decode(body["image_base64"]))).size == upright.size


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (png_header_only(50_000, 50_000), "selfie_base64 is too large: at most 40 megapixels once decoded"),
        (
            image_bytes(Image.new("RGB", (300, 300)), "TIFF"),
            "selfie_base64 is a TIFF image: the accepted formats are JPEG, PNG, WebP or HEIC",
        ),
        (
            image_bytes(Image.new("RGB", (200, 400)), "PNG"),
            "selfie_base64 is too small: the short side must be at least 256 px (it is 200 px)",
        ),
        (selfie_jpeg()[:5000], "selfie_base64 is a truncated or corrupt image"),
    ],
    ids=["bomb", "tiff", "small", "truncated"],
)
def test_hostile_selfies_get_400_with_a_clear_message(data: bytes, message: str) -> None:
    use_settings()
    assert post(data) == (400, {"error": message})


@pytest.mark.parametrize(
    "url",
    ["http://169.254.169.254/latest/meta-data/", "http://0x7f.1/", "http://[::ffff:10.0.0.1]/", "http://10.0.0.1:80/"],
)
def test_private_garment_urls_get_400_and_no_connection(url: str, no_connections: list[Any]) -> None:
    use_settings()
    assert post(selfie(), clothing_image_url=url) == (
        400,
        {"error": f"clothing_image_url is not allowed: {PRIVATE_ADDRESS}"},
    )
    assert no_connections == []


@pytest.fixture
def garment_server() -> Iterator[str]:
    garment = image_bytes(Image.new("RGB", (200, 260), (20, 90, 40)), "JPEG")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            if self.path == "/jacket.jpg":
                body, kind, status = garment, "image/jpeg", 200
            elif self.path == "/page":
                body, kind, status = b"<html>jacket</html>", "text/html", 200
            else:
                body, kind, status = b"missing", "text/plain", 404
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def test_garment_from_a_loopback_server_with_the_development_flag(garment_server: str) -> None:
    use_settings(allow_private_garment_urls=True)
    status, body = post(selfie(), clothing_image_url=f"{garment_server}/jacket.jpg")
    assert status == 200, body


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/missing.jpg", "clothing_image_url answered with status 404"),
        ("/page", "clothing_image_url did not return an image"),
    ],
)
def test_unusable_garments_get_422(garment_server: str, path: str, message: str) -> None:
    use_settings(allow_private_garment_urls=True)
    assert post(selfie(), clothing_image_url=garment_server + path) == (422, {"error": message})


def test_loopback_garment_is_refused_by_default(garment_server: str) -> None:
    use_settings()
    status, body = post(selfie(), clothing_image_url=f"{garment_server}/jacket.jpg")
    assert (status, body) == (
        400,
        {"error": f"clothing_image_url is not allowed: {PRIVATE_ADDRESS}"},
    )
