"""Draw the README's pictures of the scene rules' geometry into docs/ (synthetic drawings, no footage).

    .venv/bin/python tools/scene_pictures.py [--out docs]

What each picture shows as happening is computed by the engine itself (``edgecv.scene.Zones`` and
``edgecv.scene.Lines`` run on the drawn trajectories), so a picture cannot claim what the code does not do:
* ``scene-zone.png``: a zone, the five anchors of a box, and the inertia rule on a timeline (a flicker across
  the edge shorter than ``inertia_s`` changes nothing; entry and exit come ``inertia_s`` after the anchor
  crossed);
* ``scene-line.png``: a directed line, its ``in`` and ``out`` sides and the formula, a walker counted ``in``;
* ``scene-jitter.png``: an anchor wobbling over a line inside the margin band, then settling on the other
  side: one crossing, stamped with the time the path crossed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from edgecv.detections import Detections  # noqa: E402
from edgecv.scene.geometry import ANCHOR_FRACTIONS  # noqa: E402
from edgecv.scene.lines import LineRule, Lines  # noqa: E402
from edgecv.scene.zones import ZoneRule, Zones  # noqa: E402

W, H = 520, 320
INK = (40, 40, 40)
GREY = (150, 150, 150)
IN_COLOUR = (90, 160, 60)  # BGR: green
OUT_COLOUR = (60, 110, 200)  # BGR: orange-brown
ZONE_COLOUR = (200, 150, 60)  # BGR: blue
MARK = (40, 40, 210)  # BGR: red
FONT = cv2.FONT_HERSHEY_SIMPLEX
AA = cv2.LINE_AA


def canvas() -> np.ndarray:
    return np.full((H, W, 3), 255, np.uint8)


def text(img: np.ndarray, s: str, xy: tuple[int, int], scale: float = 0.42, colour: tuple = INK) -> None:
    cv2.putText(img, s, xy, FONT, scale, colour, 1, AA)


def blend(img: np.ndarray, overlay: np.ndarray, alpha: float) -> np.ndarray:
    out: np.ndarray = cv2.addWeighted(overlay, alpha, img, 1 - alpha, 0)
    return out


def box_of(x: float, y: float, w: float = 34, h: float = 90) -> list[float]:
    """A person's box whose bottom centre is (x, y)."""
    return [x - w / 2, y - h, x + w / 2, y]


def tracked(boxes: list[list[float]]) -> Detections:
    n = len(boxes)
    return Detections(
        np.array(boxes, np.float32).reshape(n, 4),
        np.full(n, 0.9, np.float32),
        np.zeros(n, np.int32),
        np.arange(1, n + 1, dtype=np.int64),
    )


def zone_picture() -> np.ndarray:
    img = canvas()
    poly = np.array([[250, 45], [470, 35], [500, 165], [230, 175]], np.float32)
    overlay = img.copy()
    cv2.fillPoly(overlay, [poly.astype(np.int32)], ZONE_COLOUR)
    img = blend(img, overlay, 0.25)
    cv2.polylines(img, [poly.astype(np.int32)], True, ZONE_COLOUR, 2, AA)
    text(img, "zone 'driveway'", (360, 60), colour=ZONE_COLOUR)
    # A box and its five anchors; bottom_center (the default) is where a person stands.
    x1, y1, x2, y2 = box_of(300, 150)
    cv2.rectangle(img, (int(x1), int(y1)), (int(x2), int(y2)), INK, 1, AA)
    for name, (fx, fy) in ANCHOR_FRACTIONS.items():
        p = (int(x1 + fx * (x2 - x1)), int(y1 + fy * (y2 - y1)))
        default = name == "bottom_center"
        cv2.circle(img, p, 5 if default else 3, MARK if default else GREY, -1, AA)
    text(img, "anchors: top_center, center,", (10, 40), 0.4)
    text(img, "bottom_left/_center/_right", (10, 56), 0.4)
    text(img, "bottom_center (default) is the", (10, 82), 0.4, MARK)
    text(img, "point tested against the zone", (10, 98), 0.4, MARK)
    # Timeline: the anchor's raw inside/outside and the zone's debounced state, from Zones itself.
    inertia = 0.5
    raw = [0] * 4 + [1, 0] + [0] * 2 + [1] * 12 + [0, 1] + [1] * 4 + [0] * 10  # 10 fps
    zones = Zones([ZoneRule("driveway", poly, inertia_s=inertia)], W, H, num_classes=1)
    debounced, marks = [], []
    for k, r in enumerate(raw):
        x = 300 if r else 150  # inside, or outside the polygon on its left
        member, events = zones.update(tracked([box_of(x, 150)]), mono=k / 10, ts=k / 10)
        debounced.append(int(member[0]))
        marks += [(k, e.kind) for e in events]
    assert [kind for _, kind in marks] == ["zone_enter", "zone_exit"]  # the picture's claim
    t0, dx, top = 70, 12, 250
    text(img, "anchor inside", (t0 - 62, top + 8), 0.32)
    text(img, "zone state", (t0 - 62, top + 38), 0.32)
    for k, (r, d) in enumerate(zip(raw, debounced, strict=True)):
        cv2.rectangle(img, (t0 + k * dx, top + (0 if r else 8)), (t0 + k * dx + dx - 1, top + 10), GREY, -1)
        c = ZONE_COLOUR if d else (235, 235, 235)
        cv2.rectangle(img, (t0 + k * dx, top + 30), (t0 + k * dx + dx - 1, top + 40), c, -1)
    for k, kind in marks:
        x = t0 + k * dx
        cv2.line(img, (x, top - 4), (x, top + 44), MARK, 1, AA)
        text(img, kind, (x - 24, top + 58), 0.36, MARK)
    text(img, f"inertia_s {inertia}: a 0.1 s flicker changes nothing; entry and exit", (10, 200), 0.38)
    text(img, "come once the anchor has been inside (outside) that long", (10, 216), 0.38)
    return img


