"""Which pixels are the clothes: the old garment, the new garment's shape, the neck and arms left bare.

Built from the person matte, the pose and the face mesh: the face oval and the head above the
chin are never clothing; skin (a colour model sampled from the cheeks) is excluded near the neck
and hands; GrabCut, seeded from the shoulder-hip torso, separates the garment from held objects;
holes (patches, logos, name tags) are filled. The new garment gets its own neckline and sleeve
length, so a spacesuit collar ring or long sleeves do not survive a request for a t-shirt.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from tryon_api.backends.embedded.person_analysis import (
    CHEEK_POINTS,
    CHIN,
    FACE_OVAL,
    FOREHEAD,
    HAND_POINTS,
    L_ANKLE,
    L_ELBOW,
    L_HIP,
    L_KNEE,
    L_SHOULDER,
    L_WRIST,
    R_ANKLE,
    R_ELBOW,
    R_HIP,
    R_KNEE,
    R_SHOULDER,
    R_WRIST,
    PersonAnalysis,
)


@dataclass(frozen=True)
class RegionParameters:
    """Which pixels are skin, head, hands and the old clothes (lengths in shoulder widths unless said)."""

    matte_radius: float = 1 / 128  # of the image's longer side: the guided filter's radius
    matte_floor: float = 0.3  # the refined matte's 0 ...
    matte_span: float = 0.55  # ... and how far above it its 1 lies
    cheek_patch: float = 0.04  # of the face's width: the cheek samples' radius
    skin_spread: float = 6.0  # added to the cheeks' chroma covariance (Lab units squared)
    skin_tolerance: float = 2.0  # Mahalanobis distance squared at which skin probability is 1/e^0.25
    lightness_tolerance: float = 2.2  # lightness gap (0..1) that brings it to 0 (with skin_lightness_lift)
    skin_lightness_lift: float = 1.4
    head_grow: float = 1.06  # the face oval's scale in the head mask
    head_pad: float = 0.45  # of the face's width each side, above the chin
    hand_radius: float = 0.07
    upper_arm_radius: float = 0.2
    forearm_radius: float = 0.15
    sleeve_radius: float = 0.21  # a partial upper arm (short sleeves)
    work_side: float = 256.0  # px: GrabCut runs at this size
    grabcut_iterations: int = 3
    core_shrink: float = 0.12  # the torso shrunk by this much: certainly the garment
    core_neckline: float = 0.6  # face heights below the neck base the core starts
    core_skin: float = 0.3  # skin probability under which the core is cloth
    certain_skin: float = 0.6  # over which a pixel is certainly not the garment
    strap_width: float = 0.16  # thinner things across the torso GrabCut left out are garment


REGIONS = RegionParameters()
LEG_VISIBILITY = 0.5  # below it a knee or ankle the pose model reports is a guess (often out of frame)


@dataclass(frozen=True)
class BodyGeometry:
    """Key points of the upper body in pixels (x, y); estimated from the matte when a model saw nothing."""

    left_shoulder: np.ndarray  # the person's left: image right
    right_shoulder: np.ndarray
    left_elbow: np.ndarray
    right_elbow: np.ndarray
    left_wrist: np.ndarray
    right_wrist: np.ndarray
    left_hip: np.ndarray
    right_hip: np.ndarray
    chin: np.ndarray
    face_box: tuple[int, int, int, int]  # x0, y0, x1, y1
    hands: np.ndarray  # Nx2 visible hand points
    neck_half: float = 0.0  # measured from the skin under the chin; 0 = estimate from the face
    # The legs' joints where the pose saw them (None: estimated from the hips when needed, leg_regions).
    left_knee: np.ndarray | None = None
    right_knee: np.ndarray | None = None
    left_ankle: np.ndarray | None = None
    right_ankle: np.ndarray | None = None

    @property
    def shoulder_width(self) -> float:
        return max(float(np.linalg.norm(self.left_shoulder - self.right_shoulder)), 1.0)

    @property
    def face_width(self) -> float:
        return float(max(self.face_box[2] - self.face_box[0], 1))

    @property
    def face_height(self) -> float:
        return float(max(self.face_box[3] - self.face_box[1], 1))

    @property
    def centre_x(self) -> float:
        return float((self.left_shoulder[0] + self.right_shoulder[0]) / 2)

    @property
    def shoulder_y(self) -> float:
        return float((self.left_shoulder[1] + self.right_shoulder[1]) / 2)

    @property
    def hip_y(self) -> float:
        return float((self.left_hip[1] + self.right_hip[1]) / 2)

    @property
    def neck_half_width(self) -> float:
        return self.neck_half or 0.36 * self.face_width

    @property
    def neck_base_y(self) -> float:
        """Where the neck meets the shoulders (the top of a crew neckline)."""
        return float(min(self.chin[1] + 0.42 * self.face_height, self.shoulder_y - 0.02 * self.shoulder_width))


def body_geometry(analysis: PersonAnalysis, shape: tuple[int, int]) -> BodyGeometry:
    height, width = shape
    ys, xs = np.nonzero(analysis.matte > 0.5)
    if xs.size == 0:
        xs, ys = np.array([0, width - 1]), np.array([0, height - 1])
    top, left, right = float(ys.min()), float(xs.min()), float(xs.max())
    if analysis.face is not None:
        oval = analysis.face[list(FACE_OVAL)]
        x0, y0 = oval.min(axis=0)
        x1, y1 = oval.max(axis=0)
        chin = analysis.face[CHIN].copy()
        y0 = min(y0, float(analysis.face[FOREHEAD][1]))
    else:
        cx = (left + right) / 2
        face_w = 0.28 * (right - left)
        x0, x1, y0, y1 = cx - face_w / 2, cx + face_w / 2, top + 0.1 * face_w, top + 1.35 * face_w
        chin = np.array([cx, y1], dtype=np.float32)
    face_box = (int(x0), int(y0), int(np.ceil(x1)), int(np.ceil(y1)))
    face_h = y1 - y0
    if analysis.has_body and analysis.pose is not None:
        p = analysis.pose[:, :2]
        ls, rs = p[L_SHOULDER].copy(), p[R_SHOULDER].copy()
        le, re, lw, rw = p[L_ELBOW].copy(), p[R_ELBOW].copy(), p[L_WRIST].copy(), p[R_WRIST].copy()
        lh, rh = p[L_HIP].copy(), p[R_HIP].copy()
        visible = analysis.pose[list(HAND_POINTS), 2] > 0.25
        hands = p[list(HAND_POINTS)][visible]
        seen = analysis.pose[:, 2] > LEG_VISIBILITY
        legs = tuple(p[i].astype(np.float32) if seen[i] else None for i in (L_KNEE, R_KNEE, L_ANKLE, R_ANKLE))
    else:
        cx = float(chin[0])
        sy = float(chin[1]) + 0.75 * face_h
        half = 1.25 * (x1 - x0)
        rs, ls = np.array([cx - half, sy]), np.array([cx + half, sy])
        re, le = rs + np.array([-0.2 * half, 1.2 * half]), ls + np.array([0.2 * half, 1.2 * half])
        rw, lw = re + np.array([0, 1.1 * half]), le + np.array([0, 1.1 * half])
        rh, lh = rs + np.array([0.25 * half, 2.6 * half]), ls + np.array([-0.25 * half, 2.6 * half])
        hands = np.zeros((0, 2), dtype=np.float32)
        legs = (None, None, None, None)
    return BodyGeometry(
        left_shoulder=ls.astype(np.float32),
        right_shoulder=rs.astype(np.float32),
        left_elbow=le.astype(np.float32),
        right_elbow=re.astype(np.float32),
        left_wrist=lw.astype(np.float32),
        right_wrist=rw.astype(np.float32),
        left_hip=lh.astype(np.float32),
        right_hip=rh.astype(np.float32),
        chin=chin.astype(np.float32),
        face_box=face_box,
        hands=hands.astype(np.float32),
        left_knee=legs[0],
        right_knee=legs[1],
        left_ankle=legs[2],
        right_ankle=legs[3],
    )


def refine_matte(rgb: np.ndarray, matte: np.ndarray, parameters: RegionParameters = REGIONS) -> np.ndarray:
    """Snap the soft model matte to the photo's edges (guided filter), then tighten its fringe."""
    p = parameters
    height, width = matte.shape
    radius = max(2, round(max(height, width) * p.matte_radius))
    guide = rgb.astype(np.float32) / 255.0
    refined = cv2.ximgproc.guidedFilter(guide, matte.astype(np.float32), radius, 1e-3)
    return np.clip((refined - p.matte_floor) / p.matte_span, 0.0, 1.0).astype(np.float32)


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)


