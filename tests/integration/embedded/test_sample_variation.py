"""Samples of one job differ visibly; the same seed gives the same bytes.

A job renders its sample ``i`` with seed ``job.seed + i`` (tryon_api/jobs/worker.py), through the
backend's ``generate``: that is what is compared here, as the client downloads it (JPEG), over
the preview's own garment mask, and once through a real job (submitted, run by the worker, read
back from the local store). Earlier the two samples differed by 0.5/255 there: invisible.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.jobs_fixtures import local_jobs
from tests.photos import ASTRONAUT, GRACE_HOPPER, selfie_jpeg
from tryon_api.backends.embedded.backend import EmbeddedTryOnBackend
from tryon_api.backends.embedded.dressing import dress_person
from tryon_api.backends.embedded.image_operations import rgb_array
from tryon_api.garments.description import parse_description
from tryon_api.jobs.interface import job_owner
from tryon_api.jobs.local_queue import message_from_body
from tryon_api.jobs.submission import JobOptions, submit_job
from tryon_api.jobs.worker import handle_message
from tryon_api.tryon.deadline import Deadline
from tryon_api.tryon.interface import GenerationInput, TryOnRequest

pytestmark = pytest.mark.integration

JOB_SEED = 1234
PHOTOS = {"astronaut": ASTRONAUT, "grace_hopper": GRACE_HOPPER}
DESCRIPTIONS = ("red cotton t-shirt", "grey hoodie")
SMALLEST_DIFFERENCE = 4.0  # /255, mean absolute over the garment's pixels and channels


@cache
def backend() -> EmbeddedTryOnBackend:
    return EmbeddedTryOnBackend(preload=False, concurrency=1)


@cache
def photo(name: str) -> Image.Image:
    return Image.open(PHOTOS[name]).convert("RGB")


@cache
def sample(name: str, description: str, mode: str, seed: int) -> bytes:
    job = GenerationInput(person=photo(name), clothing_description=description, mode=mode, seed=seed)  # type: ignore[arg-type]
    return backend().generate(job, Deadline.after(120)).data


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float32)


@cache
def garment_region(name: str, description: str) -> np.ndarray:
    """Where the preview itself puts the new garment (seed-independent: the cut does not vary)."""
    return dress_person(rgb_array(photo(name)), parse_description(description), JOB_SEED).garment > 0.5


@pytest.mark.parametrize("mode", ["studio", "environment"])
@pytest.mark.parametrize("description", DESCRIPTIONS)
@pytest.mark.parametrize("name", list(PHOTOS))
def test_two_samples_of_a_job_differ_visibly_over_the_garment(name: str, description: str, mode: str) -> None:
    region = garment_region(name, description)
    assert region.sum() > 0.05 * region.size
    first = pixels(sample(name, description, mode, JOB_SEED))
    second = pixels(sample(name, description, mode, JOB_SEED + 1))
    difference = float(np.abs(first - second)[region].mean())
    assert difference >= SMALLEST_DIFFERENCE, f"{difference:.2f}/255"
    # Plausible variation, not a different garment: the garment's mean colour stays within a few levels.
    assert np.abs(first[region].mean(axis=0) - second[region].mean(axis=0)).max() < 12


@pytest.mark.parametrize("mode", ["studio", "environment"])
def test_the_same_seed_gives_the_same_bytes(mode: str) -> None:
    job = GenerationInput(photo("astronaut"), "navy and white striped shirt", mode, 77)  # type: ignore[arg-type]
    first = EmbeddedTryOnBackend(preload=False, concurrency=1).generate(job, Deadline.after(120)).data
    second = EmbeddedTryOnBackend(preload=False, concurrency=1).generate(job, Deadline.after(120)).data
    assert first == second


def test_the_person_outside_the_garment_does_not_vary_in_the_studio() -> None:
    """The face and hair are the photo's in every sample: only the clothes' drape and light vary."""
    name, description = "grace_hopper", "red cotton t-shirt"
    first = pixels(sample(name, description, "studio", JOB_SEED))
    second = pixels(sample(name, description, "studio", JOB_SEED + 1))
    face = (slice(150, 330), slice(190, 350))  # the face, between the cap and the chin
    assert float(np.abs(first[face] - second[face]).mean()) < 0.5


@pytest.mark.parametrize("mode", ["studio", "environment"])
def test_a_real_jobs_two_samples_differ_visibly(tmp_path: Path, mode: str) -> None:
    """The job path end to end: submitted, run by the worker over the local adapters, stored, read back."""
    deps, _backend = local_jobs(tmp_path, backend=backend())  # type: ignore[arg-type]
    request = TryOnRequest(selfie_bytes=selfie_jpeg(), clothing_description="red cotton t-shirt", mode=mode)  # type: ignore[arg-type]
    job = submit_job(request, JobOptions(num_samples=2, seed=JOB_SEED, webhook_url=None), job_owner("k"), deps)
    queue: Any = deps.queue  # the local queue, which a test may read like the worker's poller
    received = queue.receive()
    assert received is not None
    queue.acknowledge(received.receipt)
    handle_message(message_from_body(received.body), deps)
    done = deps.store.get(job.id)
    assert done is not None and done.status == "succeeded", done
    first, second = (pixels(deps.blobs.get(image.blob_key)) for image in done.images)
    selfie = np.asarray(Image.open(io.BytesIO(selfie_jpeg())).convert("RGB"))
    assert first.shape == selfie.shape  # the preview keeps the selfie's size: the mask below lines up
    region = dress_person(selfie, parse_description("red cotton t-shirt"), JOB_SEED).garment > 0.5
    assert float(np.abs(first - second)[region].mean()) >= SMALLEST_DIFFERENCE
