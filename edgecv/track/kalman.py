"""Constant-velocity Kalman filter over all tracks at once (struct-of-arrays, batched numpy).

State per track: ``cx, cy, w, h`` and their velocities in **pixels per second**. Width and height rather than
ByteTrack's aspect ratio: BoT-SORT showed that estimating w directly fits boxes better, and it keeps the
noise model symmetric (x noise scales with w, y noise with h).

Time is real time: a predict over ``dt`` seconds moves by ``velocity * dt`` and adds process noise in
proportion to ``dt``, so a dropped frame or a 10 fps camera gives the same uncertainty per second as 30 fps.
The noise weights are SORT/ByteTrack's (1/20 of the size for position, 1/160 for velocity, per frame),
restated per second at their reference rate of 30 fps.
"""

from __future__ import annotations

import numpy as np

REFERENCE_FPS = 30.0
POSITION_WEIGHT = 1.0 / 20
VELOCITY_WEIGHT = 1.0 / 160


def xyxy_to_cxcywh(boxes: np.ndarray) -> np.ndarray:
    out = np.empty((boxes.shape[0], 4), np.float64)
    out[:, 0] = (boxes[:, 0] + boxes[:, 2]) * 0.5
    out[:, 1] = (boxes[:, 1] + boxes[:, 3]) * 0.5
    out[:, 2] = boxes[:, 2] - boxes[:, 0]
    out[:, 3] = boxes[:, 3] - boxes[:, 1]
    return out


def cxcywh_to_xyxy(state: np.ndarray) -> np.ndarray:
    half = state[:, 2:4] * 0.5
    return np.concatenate([state[:, 0:2] - half, state[:, 0:2] + half], axis=1)


def _size_scale(state: np.ndarray) -> np.ndarray:
    """Per-coordinate size (w, h, w, h): noise is proportional to the object's size in pixels."""
    wh = np.maximum(state[:, 2:4], 1.0)
    return np.concatenate([wh, wh], axis=1)


def initiate(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """New tracks from ``xyxy`` boxes: zero velocity, with a wide velocity prior (it is unknown yet)."""
    n = boxes.shape[0]
    mean = np.zeros((n, 8))
    mean[:, :4] = xyxy_to_cxcywh(boxes)
    scale = _size_scale(mean)
    std = np.concatenate([2 * POSITION_WEIGHT * scale, 10 * VELOCITY_WEIGHT * REFERENCE_FPS * scale], axis=1)
    cov = np.zeros((n, 8, 8))
    idx = np.arange(8)
    cov[:, idx, idx] = std**2
    return mean, cov


def predict(mean: np.ndarray, cov: np.ndarray, dt: float) -> None:
    """Advance every track by ``dt`` seconds, in place."""
    if mean.shape[0] == 0 or dt <= 0:
        return
    steps = dt * REFERENCE_FPS  # process noise variance grows linearly with elapsed time
    scale = _size_scale(mean)
    q_pos = (POSITION_WEIGHT * scale) ** 2 * steps
    q_vel = (VELOCITY_WEIGHT * REFERENCE_FPS * scale) ** 2 * steps
    mean[:, :4] += dt * mean[:, 4:]
    # F P F^T with F = [[I, dt I], [0, I]], written on the 4x4 blocks (no 8x8 matmuls).
    a = cov[:, :4, :4]
    b = cov[:, :4, 4:]
    c = cov[:, 4:, 4:]
    bc = b + dt * c
    a += dt * (b + b.transpose(0, 2, 1)) + dt * dt * c
    cov[:, :4, 4:] = bc
    cov[:, 4:, :4] = bc.transpose(0, 2, 1)
    idx = np.arange(4)
    cov[:, idx, idx] += q_pos
    cov[:, idx + 4, idx + 4] += q_vel


def update(mean: np.ndarray, cov: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Correct tracks (rows of ``mean``/``cov``) with their matched ``xyxy`` boxes; returns the new rows."""
    z = xyxy_to_cxcywh(boxes)
    r = (POSITION_WEIGHT * _size_scale(mean)) ** 2
    s = cov[:, :4, :4].copy()
    idx = np.arange(4)
    s[:, idx, idx] += r
    top = cov[:, :4, :]  # H P: the first four rows
    gain_t = np.linalg.solve(s, top)  # (S^-1 H P) = K^T since P is symmetric
    innovation = z - mean[:, :4]
    new_mean = mean + np.einsum("nij,ni->nj", gain_t, innovation)
    new_cov = cov - np.einsum("nki,nkj->nij", gain_t, top)
    return new_mean, new_cov