def arrow_line(
    img: np.ndarray, a: tuple[int, int], b: tuple[int, int], offset: tuple[int, int] = (8, 4)
) -> None:
    """The directed segment a -> b, its end points named ``offset`` px away."""
    cv2.arrowedLine(img, a, b, INK, 2, AA, tipLength=0.06)
    cv2.circle(img, a, 4, INK, -1, AA)
    text(img, "(x1, y1)", (a[0] + offset[0], a[1] + offset[1]), 0.4)
    text(img, "(x2, y2)", (b[0] + offset[0], b[1] + offset[1]), 0.4)


def line_picture() -> np.ndarray:
    img = canvas()
    a, b = (260, 30), (260, 250)
    overlay = img.copy()
    cv2.rectangle(overlay, (0, 0), (a[0], H), IN_COLOUR, -1)
    cv2.rectangle(overlay, (a[0], 0), (W, H), OUT_COLOUR, -1)
    img = blend(img, overlay, 0.12)
    arrow_line(img, a, b)
    text(img, "in", (120, 90), 0.8, IN_COLOUR)
    text(img, "out", (380, 90), 0.8, OUT_COLOUR)
    text(img, "in: (x2 - x1)(y - y1) - (y2 - y1)(x - x1) > 0", (20, 285), 0.45)
    text(img, "x right, y down: a line drawn top to bottom has 'in' on its left", (20, 305), 0.38)
    cv2.arrowedLine(img, (20, 20), (60, 20), GREY, 1, AA, tipLength=0.2)
    cv2.arrowedLine(img, (20, 20), (20, 60), GREY, 1, AA, tipLength=0.2)
    text(img, "x", (64, 24), 0.38, GREY)
    text(img, "y", (16, 74), 0.38, GREY)
    # A walker from the right to the left, counted by Lines.
    lines = Lines([LineRule("door", np.array([a, b], np.float32))], num_classes=1)
    path = [(430 - 25 * k, 200 - 4 * k) for k in range(13)]
    crossed = None
    for k, (x, y) in enumerate(path):
        for e in lines.update(tracked([box_of(x, y)]), ts=k / 10):
            crossed = (k, e.direction)
    pts = np.array(path, np.int32)
    cv2.polylines(img, [pts], False, MARK, 1, AA)
    for p in pts:
        cv2.circle(img, (int(p[0]), int(p[1])), 3, MARK, -1, AA)
    assert crossed is not None and crossed[1] == "in"  # the picture's claim, checked against the engine
    k, direction = crossed
    cv2.arrowedLine(img, path[-2], path[-1], MARK, 1, AA, tipLength=0.6)
    text(img, f"walker counted '{direction}' at frame {k}", (40, path[k][1] + 40), 0.42, MARK)
    return img


def jitter_picture() -> np.ndarray:
    img = canvas()
    a, b = (60, 150), (440, 150)  # left to right: in is below (y grows downwards)
    h, margin = 90, 0.1
    band = margin * h
    overlay = img.copy()
    cv2.rectangle(overlay, (a[0], int(a[1] - band)), (b[0], int(a[1] + band)), GREY, -1)
    img = blend(img, overlay, 0.25)
    arrow_line(img, a, b, offset=(-30, 34))
    text(img, f"margin band: {margin} x box height", (300, int(a[1] - band - 8)), 0.38, GREY)
    text(img, "out", (20, 80), 0.6, OUT_COLOUR)
    text(img, "in", (20, 230), 0.6, IN_COLOUR)
    # The anchor wobbles over the line (inside the band, never 0.5 s on the other side), then settles in.
    ys = [110, 125, 138, 146, 155, 147, 154, 145, 156, 148, 157, 163, 175, 190, 205]
    path = [(90 + 24 * k, y) for k, y in enumerate(ys)]
    lines = Lines([LineRule("road", np.array([a, b], np.float32), margin=margin)], num_classes=1)
    events = []
    for k, (x, y) in enumerate(path):
        events += [(k, e) for e in lines.update(tracked([box_of(x, y, h=h)]), ts=k / 10)]
    pts = np.array(path, np.int32)
    cv2.polylines(img, [pts], False, MARK, 1, AA)
    for p in pts:
        cv2.circle(img, (int(p[0]), int(p[1])), 3, MARK, -1, AA)
    assert len(events) == 1, events  # the picture's claim, checked against the engine
    k, e = events[0]
    x, y = path[k]
    cv2.circle(img, (x, y), 8, MARK, 1, AA)
    changes = int(np.count_nonzero(np.diff(np.sign(np.array(ys) - a[1]))))
    text(
        img, f"{changes} sign changes, 1 crossing: '{e.direction}' at ts {e.ts:.1f} s", (90, 262), 0.45, MARK
    )
    text(img, "counted once past the band (or 0.5 s over the line, or at track end),", (20, 292), 0.36)
    text(img, "stamped with the time the path last crossed the line", (20, 308), 0.36)
    return img


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    for name, draw in (
        ("scene-zone", zone_picture),
        ("scene-line", line_picture),
        ("scene-jitter", jitter_picture),
    ):
        path = args.out / f"{name}.png"
        cv2.imwrite(str(path), draw(), [cv2.IMWRITE_PNG_COMPRESSION, 9])
        print(f"{path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
