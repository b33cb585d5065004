"""Regenerates edgecv/output/glyphs.py: OpenCV's Hershey simplex font rendered once, small and binary, for
printable ASCII, packed into the module as a constant.

Why not cv2.putText at run time: OpenCV 5 keeps a text renderer per thread that costs 6-8.5 MB of RSS for
each thread that draws text (0.3 MB on OpenCV 4.10); the web view and the MQTT image would pay it. A 1 KB
bitmap font costs nothing and draws the same everywhere.

    python tools/gen_glyphs.py
"""

from __future__ import annotations

import base64
from pathlib import Path

import cv2
import numpy as np

OUT = Path(__file__).resolve().parents[1] / "edgecv" / "output" / "glyphs.py"
HEIGHT = 12  # rows per glyph: ascenders to descenders
BASELINE = 9  # the row text sits on
SCALE = 0.4


def main() -> None:
    widths, columns = [], []
    for code in range(32, 127):
        char = chr(code)
        (w, _), _ = cv2.getTextSize(char, cv2.FONT_HERSHEY_SIMPLEX, SCALE, 1)
        w = max(w, 3)
        canvas = np.zeros((HEIGHT, w + 1), np.uint8)
        cv2.putText(canvas, char, (0, BASELINE), cv2.FONT_HERSHEY_SIMPLEX, SCALE, 255, 1, cv2.LINE_8)
        widths.append(w + 1)  # one column of spacing after each glyph
        columns.append(canvas > 0)
    bits = np.packbits(np.concatenate(columns, axis=1).ravel())
    text = base64.b64encode(bits.tobytes()).decode()
    lines = [text[i : i + 100] for i in range(0, len(text), 100)]
    body = "\n".join(f'    "{line}"' for line in lines)
    OUT.write_text(
        f'''"""A small bitmap font (printable ASCII, {HEIGHT} rows): OpenCV's Hershey simplex at scale {SCALE},
rendered once by tools/gen_glyphs.py (which says why), and the two functions that measure and draw with it.
Generated: do not edit the data by hand."""

from __future__ import annotations

import base64

import numpy as np

HEIGHT = {HEIGHT}
BASELINE = {BASELINE}
WIDTHS = {widths!r}
_BITS = (
{body}
)


def _atlas() -> tuple[np.ndarray, np.ndarray]:
    flat = np.unpackbits(np.frombuffer(base64.b64decode("".join(_BITS)), np.uint8))
    total = sum(WIDTHS)
    atlas = flat[: HEIGHT * total].reshape(HEIGHT, total).astype(bool)
    starts = np.concatenate([[0], np.cumsum(WIDTHS)[:-1]])
    return atlas, starts


ATLAS, STARTS = _atlas()


def text_mask(text: str, scale: int = 1) -> np.ndarray:
    """``bool[HEIGHT * scale, width]``: ``text`` drawn (characters outside printable ASCII as '?')."""
    codes = [ord(c) - 32 if 32 <= ord(c) < 127 else ord("?") - 32 for c in text] or [0]
    mask = np.concatenate([ATLAS[:, STARTS[i] : STARTS[i] + WIDTHS[i]] for i in codes], axis=1)
    if scale > 1:
        mask = mask.repeat(scale, axis=0).repeat(scale, axis=1)
    return mask


def draw_text(image: np.ndarray, text: str, x: int, y: int, colour: tuple[int, int, int], scale: int = 1) -> None:
    """``text`` in ``colour`` with its top-left corner at (x, y), clipped to the image."""
    mask = text_mask(text, scale)
    height, width = image.shape[:2]
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + mask.shape[1], width), min(y + mask.shape[0], height)
    if x1 <= x0 or y1 <= y0:
        return
    image[y0:y1, x0:x1][mask[y0 - y : y1 - y, x0 - x : x1 - x]] = colour
'''
    )
    print(OUT)


if __name__ == "__main__":
    main()
