import numpy as np
import pytest

from edgecv.track import kalman


def test_velocity_is_learnt_in_pixels_per_second():
    mean, cov = kalman.initiate(np.array([[0, 0, 40, 100]], np.float64))
    for k in range(1, 30):
        kalman.predict(mean, cov, 0.1)
        x = 20.0 * k * 0.1  # 20 px/s
        mean, cov = kalman.update(mean, cov, np.array([[x, 0, x + 40, 100]]))
    assert mean[0, 4] == pytest.approx(20.0, rel=0.05)
    kalman.predict(mean, cov, 1.0)
    assert mean[0, 0] == pytest.approx(20 + 20 * 3.9, rel=0.05)


def test_uncertainty_grows_with_elapsed_time_not_calls():
    """Two predicts of 0.05 s add the same process noise as one of 0.1 s (to first order)."""
    a_mean, a_cov = kalman.initiate(np.array([[0, 0, 40, 100.0]]))
    b_mean, b_cov = a_mean.copy(), a_cov.copy()
    kalman.predict(a_mean, a_cov, 0.1)
    kalman.predict(b_mean, b_cov, 0.05)
    kalman.predict(b_mean, b_cov, 0.05)
    # Position variance differs only by the velocity cross term, not by a factor of two.
    assert b_cov[0, 0, 0] == pytest.approx(a_cov[0, 0, 0], rel=0.1)


def test_batched_update_equals_one_by_one():
    rng = np.random.default_rng(1)
    boxes = rng.uniform(0, 200, (5, 2))
    boxes = np.concatenate([boxes, boxes + rng.uniform(10, 80, (5, 2))], axis=1)
    mean, cov = kalman.initiate(boxes)
    kalman.predict(mean, cov, 0.2)
    z = boxes + rng.normal(0, 3, boxes.shape)
    m_all, c_all = kalman.update(mean, cov, z)
    for i in range(5):
        m_i, c_i = kalman.update(mean[i : i + 1], cov[i : i + 1], z[i : i + 1])
        np.testing.assert_allclose(m_all[i], m_i[0])
        np.testing.assert_allclose(c_all[i], c_i[0])


def _full_filter(box, z, dt):
    """The textbook 8x8 filter with the same noise: the blockwise one must agree with it exactly."""
    mean, cov3 = kalman.initiate(box)
    p = np.zeros((8, 8))
    for c in range(4):
        p[c, c], p[c, c + 4], p[c + 4, c], p[c + 4, c + 4] = (
            cov3[0, 0, c],
            cov3[0, 1, c],
            cov3[0, 1, c],
            cov3[0, 2, c],
        )
    x = mean[0]
    f = np.eye(8)
    f[:4, 4:] = dt * np.eye(4)
    scale = np.maximum(np.r_[x[2:4], x[2:4]], 1)
    steps = dt * kalman.REFERENCE_FPS
    q = np.diag(
        np.r_[
            (kalman.POSITION_WEIGHT * scale) ** 2 * steps, (kalman.VELOCITY_WEIGHT * 30 * scale) ** 2 * steps
        ]
    )
    x, p = f @ x, f @ p @ f.T + q
    h = np.eye(4, 8)
    r = np.diag((kalman.MEASUREMENT_WEIGHT * np.maximum(np.r_[x[2:4], x[2:4]], 1)) ** 2)
    k = p @ h.T @ np.linalg.inv(h @ p @ h.T + r)
    x = x + k @ (kalman.xyxy_to_cxcywh(z)[0] - h @ x)
    return x, p - k @ h @ p


def test_blockwise_filter_equals_the_full_matrix_filter():
    box = np.array([[10.0, 20, 50, 120]])
    z = np.array([[14.0, 22, 55, 121]])
    mean, cov = kalman.initiate(box)
    kalman.predict(mean, cov, 0.07)
    mean, cov = kalman.update(mean, cov, z)
    x, p = _full_filter(box, z, 0.07)
    np.testing.assert_allclose(mean[0], x, rtol=1e-9)
    for c in range(4):
        np.testing.assert_allclose(cov[0, :, c], [p[c, c], p[c, c + 4], p[c + 4, c + 4]], rtol=1e-9)


def test_tracker_forms_are_bit_identical_to_predict_and_update():
    """The tracker's coordinate-major predict/correct must give exactly what predict/update give."""
    from edgecv.track.table import TrackTable

    rng = np.random.default_rng(3)
    boxes = rng.uniform(0, 300, (7, 2))
    boxes = np.concatenate([boxes, boxes + rng.uniform(0.5, 90, (7, 2))], axis=1).astype(np.float32)
    table = TrackTable()
    table.add(boxes, rng.uniform(0.5, 1, 7).astype(np.float32), np.zeros(7, np.int32), 0.0)
    mean, cov = table.mean.copy(), table.cov.copy()
    for dt in (1 / 30, 0.2, 1 / 30):
        kalman.predict(mean, cov, dt)
        kalman.predict_table(table, dt)
        np.testing.assert_array_equal(table.mean, mean)
        np.testing.assert_array_equal(table.cov, cov)
        rows = np.array([0, 2, 3, 6])
        z = (boxes[rows] + rng.normal(0, 3, (4, 4))).astype(np.float32)
        mean[rows], cov[rows] = kalman.update(mean[rows], cov[rows], z)
        m, c = table.mean_t.take(rows, axis=1), table.cov_t.take(rows, axis=2)
        kalman.correct_t(m, c, np.ascontiguousarray(z.T))
        table.mean_t[:, rows], table.cov_t[:, :, rows] = m, c
        np.testing.assert_array_equal(table.mean, mean)
        np.testing.assert_array_equal(table.cov, cov)
