"""A precision-recall plot drawn with OpenCV (already a dependency: no plotting library on the device)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

WIDTH, HEIGHT, MARGIN = 760, 580, 90
COLOURS = {"iou_50": (200, 110, 30), "iou_75": (40, 140, 40)}  # BGR
LEGEND = {"iou_50": "IoU 0.50", "iou_75": "IoU 0.75"}


def _point(recall: float, precision: float) -> tuple[int, int]:
    x = MARGIN + recall * (WIDTH - 2 * MARGIN)
    y = HEIGHT - MARGIN - precision * (HEIGHT - 2 * MARGIN)
    return round(x), round(y)


def write_pr_plot(
    path: Path, curve: dict[str, list[float]], title: str, operating: tuple[float, float] | None
) -> None:
    canvas = np.full((HEIGHT, WIDTH, 3), 255, np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    for tick in np.linspace(0, 1, 6):
        cv2.line(canvas, _point(tick, 0), _point(tick, 1), (225, 225, 225), 1)
        cv2.line(canvas, _point(0, tick), _point(1, tick), (225, 225, 225), 1)
        x, y = _point(tick, 0)
        cv2.putText(canvas, f"{tick:.1f}", (x - 12, y + 22), font, 0.45, (60, 60, 60), 1, cv2.LINE_AA)
        x, y = _point(0, tick)
        cv2.putText(canvas, f"{tick:.1f}", (x - 36, y + 5), font, 0.45, (60, 60, 60), 1, cv2.LINE_AA)
    cv2.rectangle(canvas, _point(0, 1), _point(1, 0), (0, 0, 0), 1)
    for key, colour in COLOURS.items():
        recall, precision = curve.get(f"recall_{key}", []), curve.get(f"precision_{key}", [])
        if not recall:
            continue
        points = np.array([_point(r, p) for r, p in zip(recall, precision, strict=True)], np.int32)
        cv2.polylines(canvas, [points], False, colour, 2, cv2.LINE_AA)
    if operating is not None:
        cv2.circle(canvas, _point(operating[1], operating[0]), 6, (30, 30, 220), -1, cv2.LINE_AA)
    cv2.putText(canvas, "recall", (WIDTH // 2 - 25, HEIGHT - 20), font, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    ylabel = np.full((30, 120, 3), 255, np.uint8)
    cv2.putText(ylabel, "precision", (5, 22), font, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    rotated = cv2.rotate(ylabel, cv2.ROTATE_90_COUNTERCLOCKWISE)
    top = HEIGHT // 2 - rotated.shape[0] // 2
    canvas[top : top + rotated.shape[0], 10 : 10 + rotated.shape[1]] = rotated
    cv2.putText(canvas, title[:80], (MARGIN, 35), font, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    legend = [*LEGEND.items()] + ([("operating", "operating point (IoU 0.50)")] if operating else [])
    for i, (key, text) in enumerate(legend):
        y = MARGIN + 25 + 22 * i
        x = WIDTH - MARGIN - 250
        colour = COLOURS.get(key, (30, 30, 220))
        cv2.line(canvas, (x, y - 5), (x + 25, y - 5), colour, 3, cv2.LINE_AA)
        cv2.putText(canvas, text, (x + 32, y), font, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    if not cv2.imwrite(str(path), canvas):
        raise OSError(f"cannot write {path}")
