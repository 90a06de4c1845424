"""Picks the person detector the settings name; the adapter (and its client or models) is built on
the first check, so a cold start pays nothing for it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tryon_api.per_container import PerContainer
from tryon_api.settings import Settings, SettingsError
from tryon_api.tryon.interface import PersonDetector, PersonFinding


class LazyPersonDetector:
    """Builds the configured adapter on its first use, once per container."""

    def __init__(self, name: str, build: Callable[[], PersonDetector]) -> None:
        self.name = name
        self._detector: PerContainer[PersonDetector] = PerContainer(build)

    def find_people(self, image: Any) -> PersonFinding:
        return self._detector.get().find_people(image)


def build_person_detector(settings: Settings, client_factory: Callable[..., Any] | None = None) -> PersonDetector:
    """``client_factory(service)``: a boto3 client (``aws_clients.create_quick_client`` by default)."""
    if settings.person_detector == "rekognition":

        def rekognition() -> PersonDetector:
            from tryon_api.person_check.rekognition import RekognitionPersonDetector

            factory = client_factory
            if factory is None:
                from tryon_api.aws_clients import create_quick_client

                factory = create_quick_client
            return RekognitionPersonDetector(factory("rekognition"))

        return LazyPersonDetector("rekognition", rekognition)

    def local() -> PersonDetector:
        import importlib.util

        if importlib.util.find_spec("tryon_api.backends.embedded") is None:  # the Lambda package
            raise SettingsError("TRYON_PERSON_DETECTOR=local needs the embedded backend's models: use rekognition")
        from tryon_api.person_check.local import LocalPersonDetector

        return LocalPersonDetector()

    return LazyPersonDetector("local", local)
