"""Screenshot the web view in headless Chromium: docs/web-view.png, and the page test's screenshots.

    python tools/web_screenshot.py                       # runs edgecv on the bundled demo clip -> docs/web-view.png
    python tools/web_screenshot.py --url URL --out PATH  # an already running web view (or any page)

The demo clip only (shared footage's licences forbid shipping it). An MJPEG page never finishes loading:
Chromium gets a virtual-time budget, after which it takes the picture.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def screenshot(url: str, out: Path, width: int = 1000, height: int = 760, budget_ms: int = 4000) -> None:
    binary = chromium()
    if binary is None:
        raise SystemExit("no Chromium found (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                binary,
                "--headless",
                "--no-sandbox",  # root in containers and CI; the page is our own
                "--disable-gpu",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                f"--virtual-time-budget={budget_ms}",
                f"--screenshot={out}",
                url,
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )


def demo_page(out: Path) -> None:
    """``edgecv run`` on the bundled demo clip with the web view on a free port, screenshot, stop."""
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "config.yaml"
        config.write_text(
            "source: {loop: true, max_fps: 10}\noutput: {stdout: 'off'}\nweb: {enabled: true, port: 0}\n"
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("EDGECV_")}
        proc = subprocess.Popen(
            [sys.executable, "-m", "edgecv", "run", "--config", str(config)],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stderr is not None
            url = None
            for line in proc.stderr:
                found = re.search(r"web view on (http://\S+/)", line)
                if found:
                    url = found.group(1)
                    break
            if url is None:
                raise SystemExit("edgecv ended before its web view started")
            time.sleep(5)  # a few seconds of tracks and events on the page
            screenshot(url, out)
        finally:
            proc.terminate()
            proc.wait(20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="the page to take (default: a demo run's web view)")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "web-view.png")
    args = parser.parse_args()
    if args.url:
        screenshot(args.url, args.out)
    else:
        demo_page(args.out)
    print(args.out)


if __name__ == "__main__":
    main()
