"""What ``edgecv convert`` rejects in seconds (before the full conversion), and how int8 ranges are chosen."""

from __future__ import annotations

import numpy as np
import pytest

from edgecv.convert import ranges
from edgecv.convert.inspect_ops import EDGETPU_OPS


def test_ranges_keep_every_image() -> None:
    qsv = {"min": np.array(-1.0), "max": np.array(2.0)}
    for low, high in [(-3.0, 1.0), (-0.5, 9.0), (-1.0, 2.5)]:
        qsv = ranges.accumulate(qsv, {"min": np.array(low), "max": np.array(high)})
    final = {m: ranges.finalize({"t": qsv}, m)["t"] for m in ranges.METHODS}
    assert (float(final["minmax"]["min"]), float(final["minmax"]["max"])) == (-3.0, 9.0)
    assert -3.0 < float(final["percentile"]["min"]) < -1.0 and 2.5 < float(final["percentile"]["max"]) < 9.0
    assert float(final["ema"]["max"]) < 3.0  # the first image weighs most: the 9.0 outlier barely counts


def test_ranges_hold_zero_and_pin() -> None:
    qsv = ranges.accumulate(
        {"min": np.array([0.2]), "max": np.array([0.9])}, {"min": np.array([0.3]), "max": np.array([0.8])}
    )
    final = ranges.finalize({"t": qsv}, "minmax")
    assert float(final["t"]["min"][0]) == 0.0  # an int8 range must contain 0
    ranges.pin(final, "t", (0.0, 1.0))
    assert final["t"]["max"].dtype == np.float32 and float(final["t"]["max"][0]) == 1.0
    with pytest.raises(KeyError):
        ranges.pin(final, "missing", (0.0, 1.0))


def test_edgetpu_list_is_the_documented_one() -> None:
    assert {
        "CONV_2D",
        "DEPTHWISE_CONV_2D",
        "LOGISTIC",
        "CONCATENATION",
        "SOFTMAX",
        "TRANSPOSE",
    } <= EDGETPU_OPS
    assert not {"BATCH_MATMUL", "RELU_0_TO_1", "POW", "GATHER", "HARD_SWISH_FLOAT"} & EDGETPU_OPS


torch = pytest.importorskip("torch")


class Pow(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.sigmoid(x.mean(1).flatten(1)).unsqueeze(1)
        return torch.cat([y, y**2, y, y, y, y, y], 1)


class TwoOutputs(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.sigmoid(x).flatten(2), x.mean()


class PixelBoxes(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scores = torch.sigmoid(x[:, :3].flatten(2))
        return torch.cat([scores[:, :2] * 64, scores[:, :2] * 10, scores], 1)  # centres up to 64 px


@pytest.mark.parametrize(
    ("module", "message", "hint"),
    [
        (Pow(), "computes pow", "x * x"),
        (TwoOutputs(), "returns 2 outputs", "one tensor"),
        (PixelBoxes(), "boxes in input pixels", "divide the boxes"),
    ],
)
def test_preflight_rejects_in_seconds(module: torch.nn.Module, message: str, hint: str) -> None:
    from edgecv.convert.torch_backend import preflight
    from edgecv.errors import ModelError

    sample = np.random.default_rng(0).random((1, 64, 64, 3), dtype=np.float32)
    with pytest.raises(ModelError) as info:  # a trace and one forward: no conversion is started
        preflight(module.eval(), (64, 64), sample)
    assert message in str(info.value) and hint in str(info.value)
    assert len(str(info.value).splitlines()) == 1
