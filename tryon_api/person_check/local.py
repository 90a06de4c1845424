"""The local person check: the face mesh the embedded preview already runs on every selfie.

MediaPipe's models ship inside its wheel (no download); they load once per process and are shared
with the embedded backend (tryon_api/backends/embedded/person_analysis.py). Local runs only: the
Lambda package has no embedded backend, and the template chooses Rekognition.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from tryon_api.tryon.interface import PersonFinding


class LocalPersonDetector:
    name = "local"

    def find_people(self, image: Image.Image) -> PersonFinding:
        from tryon_api.backends.embedded.person_analysis import analyse_person

        analysis = analyse_person(np.asarray(image.convert("RGB")))
        # The face mesh follows one face at most: one person, or none. No age estimate.
        return PersonFinding(people=0 if analysis.face is None else 1)
