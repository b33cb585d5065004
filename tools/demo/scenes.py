"""Synthetic detection scenes: circles, squares and triangles over textured backgrounds, with ground truth.

Everything is drawn with OpenCV from a seed, so the demo's training data, calibration images, validation
set and clip are reproducible bit for bit on one machine (and near enough across OpenCV versions).
Objects in a clip move, spin and bounce off the borders, so a tracker has identities to keep.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

CLASSES = ("circle", "square", "triangle")


@dataclass
class Shape:
    kind: int  # index into CLASSES
    cx: float
    cy: float
    size: float  # circle diameter, square side, triangle circumscribed diameter
    angle: float  # degrees
    color: tuple[int, int, int]
    vx: float = 0.0  # pixels per frame
    vy: float = 0.0
    spin: float = 0.0  # degrees per frame

    def polygon(self) -> np.ndarray:
        """Outline points (float, image pixels); circles are sampled finely so their box is tight."""
        if self.kind == 0:
            steps, radius = 48, self.size / 2
        elif self.kind == 1:
            steps, radius = 4, self.size / math.sqrt(2)
        else:
            steps, radius = 3, self.size / 2
        start = math.radians(self.angle) + (math.pi / 4 if self.kind == 1 else -math.pi / 2)
        t = start + np.arange(steps) * (2 * math.pi / steps)
        return np.stack([self.cx + radius * np.cos(t), self.cy + radius * np.sin(t)], axis=1)

    def box(self) -> np.ndarray:
        points = self.polygon()
        return np.array([*points.min(axis=0), *points.max(axis=0)], np.float32)


def _vivid(rng: np.random.Generator) -> tuple[int, int, int]:
    hsv = np.array([[[rng.integers(0, 180), rng.integers(120, 256), rng.integers(110, 256)]]], np.uint8)
    b, g, r = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0]
    return (int(b), int(g), int(r))


def background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Low-frequency colour clouds, fine grain and a few straight distractor strokes."""
    coarse = rng.integers(0, 256, (rng.integers(3, 9), rng.integers(3, 9), 3), dtype=np.uint8)
    image = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    image = image * rng.uniform(0.35, 0.8) + rng.uniform(20, 90)
    image += rng.normal(0, rng.uniform(3, 12), (height, width, 1)).astype(np.float32)
    image = np.clip(image, 0, 255).astype(np.uint8)
    for _ in range(rng.integers(2, 9)):
        p1 = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        p2 = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        shade = int(rng.integers(0, 256))
        cv2.line(image, p1, p2, (shade, shade, shade), int(rng.integers(1, 4)), cv2.LINE_AA)
    return image


def random_shapes(
    rng: np.random.Generator, width: int, height: int, count: int, speed: float = 0.0
) -> list[Shape]:
    unit = min(width, height)
    shapes = []
    for _ in range(count):
        size = float(unit * rng.uniform(0.07, 0.32))
        angle_of_travel = rng.uniform(0, 2 * math.pi)
        magnitude = speed * rng.uniform(0.5, 1.0) * unit / 100
        shapes.append(
            Shape(
                kind=int(rng.integers(0, len(CLASSES))),
                cx=float(rng.uniform(size / 2, width - size / 2)),
                cy=float(rng.uniform(size / 2, height - size / 2)),
                size=size,
                angle=float(rng.uniform(0, 360)),
                color=_vivid(rng),
                vx=magnitude * math.cos(angle_of_travel),
                vy=magnitude * math.sin(angle_of_travel),
                spin=float(rng.uniform(-3, 3)) * (speed > 0),
            )
        )
    return shapes


def render(
    base: np.ndarray, shapes: list[Shape], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw ``shapes`` (back to front) on a copy of ``base``; boxes are clipped to the image."""
    image = base.copy()
    height, width = image.shape[:2]
    shift = 4  # sub-pixel vertices: boxes and pixels agree to a fraction of a pixel
    for shape in shapes:
        points = np.round(shape.polygon() * (1 << shift)).astype(np.int32)
        cv2.fillPoly(image, [points], shape.color, cv2.LINE_AA, shift)
        dark = tuple(int(c * 0.55) for c in shape.color)
        cv2.polylines(image, [points], True, dark, 2, cv2.LINE_AA, shift)
    image = cv2.GaussianBlur(image, (3, 3), 0)
    noise = rng.normal(0, 3, image.shape).astype(np.float32)
    image = np.clip(image.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    if shapes:
        boxes = np.stack([s.box() for s in shapes])
        boxes[:, 0::2] = boxes[:, 0::2].clip(0, width)
        boxes[:, 1::2] = boxes[:, 1::2].clip(0, height)
    else:
        boxes = np.zeros((0, 4), np.float32)
    classes = np.array([s.kind for s in shapes], np.int32)
    return image, boxes, classes


def scene(seed: int, width: int = 480, height: int = 360) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One still scene with 1-6 shapes."""
    rng = np.random.default_rng(seed)
    shapes = random_shapes(rng, width, height, int(rng.integers(1, 7)))
    return render(background(rng, width, height), shapes, rng)


def clip(
    seed: int, frames: int, width: int = 480, height: int = 360, count: int = 5
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """A moving scene: fixed background, shapes drifting, spinning and bouncing off the borders."""
    rng = np.random.default_rng(seed)
    base = background(rng, width, height)
    shapes = random_shapes(rng, width, height, count, speed=1.2)
    for _ in range(frames):
        yield render(base, shapes, rng)
        for s in shapes:
            s.cx += s.vx
            s.cy += s.vy
            s.angle += s.spin
            half = s.size / 2
            if not half <= s.cx <= width - half:
                s.vx = -s.vx
            if not half <= s.cy <= height - half:
                s.vy = -s.vy


def write_dataset(folder: Path, count: int, seed: int, width: int = 480, height: int = 360) -> None:
    """``folder/images/*.jpg`` and YOLO labels ``folder/labels/*.txt`` (class cx cy w h, normalised)."""
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "labels").mkdir(parents=True, exist_ok=True)
    for k in range(count):
        image, boxes, classes = scene(seed + k, width, height)
        name = f"scene_{seed + k:06d}"
        cv2.imwrite(str(folder / "images" / f"{name}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 92])
        lines = []
        for (x1, y1, x2, y2), c in zip(boxes, classes, strict=True):
            cx, cy = (x1 + x2) / 2 / width, (y1 + y2) / 2 / height
            lines.append(f"{c} {cx:.6f} {cy:.6f} {(x2 - x1) / width:.6f} {(y2 - y1) / height:.6f}")
        (folder / "labels" / f"{name}.txt").write_text("\n".join(lines) + ("\n" if lines else ""))


def write_clip(
    path: Path, seed: int, seconds: float = 10.0, fps: int = 12, width: int = 480, height: int = 360
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write mp4 to {path}")
    try:
        for image, _, _ in clip(seed, int(seconds * fps), width, height):
            writer.write(image)
    finally:
        writer.release()
