"""Picks the result-link adapter from the settings: S3 presigned GETs when the jobs live on AWS,
else links the local server signs with a key kept in the data folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tryon_api.results.interface import ResultLinks
from tryon_api.settings import Settings


def build_result_links(
    settings: Settings, presigning_client: Callable[[], Any] | None = None, data_dir: str | Path | None = None
) -> ResultLinks:
    """``presigning_client``: makes the S3 client that signs (``aws_clients.create_presigning_client``)."""
    if settings.jobs_table_name:
        from tryon_api.results.s3_links import S3PresignedLinks

        if presigning_client is None:
            from tryon_api.aws_clients import create_presigning_client

            presigning_client = create_presigning_client
        return S3PresignedLinks(presigning_client(), settings.jobs_bucket_name)
    from tryon_api.results.local_links import LocalSignedLinks, local_server_url, local_signing_key

    key = local_signing_key(Path(data_dir or settings.jobs_data_dir))
    return LocalSignedLinks(key, settings.local_results_base_url or local_server_url)
