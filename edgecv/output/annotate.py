"""Drawing a frame's detections and its camera's scene geometry, and encoding the result as JPEG.

Shared by the web view (stream and snapshot) and the MQTT ``image`` entity, so that both show the same
picture. Only OpenCV: it is already a runtime dependency, and it draws on the BGR arrays frames carry.

What is drawn, back to front: masks (tinted and hatched: detections anchored there are dropped), zones
(outlined, lightly tinted, named), lines (with an arrow to their ``in`` side), candidates below the
threshold (thin dashed boxes with their score: the answer to "why is nothing detected"), then detections
(a box in its class's colour, ``name score #track``).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ..config.scene import SceneConfig
from ..detections import Detections
from ..labels import Labels
from ..scene.geometry import to_pixels
from .glyphs import draw_text, text_mask

# BGR, bright and far apart, none of them grey: a class's colour is PALETTE[class_id % len(PALETTE)], so a
# class keeps its colour between frames, cameras and the page's legend. Index 0 (person in COCO models) is
# a saturated green that no camera scene is likely to be full of.
PALETTE: np.ndarray = np.array(
    [
        (0, 255, 0),
        (255, 128, 0),
        (0, 128, 255),
        (255, 0, 255),
        (0, 255, 255),
        (255, 255, 0),
        (128, 0, 255),
        (0, 0, 255),
        (255, 0, 128),
        (128, 255, 0),
    ],
    np.uint8,
)
ZONE_COLOUR = (255, 200, 0)  # BGR: light blue
LINE_COLOUR = (0, 220, 255)  # BGR: amber
MASK_COLOUR = (40, 40, 200)  # BGR: dull red
HATCH_COLOUR = (90, 90, 255)  # BGR: a lighter red, visible over the tint
CANDIDATE_COLOUR = (200, 200, 200)  # BGR: light grey, unlike any class colour
TEXT_COLOUR = (0, 0, 0)
DASH_PX = 6  # a candidate box's dash and gap length
HATCH_PX = 12  # spacing of a mask's hatching


def class_colour(class_id: int) -> tuple[int, int, int]:
    """The BGR colour boxes of ``class_id`` are drawn in."""
    b, g, r = PALETTE[class_id % len(PALETTE)]
    return int(b), int(g), int(r)


def _scale(image: np.ndarray) -> tuple[int, int]:
    """Text scale (whole multiples of the 12-row font) and line thickness that read the same on a 320 px
    and a 1920 px frame."""
    short = min(image.shape[:2])
    return max(1, round(short / 540)), max(1, round(short / 400))


def _label(image: np.ndarray, text: str, x: int, y: int, colour: tuple[int, int, int], font: int) -> None:
    """``text`` on a filled tag in ``colour`` whose bottom-left corner is at (x, y), kept inside the frame.
    Drawn with the bitmap font of :mod:`.glyphs`, not cv2.putText (that module says why)."""
    mask = text_mask(text, font)
    h, w = mask.shape
    height, width = image.shape[:2]
    x = min(max(x, 0), max(width - w - 2, 0))
    y = min(max(y, h + 2), height)
    cv2.rectangle(image, (x, y - h - 2), (x + w + 1, y), colour, cv2.FILLED)
    draw_text(image, text, x + 1, y - h - 1, TEXT_COLOUR, font)


def _tint(
    image: np.ndarray, polygons: Sequence[np.ndarray], colour: tuple[int, int, int], alpha: float
) -> None:
    """Blend ``colour`` into ``image`` inside ``polygons``, touching only their bounding rectangle."""
    stacked = np.concatenate(polygons)
    height, width = image.shape[:2]
    x0, y0 = np.clip(np.floor(stacked.min(axis=0)).astype(int), 0, [width, height])
    x1, y1 = np.clip(np.ceil(stacked.max(axis=0)).astype(int) + 1, 0, [width, height])
    if x1 <= x0 or y1 <= y0:
        return
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(mask, [np.round(p - (x0, y0)).astype(np.int32) for p in polygons], 255)
    region = image[y0:y1, x0:x1]
    inside = mask.astype(bool)
    blended = region[inside].astype(np.float32) * (1 - alpha) + np.float32(alpha) * np.array(
        colour, np.float32
    )
    region[inside] = blended.astype(np.uint8)


def _hatch(image: np.ndarray, polygon: np.ndarray, colour: tuple[int, int, int], thickness: int) -> None:
    """Diagonal hatching clipped to ``polygon``: a mask reads as 'excluded' even on a busy picture."""
    height, width = image.shape[:2]
    x0, y0 = np.clip(np.floor(polygon.min(axis=0)).astype(int), 0, [width, height])
    x1, y1 = np.clip(np.ceil(polygon.max(axis=0)).astype(int) + 1, 0, [width, height])
    if x1 <= x0 or y1 <= y0:
        return
    w, h = x1 - x0, y1 - y0
    lines = np.zeros((h, w), np.uint8)
    offsets = np.arange(-h, w, HATCH_PX)
    segments = np.stack([offsets, np.zeros_like(offsets), offsets + h, np.full_like(offsets, h)], axis=1)
    cv2.polylines(lines, list(segments.reshape(-1, 2, 2).astype(np.int32)), False, 255, thickness)
    clip = np.zeros((h, w), np.uint8)
    cv2.fillPoly(clip, [np.round(polygon - (x0, y0)).astype(np.int32)], 255)
    image[y0:y1, x0:x1][(lines & clip).astype(bool)] = colour


def _dashed_boxes(image: np.ndarray, boxes: np.ndarray, colour: tuple[int, int, int]) -> None:
    """Every box's outline as dashes, all in one polyline call: the dash points are computed for every edge
    of every box at once."""
    if not len(boxes):
        return
    x1, y1, x2, y2 = boxes.T
    # Four edges per box as (start, end) points: top, right, bottom, left.
    starts = np.stack(
        [np.stack([x1, y1], 1), np.stack([x2, y1], 1), np.stack([x2, y2], 1), np.stack([x1, y2], 1)], 1
    )
    ends = np.roll(starts, -1, axis=1)
    starts, ends = starts.reshape(-1, 2), ends.reshape(-1, 2)
    lengths = np.linalg.norm(ends - starts, axis=1)
    steps = np.maximum(np.ceil(lengths / (2 * DASH_PX)).astype(int), 1)
    edge = np.repeat(np.arange(len(starts)), steps)
    k = np.arange(len(edge)) - np.repeat(np.cumsum(steps) - steps, steps)
    t0 = np.minimum(k * 2 * DASH_PX / np.maximum(lengths[edge], 1e-6), 1)
    t1 = np.minimum((k * 2 + 1) * DASH_PX / np.maximum(lengths[edge], 1e-6), 1)
    direction = ends[edge] - starts[edge]
    a = starts[edge] + t0[:, None] * direction
    b = starts[edge] + t1[:, None] * direction
    segments = np.round(np.stack([a, b], axis=1)).astype(np.int32)
    cv2.polylines(
        image, list(segments), False, colour, 1, cv2.LINE_8
    )  # not anti-aliased: exact colour, crisp dashes


def _draw_scene(image: np.ndarray, scene: SceneConfig, font: int, thickness: int) -> None:
    height, width = image.shape[:2]
    masks = [to_pixels(m.polygon, m.units, width, height) for m in scene.masks]
    if masks:
        _tint(image, masks, MASK_COLOUR, 0.35)
        for polygon in masks:
            _hatch(image, polygon, HATCH_COLOUR, thickness)
        cv2.polylines(image, [np.round(p).astype(np.int32) for p in masks], True, MASK_COLOUR, thickness)
    zones = {name: to_pixels(z.polygon, z.units, width, height) for name, z in scene.zones.items()}
    if zones:
        _tint(image, list(zones.values()), ZONE_COLOUR, 0.15)
        cv2.polylines(
            image, [np.round(p).astype(np.int32) for p in zones.values()], True, ZONE_COLOUR, thickness
        )
        for name, polygon in zones.items():
            x, y = polygon.min(axis=0)
            _label(image, name, int(x), int(y) + 16, ZONE_COLOUR, font)
    for name, line in scene.lines.items():
        (ax, ay), (bx, by) = to_pixels(line.points, line.units, width, height)
        cv2.line(
            image, (round(ax), round(ay)), (round(bx), round(by)), LINE_COLOUR, thickness + 1, cv2.LINE_AA
        )
        # 'in' is the side where (x2-x1)(y-y1) - (y2-y1)(x-x1) > 0, i.e. along the normal (-dy, dx).
        dx, dy = bx - ax, by - ay
        norm = max(float(np.hypot(dx, dy)), 1e-6)
        arrow = 0.08 * min(width, height)
        mx, my = (ax + bx) / 2, (ay + by) / 2
        tip = (round(mx - dy / norm * arrow), round(my + dx / norm * arrow))
        cv2.arrowedLine(
            image, (round(mx), round(my)), tip, LINE_COLOUR, thickness + 1, cv2.LINE_AA, tipLength=0.35
        )
        _label(image, f"{name} in", tip[0], tip[1], LINE_COLOUR, font)


def annotate(
    image: np.ndarray,
    detections: Detections,
    labels: Labels,
    *,
    scene: SceneConfig | None = None,
    candidates: Detections | None = None,
) -> np.ndarray:
    """A copy of the BGR ``image`` with ``detections`` (boxes in source pixels) and ``scene`` drawn.

    ``candidates`` are detections below the threshold (``?debug=1``): drawn thin and dashed in grey with
    their scores, beneath the detections. The input image is never written to: sinks share the frame.
    """
    out = image.copy()
    font, thickness = _scale(out)
    if scene is not None:
        _draw_scene(out, scene, font, thickness)
    if candidates is not None and len(candidates):
        _dashed_boxes(out, candidates.boxes, CANDIDATE_COLOUR)
        names = labels.names_for(candidates.class_ids)
        for (x1, _, _, y2), name, score in zip(
            candidates.boxes.tolist(), names, candidates.scores.tolist(), strict=True
        ):
            _label(out, f"{name}? {score:.2f}", round(x1), round(y2), CANDIDATE_COLOUR, font)
    if len(detections):
        boxes = np.round(detections.boxes).astype(int).tolist()
        names = labels.names_for(detections.class_ids)
        tracks = detections.track_ids.tolist() if detections.track_ids is not None else [-1] * len(detections)
        for (x1, y1, x2, y2), name, class_id, score, track in zip(
            boxes, names, detections.class_ids.tolist(), detections.scores.tolist(), tracks, strict=True
        ):
            colour = class_colour(class_id)
            cv2.rectangle(out, (x1, y1), (x2, y2), colour, thickness + 1)
            text = f"{name} {score:.2f}" + (f" #{track}" if track >= 0 else "")
            _label(out, text, x1, y1, colour, font)
    return out


def encode_jpeg(image: np.ndarray, width: int | None, quality: int = 80) -> bytes:
    """JPEG bytes of ``image``, shrunk to ``width`` pixels wide (aspect kept) when it is wider; never
    enlarged. ``width=None`` keeps the source size."""
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality must be 1-100, got {quality}")
    height, current = image.shape[:2]
    if width is not None and 0 < width < current:
        size = (width, max(1, round(height * width / current)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError(f"OpenCV could not encode a {image.shape} {image.dtype} image as JPEG")
    return data.tobytes()
