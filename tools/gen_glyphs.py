"""Regenerates edgecv/output/glyph_bitmaps.py (the data edgecv/output/glyphs.py draws with): OpenCV's Hershey simplex font rendered once, small and binary, for
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

OUT = Path(__file__).resolve().parents[1] / "edgecv" / "output" / "glyph_bitmaps.py"
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
        f'''"""The bitmap font's data (printable ASCII, {HEIGHT} rows): OpenCV's Hershey simplex at scale {SCALE}, rendered once by
tools/gen_glyphs.py (which says why). Generated: do not edit by hand; :mod:`edgecv.output.glyphs` draws with it."""

HEIGHT = {HEIGHT}
BASELINE = {BASELINE}
WIDTHS = {widths!r}
BITS = (
{body}
)
'''
    )
    print(OUT)


if __name__ == "__main__":
    main()
