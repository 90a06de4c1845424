"""Result URLs from the local server, over real HTTP: a 4-sample job keeps each image at the size
of a single synchronous answer and links to it; ``?images=base64`` still fits one answer; a forged,
altered or expired link, and any link of a deleted job, is refused with 403."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
import requests
from PIL import Image

from tests.live_server import LiveServer, live_server
from tests.photos import b64, selfie_jpeg
from tryon_api.entrypoints import wiring
from tryon_api.entrypoints.wiring import get_services
from tryon_api.jobs.local_queue import message_from_body
from tryon_api.jobs.worker import handle_message
from tryon_api.settings import LAMBDA_INVOCATION_PAYLOAD_BYTES

pytestmark = pytest.mark.integration
KEY = "result-urls-key-4c2d"
# A small response limit: one answer's image is larger than a quarter of it.
RESPONSE_LIMIT = 120_000


@contextmanager
def serving(data_dir: Path, response_limit: int) -> Iterator[LiveServer]:
    env = {"TRYON_JOBS_DATA_DIR": str(data_dir), "TRYON_MAX_RESPONSE_BYTES": str(response_limit)}
    with live_server(KEY, env=env) as running:
        try:
            yield running
        finally:
            wiring.reset()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    with serving(tmp_path, RESPONSE_LIMIT) as running:
        yield running


@pytest.fixture
def full_server(tmp_path: Path) -> Iterator[LiveServer]:
    """The default response limit (Lambda's 6 MB): room for a lossless PNG."""
    with serving(tmp_path, LAMBDA_INVOCATION_PAYLOAD_BYTES) as running:
        yield running


def body(**extra: Any) -> dict[str, Any]:
    return {
        "selfie_base64": b64(selfie_jpeg()),
        "clothing_description": "a red wool sweater",
        "mode": "studio",
        **extra,
    }


def api(server: LiveServer, method: str, path: str, json: Any = None) -> requests.Response:
    return requests.request(method, server.url + path, json=json, headers={"X-API-Key": KEY}, timeout=120)


def run_queue() -> None:
    deps = get_services().jobs()
    while (received := deps.queue.receive()) is not None:  # type: ignore[attr-defined]
        handle_message(message_from_body(received.body), deps)
        deps.queue.acknowledge(received.receipt)  # type: ignore[attr-defined]


def finished_job(server: LiveServer, **fields: Any) -> dict[str, Any]:
    submitted = api(server, "POST", "/jobs", body(**fields))
    assert submitted.status_code == 202, submitted.text[:300]
    run_queue()
    done = api(server, "GET", f"/jobs/{submitted.json()['id']}")
    assert done.status_code == 200 and done.json()["status"] == "succeeded", done.text[:300]
    return dict(done.json())


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_a_four_sample_jobs_images_are_each_a_full_synchronous_answer_fetched_by_url(server: LiveServer) -> None:
    sync = api(server, "POST", "/generate_image", body())
    assert sync.status_code == 200
    single = base64.b64decode(sync.json()["image_base64"])
    job = finished_job(server, num_samples=4)  # the default seed: sample 0 is the synchronous call's
    assert [image["mime_type"] for image in job["images"]] == ["image/jpeg"] * 4
    fetched = []
    for image in job["images"]:
        assert image["url"].startswith(server.url + "/results/") and "image_base64" not in image
        answer = requests.get(image["url"], timeout=30)
        assert answer.status_code == 200 and answer.headers["Content-Type"] == "image/jpeg"
        fetched.append(answer.content)
    assert len(b64(single)) > RESPONSE_LIMIT // 4  # a quarter of an answer could not hold it
    assert fetched[0] == single  # the same bytes as the synchronous answer: not squeezed into a share
    sizes = {Image.open(io.BytesIO(data)).size for data in fetched}
    assert sizes == {Image.open(io.BytesIO(single)).size}
    assert len(set(fetched)) == 4  # four seeds, four images
    # Inline, the four share one answer: each is re-encoded to fit its quarter.
    inline = api(server, "GET", f"/jobs/{job['id']}?images=base64")
    assert inline.status_code == 200 and len(inline.content) <= RESPONSE_LIMIT
    inline_images = [base64.b64decode(image["image_base64"]) for image in inline.json()["images"]]
    assert [image["seed"] for image in inline.json()["images"]] == [image["seed"] for image in job["images"]]
    assert all(len(data) < len(single) for data in inline_images)
    bad = api(server, "GET", f"/jobs/{job['id']}?images=inline")
    assert (bad.status_code, bad.json()) == (400, {"error": 'images must be one of "url", "base64"'})


@pytest.mark.parametrize(
    ("output_format", "mime", "magic"), [("png", "image/png", b"\x89PNG"), ("webp", "image/webp", b"RIFF")]
)
def test_a_jobs_output_format_is_kept_and_served_with_its_type(
    full_server: LiveServer, output_format: str, mime: str, magic: bytes
) -> None:
    job = finished_job(full_server, output_format=output_format)
    (image,) = job["images"]
    assert image["mime_type"] == mime and job["output_format"] == output_format
    answer = requests.get(image["url"], timeout=30)
    assert answer.status_code == 200 and answer.headers["Content-Type"] == mime and answer.content.startswith(magic)


def test_forged_altered_expired_and_deleted_links_are_refused(server: LiveServer) -> None:
    job = finished_job(server, num_samples=2)
    first, second = (image["url"] for image in job["images"])
    assert requests.get(first, timeout=30).status_code == 200
    query = dict(parse_qsl(urlsplit(first).query))
    refused = [
        with_query(first, signature="A" * len(query["signature"])),  # forged
        with_query(first, expires=str(int(query["expires"]) + 3600)),  # lifetime stretched
        first.replace("/0.jpg", "/1.jpg"),  # another image under this link's signature
        first.split("?")[0],  # no signature at all
        with_query(first, expires="1"),  # long expired (and altered)
    ]
    for url in refused:
        answer = requests.get(url, timeout=30)
        assert answer.status_code == 403, url
        assert answer.json() == {"error": "result link is invalid or has expired"} and answer.headers["X-Request-Id"]
    # Expired: the same genuine link, read after its time (the links' clock moved on).
    links = get_services().jobs().result_links
    real_clock = links._clock  # type: ignore[union-attr]
    links._clock = lambda: int(query["expires"]) + 1  # type: ignore[union-attr]
    try:
        assert requests.get(first, timeout=30).status_code == 403
    finally:
        links._clock = real_clock  # type: ignore[union-attr]
    assert requests.get(second, timeout=30).status_code == 200
    assert api(server, "DELETE", f"/jobs/{job['id']}").status_code == 204
    assert requests.get(first, timeout=30).status_code == 403  # a deleted job's links stop working
    assert requests.get(second, timeout=30).status_code == 403


def test_a_link_lives_at_most_the_setting_and_never_past_its_job(server: LiveServer) -> None:
    job = finished_job(server)
    expires = int(dict(parse_qsl(urlsplit(job["images"][0]["url"]).query))["expires"])
    deps = get_services().jobs()
    assert expires - deps.clock() <= deps.settings.result_url_ttl_seconds == 3600
    record = deps.store.get(job["id"])
    assert record is not None and expires <= record.expires_at
