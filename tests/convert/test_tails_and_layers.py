"""Sigmoid/SiLU-aware lower range bounds, layer names, uint8 edges and per-layer drift on a tiny PyTorch model."""

from __future__ import annotations

import numpy as np
import pytest

from edgecv.convert import tails
from edgecv.convert.layers import layer_path, parse_layers
from edgecv.errors import ConfigError


def histogram(values: np.ndarray) -> tuple[np.ndarray, float, float]:
    low, high = float(values.min()), float(values.max())
    counts, _ = np.histogram(values, tails.BINS, (low, high))
    return counts, low, high


def output_error(values: np.ndarray, low: float, high: float, activation: str) -> float:
    """What int8 with range [low, high] does to activation(values): the quantity lower_bound minimises."""
    f = tails.ACTIVATIONS[activation][0]
    step = (high - low) / tails.LEVELS
    quantized = np.round((np.clip(values, low, high) - low) / step) * step + low
    return float(np.mean((f(quantized) - f(values)) ** 2))


@pytest.mark.parametrize("activation", ["silu", "sigmoid"])
def test_long_negative_tail_is_cut_where_the_activation_is_flat(activation: str) -> None:
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(0, 2, 200_000), rng.uniform(-120, -10, 300), [25.0]])
    counts, low, high = histogram(values)
    chosen = tails.lower_bound(counts, low, high, activation)
    assert -12 < chosen < -2  # well above -120, below where SiLU / sigmoid still bend
    assert output_error(values, chosen, high, activation) < 0.5 * output_error(values, low, high, activation)


def test_short_tail_is_kept() -> None:
    """Values that SiLU still separates (its minimum is at -1.28) keep their range."""
    values = np.random.default_rng(1).uniform(-1.0, 5.0, 100_000)
    counts, low, high = histogram(values)
    assert tails.lower_bound(counts, low, high, "silu") <= 0.9 * low


def test_layer_paths_from_tensor_names() -> None:
    yolo = (
        "litert_torch._convert.to_channel_last_io.ChannelLastIOWrapper/edgecv.convert.yolo.model.YoloModel_"
        "wrapped/edgecv.convert.yolo.blocks.C3_8/torch.nn.modules.container.Sequential_m/edgecv.convert.yolo."
        "blocks.Bottleneck_0/edgecv.convert.yolo.blocks.Conv_cv1/torch.nn.modules.conv.Conv2d_conv;2"
    )
    assert layer_path(yolo) == "8.m.0.cv1.conv"
    fused = "a.M_wrapped/b.Conv_21/c.SiLU_act;;a.M_wrapped/b.C3_8/c.Conv_cv1/d.SiLU_act;"
    assert layer_path(fused) == "21.act"  # a fused op is named after its own (first) location
    assert layer_path("functional_1/conv2d_3_1/Relu;functional_1/conv2d_3_1/convolution") == "conv2d_3_1"
    assert layer_path("arith.constant3") is None
    assert layer_path("serving_default_args_0") is None


def test_parse_layers() -> None:
    assert parse_layers(" 0, 1,24.m.0 ") == ["0", "1", "24.m.0"]
    with pytest.raises(ConfigError, match="names no layer"):
        parse_layers(" , ")


torch = pytest.importorskip("torch")
pytest.importorskip("litert_torch")
pytest.importorskip("ai_edge_quantizer")