def skin_probability(
    rgb: np.ndarray, analysis: PersonAnalysis, geometry: BodyGeometry, parameters: RegionParameters = REGIONS
) -> np.ndarray:
    """How skin-like every pixel is, from a colour model of this person's cheeks (1 = same as the cheeks)."""
    p = parameters
    lab = _lab(rgb)
    height, width = rgb.shape[:2]
    samples = []
    if analysis.face is not None:
        radius = max(2, int(geometry.face_width * p.cheek_patch))
        for index in CHEEK_POINTS:
            x, y = analysis.face[index].astype(int)
            patch = lab[max(0, y - radius) : y + radius + 1, max(0, x - radius) : x + radius + 1]
            samples.append(patch.reshape(-1, 3))
    else:
        x0, y0, x1, y1 = geometry.face_box
        cx, cy = (x0 + x1) // 2, (y0 + 2 * y1) // 3
        samples.append(lab[max(0, cy - 4) : cy + 4, max(0, cx - 4) : cx + 4].reshape(-1, 3))
    data = np.concatenate(samples) if samples else np.zeros((0, 3), np.float32)
    # Cheek pixels neither black nor blown out, when there are enough of them. The count is of
    # the pixels kept: counting only the dark side let a blown-out face (or a blank photo) keep
    # none, and the mean of no pixels is NaN, which spread through every mask built on this one.
    usable = (data[:, 0] > 40) & (data[:, 0] < 250)
    if usable.sum() > 10:
        data = data[usable]
    if len(data) == 0:  # the landmarks fell outside the photo: no colour to compare with
        return np.zeros((height, width), np.float32)
    mean = data.mean(axis=0)
    chroma = data[:, 1:] - mean[1:]
    cov = np.cov(chroma.T) + np.eye(2) * p.skin_spread if len(data) > 3 else np.eye(2) * 30.0
    inverse = np.linalg.inv(cov)
    diff = lab[..., 1:].reshape(-1, 2) - mean[1:]
    distance = np.einsum("ij,jk,ik->i", diff, inverse, diff).reshape(height, width)
    lightness_gap = np.abs(lab[..., 0] - mean[0]) / 255.0
    lightness = np.clip(p.skin_lightness_lift - p.lightness_tolerance * lightness_gap, 0, 1)
    probability = np.exp(-0.5 * distance / p.skin_tolerance) * lightness
    return probability.astype(np.float32)


