"""A small bitmap font (printable ASCII, 12 rows): OpenCV's Hershey simplex at scale 0.4,
rendered once by tools/gen_glyphs.py (which says why), and the two functions that measure and draw with it.
Generated: do not edit the data by hand."""

from __future__ import annotations

import base64

import numpy as np

HEIGHT = 12
BASELINE = 9
WIDTHS = [
    5,
    4,
    6,
    10,
    9,
    10,
    10,
    4,
    9,
    9,
    7,
    9,
    4,
    7,
    4,
    7,
    9,
    9,
    9,
    9,
    9,
    9,
    9,
    9,
    9,
    9,
    5,
    5,
    7,
    8,
    7,
    8,
    11,
    9,
    9,
    9,
    10,
    9,
    8,
    10,
    10,
    5,
    9,
    9,
    8,
    11,
    10,
    9,
    9,
    9,
    9,
    9,
    8,
    10,
    9,
    11,
    9,
    9,
    9,
    5,
    7,
    5,
    7,
    10,
    5,
    8,
    9,
    8,
    9,
    8,
    6,
    9,
    9,
    4,
    4,
    8,
    4,
    12,
    9,
    8,
    9,
    9,
    6,
    8,
    6,
    9,
    8,
    11,
    8,
    8,
    7,
    6,
    4,
    6,
    8,
]
_BITS = (
    "BngAHBjDgw8HAwAAAAOPAwPD8DD8GD8PBwAAAAAHgAAwfB4fB+Px4MYz+MxgYYxh4fB4eB4/uMw2DMZhv57BxwAHADAAAMAHgBgO"
    "7AwAAAAAAAAAAwAAAAAAAAHs4AAZ4bD88x8MMAw+AAAADH48H5/Bw/Bh/H4/AAAAAD8PweH4/H4fj8/DGM/jcYGOMY/H4/H4/P7j"
    "Mdgzmc7+Y4M+AA4AwAADAB4AcDuwMAAAAAAAAAAMAAAAAAAABzGAAGeP53NcbDDAMPgwAAAzuPDuDg8MA4BzudwABgBw7H+Hhnc5"
    "vGAwc4xjAY+GBzjmcxncxmdww4zmdsfncDmGDNgAAOPgcHw4+NnwxMzPOPgcfA+bPH2MxsyZmN+YxgABnn+cz+HwwwDB4MAAAc/j"
    "w7hwfDwfAY7mM5x5+eMz/h4Z3OZxgMHGMYwGPBgd49nOZ3OZ3MMOMZn7Hw/BxhgwAAAPz8Pj8fPn5+M7cz/z8Pn4fn359jM7dnZn"
    "fmMcAAYAfD4/x7AMA4cfwHgGN4MB4eGw/H4OHx3Oc8fh4c38/H5gGMfj9nj+MBjgYH+PZhn5hn4+DDjG4/w4Hg4YcMAAADs7nZ3O"
    "xjudzO+M7s7nZ3O5xmMYzs/Y+dg7jHHQGAf4fB+/wDAMAH8D4Dj2DA8HzsNzmDD+PwAOAAOOPbMx+YBjH4/Z4/jAY8GB/j+YZ+YZ"
    "+Hww4x8P8PBwOGDDAAAAfOZgZz+YznMzvDOzOZnczOcfDGMfH+PD4c4wz8BgH+Yw9v8AwDAAMAAAw9gweGM/mMxhwxh4ADx+PDD2"
    "38Z3OZxgMHOMYzGPhgfY3nOYHObmMMGcPD+HwMHBg4wAAAPzmZmc/mM5zM74zMzGZ3MzmD4x3Hh/jw8OOMc3AcA2HcfbvAMAwADD"
    "gHMP4/P53P53P4cO4cOMOfngw/5/m9/m8YDB/jGM/j8fmmN4/GA/GZ3DB/Dw7juDD+YGMAAADc7nZ3Oxj+czO/MzMxnZ3O5hmOdx"
    "4dx+HHBjHAAHANh/GefwDgMAAw4B3B8Pz+PwMPh+GB+GDnBgBwMG2YZ+Px+H4wPwxjPw3H5hjOPxgPxnfwwfg4O45ww/mBzAH/A/"
    "Pw+Px8YfnMztzMzMY+fh+Yfjz8OHcdhx+YxgAAAAAHACDAA8PAAAMABgGAAABwAAwGAAOAABgAAAAB/gAAAwAAAAAwAAAwAAAAAA"
    "AwAA+AAwABgAAAAAAAB4NwB/wDAYHBgEAN4AA4AAAAAGGwNgBgAYAAAAAYAHM4AAAAAAwAAAAHBgAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAPgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAeAcAAAAAAAAAAAD8AAMAAAAAABgAYAAAAAAAAAOAB7OAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAfAADAAAAAAAYAG"
    "AAAAAAAAADAAAwAA"
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


def draw_text(
    image: np.ndarray, text: str, x: int, y: int, colour: tuple[int, int, int], scale: int = 1
) -> None:
    """``text`` in ``colour`` with its top-left corner at (x, y), clipped to the image."""
    mask = text_mask(text, scale)
    height, width = image.shape[:2]
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + mask.shape[1], width), min(y + mask.shape[0], height)
    if x1 <= x0 or y1 <= y0:
        return
    image[y0:y1, x0:x1][mask[y0 - y : y1 - y, x0 - x : x1 - x]] = colour
