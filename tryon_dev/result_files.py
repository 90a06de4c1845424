"""The local server's stand-in for S3 presigned GETs: ``GET /results/<job>/<n>.<ext>?expires=&signature=``
answers a job's stored image from the data folder when the link is one we signed and still works.

As S3 answers a presigned GET: the image with its type; 403 (in the API's error shape) for a
forged, altered or expired link and for one whose file is gone (its job deleted or expired), so
a caller learns nothing about which keys exist. Only links the local adapter signs are served:
with the jobs on AWS the links are S3's, and this path is an unknown route like any other.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tryon_api.jobs.interface import RESULT_EXTENSIONS, RESULTS_PREFIX
from tryon_api.results.local_links import LinkRefused, LocalSignedLinks
from tryon_api.tryon.errors import ResultLinkRefused

RESULT_PATH_PREFIX = "/" + RESULTS_PREFIX
_MIME_BY_EXTENSION = {extension: mime for mime, extension in RESULT_EXTENSIONS.items()}


def is_result_request(method: str, raw_path: str) -> bool:
    return method in ("GET", "HEAD") and raw_path.startswith(RESULT_PATH_PREFIX)


def local_result_links() -> tuple[LocalSignedLinks, Any] | None:
    """The local link adapter and blob store, or None when the jobs' results are not local."""
    from tryon_api.entrypoints.wiring import get_services

    services = get_services()
    if services.settings.jobs_table_name:
        return None
    deps = services.jobs()
    if not isinstance(deps.result_links, LocalSignedLinks):
        return None
    return deps.result_links, deps.blobs


def answer_result_request(raw_path: str) -> tuple[int, dict[str, str], bytes]:
    """The status, headers and body for a result link (``raw_path`` with its query)."""
    parts = urlsplit(raw_path)
    local = local_result_links()
    if local is None:
        raise ResultLinkRefused()
    links, blobs = local
    try:
        key = links.check(parts.path, parts.query)
        data: bytes = blobs.get(key)
    except (LinkRefused, KeyError, OSError, ValueError):
        raise ResultLinkRefused() from None
    mime = _MIME_BY_EXTENSION.get(key.rsplit(".", 1)[-1], "application/octet-stream")
    return 200, {"Content-Type": mime, "Cache-Control": "private, max-age=60"}, data
