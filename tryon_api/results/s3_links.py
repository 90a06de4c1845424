"""Result links on AWS: S3 presigned GETs (boto3's presigner), signed by the caller's role.

The URL is signed locally (no request to AWS); it works only while the signing role may
``s3:GetObject`` the key and, for a Lambda role's temporary credentials, until they expire.
A deleted object answers 403 (the roles may not list the bucket's other keys), as does an
altered or expired URL.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

# SigV4 presigned URLs live at most 7 days (S3 API reference, "Authenticating requests: query parameters").
MAX_PRESIGN_SECONDS = 604800


class S3PresignedLinks:
    def __init__(self, client: Any, bucket: str, clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self._bucket = bucket
        self._clock = clock

    def link(self, key: str, expires_at: int) -> str:
        seconds = max(1, min(MAX_PRESIGN_SECONDS, int(expires_at - self._clock())))
        url: str = self._client.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=seconds, HttpMethod="GET"
        )
        return url
