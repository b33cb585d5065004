"""A real headless Chromium loads ``/`` during a run on the demo clip: the screenshot shows the stream with
boxes drawn (thin straight lines in a class colour), which a screenshot of the raw frame does not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from edgecv.output.annotate import PALETTE

from .conftest import REPO, WebRun, get, web_config

TOOL = REPO / "tools" / "web_screenshot.py"


def chromium_present() -> bool:
    sys.path.insert(0, str(TOOL.parent))
    try:
        from web_screenshot import chromium  # type: ignore[import-not-found]

        return chromium() is not None
    finally:
        sys.path.remove(str(TOOL.parent))


pytestmark = pytest.mark.skipif(not chromium_present(), reason="no Chromium (make test installs Debian's)")


def take(url: str, out: Path) -> np.ndarray:
    subprocess.run([sys.executable, str(TOOL), "--url", url, "--out", str(out)], check=True, timeout=180)
    image = cv2.imread(str(out))
    assert image is not None
    return image


def box_edges(image: np.ndarray, run: int = 30, gap: int = 6, tolerance: int = 40) -> int:
    """How many horizontal lines of at least ``run`` pixels are drawn in a class colour, thin (the pixels
    ``gap`` above and below are not that colour): box edges, which a smooth or busy background is not."""
    found = 0
    for colour in PALETTE.astype(np.int16):
        near = (np.abs(image.astype(np.int16) - colour) <= tolerance).all(axis=2)
        thin = near[gap:-gap] & ~near[: -2 * gap] & ~near[2 * gap :]
        for row in thin:
            padded = np.concatenate([[0], row.astype(np.int8), [0]])
            changes = np.flatnonzero(np.diff(padded))
            found += int(((changes[1::2] - changes[::2]) >= run).sum())
    return found


def test_chromium_shows_the_stream_with_boxes(web_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run: WebRun = web_run(web_config())
    url = run.wait_url()
    run.wait_for(lambda: get(url + "healthz").status == 200, what="frames to flow")
    (camera,) = get(url + "api/stats").json()["cameras"]  # type: ignore[index]
    page = take(url, tmp_path / "page.png")
    assert page.shape[:2] == (760, 1000)
    raw = take(url + f"api/cameras/{camera}/snapshot.jpg?raw=1", tmp_path / "raw.png")
    # The demo clip's shapes are found in every frame: the page's stream shows their boxes.
    assert box_edges(page) >= 4
    assert box_edges(raw) == 0
    # The page filled in its figures from /api/stats (not the placeholder text).
    assert "no answer" not in run.stderr
