"""Result links (local signed, S3 presigned), the webhook schedule and its queue hops, the
``whsec_`` secret rule, the queue message's ``due_at``, and the answer formats without metadata."""

from __future__ import annotations

import base64
import io
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from PIL import Image

from tryon_api.jobs.interface import QueueMessage, result_key
from tryon_api.jobs.messages import MalformedQueueMessage, decode_message, encode_message
from tryon_api.jobs.webhooks import (
    MAX_HOP_SECONDS,
    RETRY_SCHEDULE_SECONDS,
    RETRY_SPAN_SECONDS,
    WebhookSecretError,
    hop_delay,
    next_attempt_due,
    signing_secret,
)
from tryon_api.results.interface import link_expiry
from tryon_api.results.local_links import LinkRefused, LocalSignedLinks
from tryon_api.results.s3_links import S3PresignedLinks
from tryon_api.tryon.interface import GeneratedImage
from tryon_api.tryon.response_image import encode_response_image

NOW = 1_800_000_000
KEY = result_key("AbCdEfGhIjKlMnOpQrStUv", 2, "image/png")


def links(now: float = NOW) -> LocalSignedLinks:
    return LocalSignedLinks(b"k" * 32, "http://127.0.0.1:3000", clock=lambda: now)


def path_and_query(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.path, parts.query


def test_a_local_link_names_its_key_and_is_accepted_until_it_expires() -> None:
    url = links().link(KEY, NOW + 60)
    assert url.startswith("http://127.0.0.1:3000/results/AbCdEfGhIjKlMnOpQrStUv/2.png?expires=")
    assert links().check(*path_and_query(url)) == KEY
    assert links(NOW + 59.9).check(*path_and_query(url)) == KEY
    with pytest.raises(LinkRefused):
        links(NOW + 60).check(*path_and_query(url))


@pytest.mark.parametrize(
    "change",
    [
        lambda p, q: (p.replace("/2.png", "/1.png"), q),  # another image
        lambda p, q: (p.replace("results/", "inputs/"), q),  # outside the results
        lambda p, q: (p, q.replace("expires=", "expires=9")),  # a longer life
        lambda p, q: (p, q[: q.index("signature=") + 10] + "x" * 43),  # a forged signature
        lambda p, q: (p, q + "&signature=x"),  # a second signature
        lambda p, q: (p, q + "&extra=1"),
        lambda p, q: (p, ""),
        lambda p, q: (p, q.replace("expires=", "expires=-")),
        lambda p, q: (p + "/../../webhook-secret", q),
    ],
)
def test_an_altered_local_link_is_refused(change: object) -> None:
    path, query = path_and_query(links().link(KEY, NOW + 60))
    with pytest.raises(LinkRefused):
        links().check(*change(path, query))  # type: ignore[operator]
    with pytest.raises(LinkRefused):  # another signing key (another data folder) refuses it too
        LocalSignedLinks(b"o" * 32, "http://x", clock=lambda: NOW).check(path, query)


def test_a_link_lives_its_setting_and_never_past_its_job() -> None:
    assert link_expiry(NOW, 3600, NOW + 86400) == NOW + 3600
    assert link_expiry(NOW, 3600, NOW + 600) == NOW + 600


def test_an_s3_link_is_a_sigv4_presigned_get_expiring_with_the_link() -> None:
    from botocore.config import Config

    client = boto3.session.Session(
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret", region_name="eu-west-1"
    ).client("s3", config=Config(signature_version="s3v4"))
    url = S3PresignedLinks(client, "tryon-jobs", clock=lambda: NOW).link(KEY, NOW + 900)
    query = parse_qs(urlsplit(url).query)
    assert urlsplit(url).path.endswith("/" + KEY) and query["X-Amz-Expires"] == ["900"]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and "eu-west-1" in query["X-Amz-Credential"][0]
    late = S3PresignedLinks(client, "tryon-jobs", clock=lambda: NOW + 10**6).link(KEY, NOW)
    assert parse_qs(urlsplit(late).query)["X-Amz-Expires"] == ["1"]  # never a negative or open lifetime


def test_the_retry_schedule_spans_a_day_in_hops_sqs_can_delay() -> None:
    assert len(RETRY_SCHEDULE_SECONDS) == 7 and RETRY_SPAN_SECONDS >= 24 * 3600
    assert MAX_HOP_SECONDS <= 900  # SQS's DelaySeconds bound
    failed_at = NOW
    for attempt, wait in enumerate(RETRY_SCHEDULE_SECONDS, start=1):
        assert next_attempt_due(attempt, failed_at) == failed_at + wait
    assert next_attempt_due(len(RETRY_SCHEDULE_SECONDS) + 1, failed_at) is None  # given up
    assert hop_delay(NOW + 36000, NOW) == MAX_HOP_SECONDS and hop_delay(NOW + 5, NOW) == 5
    assert hop_delay(NOW, NOW) == 0 and hop_delay(NOW - 10, NOW) == 0 and hop_delay(NOW + 1, NOW + 0.5) == 1


def test_the_webhook_secret_is_whsec_and_base64_of_at_least_16_bytes() -> None:
    generated = "Zk3P9qLmX2vR7tYw4nBc8dFh6jKs1aGe5uWo0iQp3rTy7uIo"  # as the template's secret looks
    assert signing_secret(generated) == "whsec_" + generated
    assert signing_secret("whsec_" + generated) == "whsec_" + generated
    for bad in ("", "whsec_", "not base64!", "whsec_" + base64.b64encode(b"short").decode(), "secret-with-dashes"):
        with pytest.raises(WebhookSecretError):
            signing_secret(bad)


def test_a_queue_messages_due_time_travels_with_it() -> None:
    message = QueueMessage("webhook", "AbCdEfGhIjKlMnOpQrStUv", attempt=3, due_at=NOW + 1800)
    assert decode_message(encode_message(message)) == message
    assert "due_at" not in encode_message(QueueMessage("run", "AbCdEfGhIjKlMnOpQrStUv"))  # old bodies unchanged
    for due_at in ("soon", -1, True, 2**41):
        with pytest.raises(MalformedQueueMessage):
            decode_message(f'{{"kind": "webhook", "job_id": "x", "due_at": {due_at!r}}}'.replace("'", '"'))


@pytest.mark.parametrize(
    ("output_format", "mime", "pillow"), [("png", "image/png", "PNG"), ("webp", "image/webp", "WEBP")]
)
def test_png_and_webp_answers_carry_no_metadata_and_fit_the_limit(output_format: str, mime: str, pillow: str) -> None:
    source = Image.effect_noise((600, 800), 60).convert("RGB")
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"
    source.save(buffer, "JPEG", quality=95, exif=exif.tobytes(), icc_profile=b"\0" * 128)
    for limit in (6_000_000, 1_000_000):  # the second makes noise shrink to fit
        encoded, answered = encode_response_image(GeneratedImage(buffer.getvalue(), "image/jpeg"), limit, output_format)
        data = base64.b64decode(encoded)
        assert answered == mime and len(encoded) <= limit
        image = Image.open(io.BytesIO(data))
        assert image.format == pillow and not image.getexif() and "icc_profile" not in image.info
        assert b"CameraMaker" not in data


def test_the_content_checks_read_a_webp_answer_as_a_png_of_its_exact_pixels() -> None:
    from tryon_api.tryon.response_image import moderation_copy

    source = Image.effect_noise((64, 80), 40).convert("RGB")
    buffer = io.BytesIO()
    source.save(buffer, "WEBP", quality=80)
    webp = buffer.getvalue()
    copy = moderation_copy(webp, "image/webp")
    assert copy.startswith(b"\x89PNG")
    assert (
        Image.open(io.BytesIO(copy)).convert("RGB").tobytes() == Image.open(io.BytesIO(webp)).convert("RGB").tobytes()
    )
    assert moderation_copy(b"\xff\xd8jpeg", "image/jpeg") == b"\xff\xd8jpeg"  # JPEG and PNG go as they are
