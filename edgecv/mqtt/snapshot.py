"""JPEG snapshots for ``snapshot/<label>``: scaled down before encoding, since a full 1080p JPEG is
hundreds of kB on a retained topic that every new subscriber receives."""

from __future__ import annotations

import numpy as np

from ..config.mqtt import MqttSnapshotConfig

CROP_MARGIN = 0.15  # of the box size on each side: context helps a person recognise what was seen


def encode_jpeg(image: np.ndarray, box: np.ndarray | None, config: MqttSnapshotConfig) -> bytes | None:
    import cv2

    if box is not None:
        h, w = image.shape[:2]
        x1, y1, x2, y2 = (float(v) for v in box)
        mx, my = (x2 - x1) * CROP_MARGIN, (y2 - y1) * CROP_MARGIN
        left, top = max(0, int(x1 - mx)), max(0, int(y1 - my))
        right, bottom = min(w, int(x2 + mx) + 1), min(h, int(y2 + my) + 1)
        if right > left and bottom > top:
            image = image[top:bottom, left:right]
    h, w = image.shape[:2]
    if w > config.width:
        image = cv2.resize(
            image, (config.width, max(1, round(h * config.width / w))), interpolation=cv2.INTER_AREA
        )
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, config.quality])
    return data.tobytes() if ok else None
