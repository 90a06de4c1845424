"""``TryOnClient``: the API's calls as methods, errors as typed exceptions, and bounded retries of
429 and 503 that honour ``Retry-After``."""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Union

import requests

from tryon_client.errors import APIError, JobTimeoutError, TryOnError, error_for
from tryon_client.models import GeneratedImage, Job, JobImage

Selfie = Union[bytes, str, "os.PathLike[str]"]
RETRIED_STATUSES = frozenset({429, 503})


def _selfie_base64(selfie: Selfie) -> str:
    """Bytes as they are, or the file at a path."""
    data = selfie if isinstance(selfie, (bytes, bytearray)) else Path(selfie).read_bytes()
    return base64.b64encode(bytes(data)).decode("ascii")


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (the API sends delta-seconds); None when absent or not a number."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


class TryOnClient:
    """A client of one deployment (``base_url``: the function URL, or ``http://127.0.0.1:3000``).

    ``api_key`` for servers; ``token`` (a short-lived token, sent as ``Authorization: Bearer``) for
    code that must not hold a key. ``max_retries`` and ``max_retry_wait`` bound the retries of 429
    and 503: at most that many more tries, each waiting ``Retry-After`` (else a short backoff)
    capped at ``max_retry_wait`` seconds.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 120.0,
        max_retries: int = 3,
        max_retry_wait: float = 30.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_retries = max(0, max_retries)
        self.max_retry_wait = max(0.0, max_retry_wait)
        self._session = session or requests.Session()
        self._sleep = sleep
        self._headers: dict[str, str] = {"User-Agent": "tryon-client-python/0.1"}
        if api_key:
            self._headers["X-API-Key"] = api_key
        if token:
            self._headers["Authorization"] = f"Bearer {token}"

    # ------------------------------------------------------------------------------ calls

    def generate(
        self,
        selfie: Selfie,
        clothing_description: str,
        mode: str,
        *,
        clothing_image_url: str | None = None,
        garment_category: str = "auto",
        output_format: str = "jpeg",
    ) -> GeneratedImage:
        """``POST /generate_image``: the image's bytes and MIME type."""
        body = self._tryon_body(selfie, clothing_description, mode, clothing_image_url, garment_category, output_format)
        answer = self._request("POST", "/generate_image", json=body).json()
        return GeneratedImage(data=base64.b64decode(answer["image_base64"]), mime_type=str(answer["mime_type"]))

    def submit_job(
        self,
        selfie: Selfie,
        clothing_description: str,
        mode: str,
        *,
        num_samples: int = 1,
        seed: int | None = None,
        webhook_url: str | None = None,
        idempotency_key: str | None = None,
        clothing_image_url: str | None = None,
        garment_category: str = "auto",
        output_format: str = "jpeg",
    ) -> Job:
        """``POST /jobs``: the queued job (``.id``). With ``idempotency_key`` a retried submit
        answers the same job."""
        body = self._tryon_body(selfie, clothing_description, mode, clothing_image_url, garment_category, output_format)
        body["num_samples"] = num_samples
        if seed is not None:
            body["seed"] = seed
        if webhook_url is not None:
            body["webhook_url"] = webhook_url
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return Job.from_json(self._request("POST", "/jobs", json=body, headers=headers).json())

    def get_job(self, job_id: str, *, inline_images: bool = False) -> Job:
        """``GET /jobs/{id}``; ``inline_images`` asks for the images inline (``?images=base64``)."""
        params = {"images": "base64"} if inline_images else None
        return Job.from_json(self._request("GET", f"/jobs/{job_id}", params=params).json())

    def wait(self, job_id: str, timeout: float = 300.0, poll_interval: float = 1.0) -> Job:
        """Poll until the job has succeeded or failed (``JobTimeoutError`` after ``timeout`` s)."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.get_job(job_id)
            if job.finished:
                return job
            left = deadline - time.monotonic()
            if left <= 0:
                raise JobTimeoutError(job_id, job.status, timeout)
            self._sleep(min(poll_interval, left))

    def download(self, image: JobImage) -> bytes:
        """A sample's bytes: fetched from its short-lived URL (no key is sent there), or inline."""
        if image.data is not None:
            return image.data
        if not image.url:
            raise TryOnError("the image has neither a url nor inline data")
        return self._send("GET", image.url, send_credentials=False).content

    def delete_job(self, job_id: str) -> None:
        """``DELETE /jobs/{id}``: the job, its inputs and results are erased."""
        self._request("DELETE", f"/jobs/{job_id}")

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> TryOnClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ---------------------------------------------------------------------------- helpers

    @staticmethod
    def _tryon_body(
        selfie: Selfie,
        clothing_description: str,
        mode: str,
        clothing_image_url: str | None,
        garment_category: str,
        output_format: str,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "selfie_base64": _selfie_base64(selfie),
            "clothing_description": clothing_description,
            "mode": mode,
            "garment_category": garment_category,
            "output_format": output_format,
        }
        if clothing_image_url is not None:
            body["clothing_image_url"] = clothing_image_url
        return body

    def _request(self, method: str, path: str, **options: Any) -> requests.Response:
        return self._send(method, self.base_url + path, **options)

    def _send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        send_credentials: bool = True,
        **options: Any,
    ) -> requests.Response:
        sent = {"User-Agent": self._headers["User-Agent"]}
        if send_credentials:
            sent = {**self._headers}
        sent.update(headers or {})
        attempt = 0
        while True:
            response = self._session.request(method, url, headers=sent, timeout=self.timeout, **options)
            if response.status_code < 400:
                return response
            error = self._error(response)
            if response.status_code not in RETRIED_STATUSES or attempt >= self.max_retries:
                raise error
            attempt += 1
            wait = error.retry_after if error.retry_after is not None else min(2.0 ** (attempt - 1), 8.0)
            self._sleep(min(wait, self.max_retry_wait))

    @staticmethod
    def _error(response: requests.Response) -> APIError:
        try:
            message = str(response.json().get("error") or response.reason)
        except ValueError:
            message = response.reason or f"HTTP {response.status_code}"
        return error_for(
            response.status_code,
            message,
            response.headers.get("X-Request-Id"),
            _retry_after(response.headers.get("Retry-After")),
        )
