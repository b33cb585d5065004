"""Still-image files: the suffixes edgecv reads as images, and listing them in a folder.

The one list of suffixes, so that ``edgecv detect DIR``, ``source.uri: DIR``, ``edgecv eval detect --images``
and ``edgecv convert --calibration`` pick the same files out of a folder (they once disagreed: ``.ppm`` was a
frame to ``edgecv run`` and not an image to ``edgecv detect``).
"""

from __future__ import annotations

from pathlib import Path

# What cv2.imread decodes in the headless wheels. Only used to pick files out of a folder: a file named
# explicitly, or matched by a glob, is taken at its word, and one that does not decode is skipped with a
# warning.
IMAGE_SUFFIXES = frozenset(
    {
        ".jpg",
        ".jpeg",
        ".jpe",
        ".png",
        ".bmp",
        ".dib",
        ".webp",
        ".tif",
        ".tiff",
        ".ppm",
        ".pgm",
        ".pbm",
        ".pnm",
    }
)
IMAGE_SUFFIXES_TEXT = ", ".join(sorted(IMAGE_SUFFIXES))  # for messages that say which files were looked for

GLOB_CHARS = frozenset("*?[")


def has_image_suffix(path: str | Path) -> bool:
    """Whether ``path`` ends in an image suffix (any case); the file itself is not looked at."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def is_glob(pattern: str) -> bool:
    """Whether ``pattern`` holds glob wildcards (``*``, ``?``, ``[``) rather than naming one path."""
    return any(char in GLOB_CHARS for char in pattern)


def list_images(folder: Path, *, recursive: bool = False) -> list[Path]:
    """The image files directly in ``folder`` (or anywhere below it when ``recursive``), sorted by path so
    that every run sees them in the same order. Empty when there are none; the caller says what that means.
    """
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in candidates if has_image_suffix(p) and p.is_file())