def _polygon(shape: tuple[int, int], points: np.ndarray) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 1)
    return mask.astype(bool)


def _capsule(shape: tuple[int, int], a: np.ndarray, b: np.ndarray, radius: float) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.line(mask, tuple(int(v) for v in a), tuple(int(v) for v in b), 1, max(1, int(2 * radius)))
    cv2.circle(mask, tuple(int(v) for v in a), int(radius), 1, -1)
    cv2.circle(mask, tuple(int(v) for v in b), int(radius), 1, -1)
    return mask.astype(bool)


def head_mask(
    shape: tuple[int, int], analysis: PersonAnalysis, geometry: BodyGeometry, parameters: RegionParameters = REGIONS
) -> np.ndarray:
    """The face oval (slightly grown) and everything above the chin within the head's width: never clothing."""
    p = parameters
    width = shape[1]
    head = np.zeros(shape, bool)
    x0, y0, x1, y1 = geometry.face_box
    if analysis.face is not None:
        oval = analysis.face[list(FACE_OVAL)]
        centre = oval.mean(axis=0)
        head |= _polygon(shape, centre + (oval - centre) * p.head_grow)
    else:
        ellipse = np.zeros(shape, np.uint8)
        cv2.ellipse(ellipse, ((x0 + x1) // 2, (y0 + y1) // 2), ((x1 - x0) // 2, (y1 - y0) // 2), 0, 0, 360, 1, -1)
        head |= ellipse.astype(bool)
    pad = p.head_pad * geometry.face_width
    chin_y = int(geometry.chin[1])
    head[: max(0, chin_y), max(0, int(x0 - pad)) : min(width, int(x1 + pad))] = True
    return head


def torso_polygon(geometry: BodyGeometry, grow: float = 0.12) -> np.ndarray:
    """Shoulders to hips, widened a little: the body the new garment follows."""
    sw = geometry.shoulder_width
    ls, rs, lh, rh = geometry.left_shoulder, geometry.right_shoulder, geometry.left_hip, geometry.right_hip
    out = np.sign(ls[0] - rs[0]) or 1.0
    return np.array(
        [
            rs + np.array([-out * grow * sw, -0.02 * sw]),
            ls + np.array([out * grow * sw, -0.02 * sw]),
            lh + np.array([out * (grow + 0.08) * sw, 0.25 * sw]),
            rh + np.array([-out * (grow + 0.08) * sw, 0.25 * sw]),
        ],
        dtype=np.float32,
    )


def hands_mask(shape: tuple[int, int], geometry: BodyGeometry, parameters: RegionParameters = REGIONS) -> np.ndarray:
    """Discs around the visible finger and wrist points: hands (bare or gloved) are never the garment."""
    mask = np.zeros(shape, np.uint8)
    radius = max(2, int(parameters.hand_radius * geometry.shoulder_width))
    for x, y in geometry.hands:
        cv2.circle(mask, (int(x), int(y)), radius, 1, -1)
    return mask.astype(bool)


def arm_mask(
    shape: tuple[int, int], geometry: BodyGeometry, upper_fraction: float = 1.0, parameters: RegionParameters = REGIONS
) -> np.ndarray:
    """Capsules along the arms; ``upper_fraction`` < 1 keeps only that part of the upper arm."""
    p = parameters
    sw = geometry.shoulder_width
    mask = np.zeros(shape, bool)
    for shoulder, elbow, wrist in (
        (geometry.left_shoulder, geometry.left_elbow, geometry.left_wrist),
        (geometry.right_shoulder, geometry.right_elbow, geometry.right_wrist),
    ):
        if upper_fraction >= 1.0:
            mask |= _capsule(shape, shoulder, elbow, p.upper_arm_radius * sw)
            mask |= _capsule(shape, elbow, wrist, p.forearm_radius * sw)
        elif upper_fraction > 0:
            end = shoulder + (elbow - shoulder) * upper_fraction
            mask |= _capsule(shape, shoulder, end, p.sleeve_radius * sw)
    return mask


def neckline_mask(shape: tuple[int, int], geometry: BodyGeometry, depth: float) -> np.ndarray:
    """Above the new garment's top edge: the neck hole (a U of ``depth`` x face height) and above the trapezius."""
    height, width = shape
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, half = geometry.centre_x, geometry.neck_half_width
    base = geometry.neck_base_y
    dip = depth * geometry.face_height
    dx = np.abs(xs - cx)
    inside = np.clip(dx / half, 0, 1)
    neck_edge = base + dip * np.sqrt(np.clip(1 - inside**2, 0, 1))
    # Beyond the neck the top edge stays at the neck base: the shoulders below it are garment, anything
    # of the old clothes above it (a spacesuit's collar ring, a high collar) is not.
    edge = np.where(dx < half, neck_edge, base)
    return ys < edge


def coarse_morphology(mask: np.ndarray, operation: int, size: int) -> np.ndarray:
    """A morphological open or close with a disc of ``size`` px; large discs run on a smaller copy (same
    shapes within a few pixels, a fraction of the time: a 100 px disc on a 1024 px image took 50 ms)."""
    factor = max(1, size // 9)
    if factor == 1:
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
        return cv2.morphologyEx(mask.astype(np.uint8), operation, disc).astype(bool)
    height, width = mask.shape
    small_size = (max(1, width // factor), max(1, height // factor))
    small = (cv2.resize(mask.astype(np.float32), small_size, interpolation=cv2.INTER_AREA) > 0.5).astype(np.uint8)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (max(3, (size // factor) | 1),) * 2)
    small = cv2.morphologyEx(small, operation, disc).astype(np.float32)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR) > 0.5


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """Close holes that do not touch the image border (patches, name tags, logos inside the garment)."""
    _count, labels = cv2.connectedComponents((~mask).astype(np.uint8))
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    holes = (labels > 0) & ~np.isin(labels, border)
    return mask | holes


def old_clothing_mask(
    rgb: np.ndarray,
    matte: np.ndarray,
    head: np.ndarray,
    skin: np.ndarray,
    geometry: BodyGeometry,
    parameters: RegionParameters = REGIONS,
) -> np.ndarray:
    """The clothes in the photo: GrabCut at low resolution, seeded from the torso, patches filled."""
    p = parameters
    height, width = matte.shape
    scale = min(1.0, p.work_side / max(height, width))
    small = (max(8, round(width * scale)), max(8, round(height * scale)))
    person = matte > 0.5
    torso = _polygon((height, width), torso_polygon(geometry, grow=0.0))
    arms = arm_mask((height, width), geometry, parameters=p)
    core = _polygon((height, width), torso_polygon(geometry, grow=-p.core_shrink)) & person & ~head
    core &= (skin < p.core_skin) & ~neckline_mask((height, width), geometry, depth=p.core_neckline)
    seeds = np.full((height, width), cv2.GC_PR_BGD, np.uint8)
    seeds[person & ~head & (torso | arms)] = cv2.GC_PR_FGD
    seeds[person & ~head & ~(torso | arms)] = cv2.GC_PR_BGD
    seeds[core] = cv2.GC_FGD
    seeds[~person | head | (skin > p.certain_skin) | hands_mask((height, width), geometry, p)] = cv2.GC_BGD
    seeds_small = cv2.resize(seeds, small, interpolation=cv2.INTER_NEAREST)
    image_small = cv2.resize(rgb, small, interpolation=cv2.INTER_AREA)
    if (seeds_small == cv2.GC_FGD).any() and (seeds_small == cv2.GC_BGD).any():
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        cv2.setRNGSeed(0)  # k-means inside uses OpenCV's per-thread RNG: same input, same output
        cv2.grabCut(image_small, seeds_small, (0, 0, 1, 1), bgd, fgd, p.grabcut_iterations, cv2.GC_INIT_WITH_MASK)
    clothing_small = np.isin(seeds_small, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.float32)
    clothing = cv2.resize(clothing_small, (width, height), interpolation=cv2.INTER_LINEAR) > 0.5
    clothing = coarse_morphology(clothing, cv2.MORPH_CLOSE, max(3, width // 40) | 1)
    clothing = _fill_holes(clothing)
    # Thin things across the torso that GrabCut left out (straps, zips, cords) are garment too;
    # thick ones (a helmet held in front) are not.
    candidate = person & torso & ~clothing & ~head & (skin < 0.4)
    size = max(3, int(p.strap_width * geometry.shoulder_width)) | 1
    thick = coarse_morphology(candidate, cv2.MORPH_OPEN, size)
    clothing |= candidate & ~thick
    return clothing & person & ~head & (skin < 0.5) & ~hands_mask((height, width), geometry, p)


def measure_neck(skin: np.ndarray, matte: np.ndarray, geometry: BodyGeometry) -> BodyGeometry:
    """The neck's half width from the skin just under the chin, when it shows."""
    height, width = skin.shape
    fw, fh = geometry.face_width, geometry.face_height
    cx, chin_y = geometry.centre_x, geometry.chin[1]
    x0, x1 = max(0, int(cx - 0.6 * fw)), min(width, int(cx + 0.6 * fw))
    widths = []
    for y in range(max(0, int(chin_y + 0.08 * fh)), min(height, int(chin_y + 0.3 * fh))):
        row = (skin[y, x0:x1] > 0.5) & (matte[y, x0:x1] > 0.5)
        if row.sum() > 0.15 * fw:
            widths.append(row.sum() / 2)
    if len(widths) < 3:
        return geometry
    half = float(np.clip(np.median(widths), 0.22 * fw, 0.42 * fw))
    return replace(geometry, neck_half=half)


def discount_skin_coloured_clothes(
    skin: np.ndarray, matte: np.ndarray, head: np.ndarray, geometry: BodyGeometry
) -> np.ndarray:
    """When the chest itself looks like skin, the clothes are skin-coloured (beige, nude, tan): below the
    neckline, away from the neck and the hands, stop calling them skin."""
    shape = skin.shape
    person = matte > 0.5
    low_neck = neckline_mask(shape, geometry, depth=0.6)
    chest = _polygon(shape, torso_polygon(geometry, grow=-0.12)) & person & ~head & ~low_neck
    if chest.sum() < 50:
        return skin
    if float((skin[chest] > 0.5).mean()) < 0.5:
        # Small skin-coloured specks on the torso (a beige strap, a tan badge) are not skin:
        # real skin there (an open collar) is one large piece reaching up to the neck.
        torso = _polygon(shape, torso_polygon(geometry, grow=0.0)) & person & ~head & ~low_neck
        count, labels, stats, _ = cv2.connectedComponentsWithStats(((skin > 0.4) & torso).astype(np.uint8))
        small = np.nonzero(stats[1:, cv2.CC_STAT_AREA] < 0.01 * max(int(torso.sum()), 1))[0] + 1
        specks = np.isin(labels, small) if count > 1 else np.zeros(shape, bool)
        return np.where(specks, skin * 0.1, skin).astype(np.float32)
    body = (_polygon(shape, torso_polygon(geometry, grow=0.1)) | arm_mask(shape, geometry)) & ~low_neck
    body &= ~hands_mask(shape, geometry)
    return np.where(body, skin * 0.1, skin).astype(np.float32)