class Tiny(torch.nn.Module):
    """stem conv → SiLU → head conv → sigmoid, one [1, 4, N] output in 0..1."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.stem = torch.nn.Conv2d(3, 8, 3, 2, 1)
        self.act = torch.nn.SiLU()
        self.head = torch.nn.Sequential(torch.nn.Conv2d(8, 4, 1), torch.nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.act(self.stem(x) * 8.0)).flatten(2)  # x 8: a wide range for SiLU's input


@pytest.fixture(scope="module")
def tiny() -> tuple[bytes, bytes, list[np.ndarray]]:
    """(float .tflite, int8 .tflite, calibration inputs)."""
    from edgecv.convert import torch_backend

    rng = np.random.default_rng(0)
    inputs = [rng.random((1, 32, 32, 3), dtype=np.float32) for _ in range(8)]
    float_model = torch_backend.to_float(Tiny().eval(), (32, 32))
    int8_model = torch_backend.to_int8(float_model, inputs, "int8", (0.0, 1.0), (0.0, 1.0))
    return float_model, int8_model, inputs


def tensors(model: bytes, x: np.ndarray) -> dict[str, tuple[np.ndarray, tuple[float, int]]]:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model, experimental_preserve_all_tensors=True)
    interpreter.allocate_tensors()
    source = interpreter.get_input_details()[0]
    if source["dtype"] != np.float32:
        scale, zero_point = source["quantization"]
        x = np.clip(np.round(x / scale + zero_point), -128, 127).astype(source["dtype"])
    interpreter.set_tensor(source["index"], x)
    interpreter.invoke()
    return {
        d["name"]: (interpreter.get_tensor(d["index"]), d["quantization"])
        for d in interpreter.get_tensor_details()
        if d["index"] not in (i for op in interpreter._get_ops_details() for i in op["inputs"][1:])
    }


def test_silu_and_sigmoid_inputs_get_tighter_lower_bounds(
    tiny: tuple[bytes, bytes, list[np.ndarray]],
) -> None:
    from edgecv.convert.graph import Graph

    float_model, int8_model, inputs = tiny
    found = tails.flattened(Graph.from_bytes(float_model))
    assert sorted(found.values()) == ["sigmoid", "silu"]
    floats = tensors(float_model, inputs[0])
    quantized = tensors(int8_model, inputs[0])
    for name in found:
        lowest = min(float(tensors(float_model, x)[name][0].min()) for x in inputs)
        scale, zero_point = quantized[name][1]
        assert lowest < 0 and scale * (-128 - zero_point) > lowest  # the int8 range starts above the minimum
        assert name in floats


def test_uint8_edges_are_exact(tiny: tuple[bytes, bytes, list[np.ndarray]]) -> None:
    from ai_edge_litert.interpreter import Interpreter

    from edgecv.convert.tflite_io import uint8_io

    _, int8_model, _ = tiny
    models = [Interpreter(model_content=m) for m in (int8_model, uint8_io(int8_model))]
    x = np.random.default_rng(2).integers(-128, 128, (1, 32, 32, 3)).astype(np.int8)
    outputs = []
    for interpreter, value in zip(models, (x, (x.astype(np.int16) + 128).astype(np.uint8)), strict=True):
        interpreter.allocate_tensors()
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], value)
        interpreter.invoke()
        outputs.append(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]))
    assert outputs[1].dtype == np.uint8
    np.testing.assert_array_equal(outputs[0].astype(np.int16) + 128, outputs[1])
    (scale8, zero8), (scale_u, zero_u) = (m.get_input_details()[0]["quantization"] for m in models)
    assert scale8 == scale_u and zero_u == zero8 + 128 == 0  # 0..255 pixels map one to one
    assert models[1].get_signature_list() == models[0].get_signature_list()


def test_layer_drift_rows(tiny: tuple[bytes, bytes, list[np.ndarray]]) -> None:
    from edgecv.convert.layer_drift import measure_layers, table_lines

    float_model, int8_model, inputs = tiny
    rows = measure_layers(float_model, int8_model, inputs[:2])
    layers = [r.name for r in rows if r.kind == "layer"]
    assert layers == ["stem", "act"]  # top-level modules in order; the last (head) is listed op by op
    head = [r for r in rows if r.kind == "head"]
    assert [r.op for r in head] == ["CONV_2D", "LOGISTIC"] and head[0].name.startswith("head.0 CONV_2D")
    for row in rows:
        assert 0.9 < row.cosine <= 1.0 + 1e-9 and 0 <= row.rel_error < 0.5 and row.rounding > 0
    assert table_lines(rows)[0].startswith("where the error comes from")


def test_int16_layers_and_unknown_names(tiny: tuple[bytes, bytes, list[np.ndarray]]) -> None:
    from edgecv.convert import torch_backend

    float_model, _, inputs = tiny
    mixed = torch_backend.to_int8(float_model, inputs, "int8", (0.0, 1.0), (0.0, 1.0), int16_layers=["stem"])
    dtypes = {str(v[0].dtype) for v in tensors(mixed, inputs[0]).values()}
    assert "int16" in dtypes and "float32" not in dtypes
    with pytest.raises(ConfigError, match="no layer named 'neck'.*stem"):
        torch_backend.to_int8(float_model, inputs, "int8", (0.0, 1.0), int16_layers=["neck"])
