"""Fetch the reference garment image named by ``clothing_image_url``.

Every target must resolve to globally routable addresses only, so a caller can never make the
function reach the metadata service, loopback or a private network.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

import requests

from handler.deadline import Deadline
from handler.errors import BadRequest, UnusableGarmentImage, UpstreamTimeout

MAX_REDIRECTS = 3
NOT_ALLOWED = "clothing_image_url is not allowed"
GarmentFetcher = Callable[[str, Deadline], bytes]


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnusableGarmentImage("clothing_image_url could not be reached") from None
    return sorted({str(info[4][0]) for info in infos})


def check_target(url: str, allow_private: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        raise BadRequest(NOT_ALLOWED)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if allow_private:
        return
    if port not in (80, 443):
        raise BadRequest(NOT_ALLOWED)
    for address in _resolve(parts.hostname, port):
        if not ipaddress.ip_address(address.split("%")[0]).is_global:
            raise BadRequest(NOT_ALLOWED)


class GarmentImageFetcher:
    def __init__(self, *, allow_private: bool, timeout_seconds: float, max_bytes: int) -> None:
        self.allow_private = allow_private
        self.timeout_seconds = timeout_seconds
        self.max_bytes = max_bytes
        self._session = requests.Session()
        self._session.trust_env = False

    def __call__(self, url: str, deadline: Deadline) -> bytes:
        for _ in range(MAX_REDIRECTS + 1):
            check_target(url, self.allow_private)
            budget = min(self.timeout_seconds, deadline.remaining())
            if budget <= 0:
                raise UpstreamTimeout("clothing_image_url did not answer in time")
            try:
                with self._session.get(
                    url,
                    stream=True,
                    allow_redirects=False,
                    timeout=(min(3.0, budget), budget),
                    headers={"Accept": "image/*"},
                ) as response:
                    if response.is_redirect and response.headers.get("location"):
                        url = urljoin(url, response.headers["location"])
                        continue
                    if response.status_code != 200:
                        raise UnusableGarmentImage(f"clothing_image_url answered with status {response.status_code}")
                    return self._read_capped(response)
            except requests.Timeout:
                raise UpstreamTimeout("clothing_image_url did not answer in time") from None
            except requests.RequestException:
                raise UnusableGarmentImage("clothing_image_url could not be reached") from None
        raise UnusableGarmentImage("clothing_image_url redirected too many times")

    def _read_capped(self, response: requests.Response) -> bytes:
        chunks: list[bytes] = []
        total = 0
        for chunk in response.iter_content(64 * 1024):
            total += len(chunk)
            if total > self.max_bytes:
                raise UnusableGarmentImage("clothing_image_url is larger than 15 MB")
            chunks.append(chunk)
        return b"".join(chunks)
