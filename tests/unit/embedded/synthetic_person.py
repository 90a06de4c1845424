"""A full-body person drawn by code, with the analysis the models would give: for stage tests on known masks.

Standing, facing the camera, 360 x 720 px: a skin-coloured head, a grey top with long sleeves, brown
trousers to the ankles, dark shoes, on a pale background. Every body part's box is known, so a
test can check which pixels a stage changed. The ``PersonAnalysis`` carries the drawn matte and a
33-point BlazePose-order pose (face mesh: none; the geometry then estimates the face from the matte).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from tryon_api.backends.embedded.person_analysis import PersonAnalysis

WIDTH, HEIGHT = 360, 720
BACKGROUND = (232, 230, 226)
SKIN = (205, 160, 130)
TOP = (128, 128, 132)
TROUSERS = (110, 80, 55)
SHOES = (30, 30, 32)

Box = tuple[int, int, int, int]  # x0, y0, x1, y1


@dataclass(frozen=True)
class SyntheticPerson:
    rgb: np.ndarray
    analysis: PersonAnalysis
    chest: Box  # inside the top, below the neckline
    thighs: Box  # inside the left thigh (image left)
    shins: Box  # inside the right shin (image right)
    between_knees: Box  # background between the legs, above the knees
    face: Box
    shoes: Box


def synthetic_person() -> SyntheticPerson:
    image = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    image[:] = BACKGROUND
    matte = np.zeros((HEIGHT, WIDTH), np.uint8)
    cx = WIDTH // 2
    joints = {
        "r_shoulder": (cx - 60, 170),
        "l_shoulder": (cx + 60, 170),
        "r_elbow": (cx - 80, 270),
        "l_elbow": (cx + 80, 270),
        "r_wrist": (cx - 88, 360),
        "l_wrist": (cx + 88, 360),
        "r_hip": (cx - 38, 370),
        "l_hip": (cx + 38, 370),
        "r_knee": (cx - 42, 520),
        "l_knee": (cx + 42, 520),
        "r_ankle": (cx - 44, 660),
        "l_ankle": (cx + 44, 660),
    }

    def draw(colour: tuple[int, int, int], paint: object) -> None:
        layer = np.zeros((HEIGHT, WIDTH), np.uint8)
        paint(layer)  # type: ignore[operator]
        image[layer > 0] = colour
        matte[layer > 0] = 1

    def limb(a: str, b: str, radius: int) -> object:
        return lambda m: (
            cv2.line(m, joints[a], joints[b], 1, 2 * radius),
            cv2.circle(m, joints[a], radius, 1, -1),
            cv2.circle(m, joints[b], radius, 1, -1),
        )

    for side in ("r", "l"):  # trousers, then shoes
        draw(TROUSERS, limb(f"{side}_hip", f"{side}_knee", 26))
        draw(TROUSERS, limb(f"{side}_knee", f"{side}_ankle", 20))
        ax, ay = joints[f"{side}_ankle"]
        draw(SHOES, lambda m, ax=ax, ay=ay: cv2.ellipse(m, (ax, ay + 22), (26, 12), 0, 0, 360, 1, -1))
    draw(TROUSERS, lambda m: cv2.rectangle(m, (cx - 64, 330), (cx + 64, 400), 1, -1))
    draw(
        TOP, lambda m: cv2.fillPoly(m, [np.array([(cx - 70, 160), (cx + 70, 160), (cx + 62, 372), (cx - 62, 372)])], 1)
    )
    for side in ("r", "l"):
        draw(TOP, limb(f"{side}_shoulder", f"{side}_elbow", 20))
        draw(TOP, limb(f"{side}_elbow", f"{side}_wrist", 16))
        wx, wy = joints[f"{side}_wrist"]
        draw(SKIN, lambda m, wx=wx, wy=wy: cv2.circle(m, (wx, wy + 14), 13, 1, -1))
    draw(SKIN, lambda m: cv2.rectangle(m, (cx - 14, 120), (cx + 14, 165), 1, -1))  # neck
    draw(SKIN, lambda m: cv2.ellipse(m, (cx, 85), (38, 50), 0, 0, 360, 1, -1))  # head

    pose = np.zeros((33, 3), np.float32)
    order = {
        11: "l_shoulder", 12: "r_shoulder", 13: "l_elbow", 14: "r_elbow", 15: "l_wrist", 16: "r_wrist",
        23: "l_hip", 24: "r_hip", 25: "l_knee", 26: "r_knee", 27: "l_ankle", 28: "r_ankle",
    }  # fmt: skip
    for index, name in order.items():
        pose[index] = (*joints[name], 0.95)
    pose[0] = (cx, 90, 0.95)  # nose
    for index, wrist in (
        (17, "l_wrist"),
        (19, "l_wrist"),
        (21, "l_wrist"),
        (18, "r_wrist"),
        (20, "r_wrist"),
        (22, "r_wrist"),
    ):
        x, y = joints[wrist]
        pose[index] = (x, y + 16, 0.9)
    soft = cv2.GaussianBlur(matte.astype(np.float32), (0, 0), 1.0)
    return SyntheticPerson(
        rgb=image,
        analysis=PersonAnalysis(matte=soft, pose=pose, face=None),
        chest=(cx - 30, 230, cx + 30, 300),
        thighs=(cx - 50, 420, cx - 30, 480),
        shins=(cx + 38, 570, cx + 50, 630),
        between_knees=(cx - 6, 480, cx + 6, 520),
        face=(cx - 20, 60, cx + 20, 110),
        shoes=(cx + 30, 676, cx + 58, 690),
    )


def crop(image: np.ndarray, box: Box) -> np.ndarray:
    x0, y0, x1, y1 = box
    return image[y0:y1, x0:x1]
