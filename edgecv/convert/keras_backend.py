"""Keras → TFLite with ``tf.lite.TFLiteConverter``: a float reference and the full-integer model."""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


def _tf() -> Any:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter is not ours
    import tensorflow as tf

    return tf


def to_float(model: Any) -> bytes:
    tf = _tf()
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    return bytes(converter.convert())


def to_int8(
    model: Any, calibration: Sequence[np.ndarray], io: str, input_range: tuple[float, float]
) -> bytes:
    """Full-integer conversion: every op int8 (``TFLITE_BUILTINS_INT8`` fails rather than falling back to
    float), inputs and outputs ``io`` (int8 or uint8), ranges from ``calibration`` float inputs, except the
    input's: it takes ``input_range`` (what the pixels can span), so its scale is exactly 1/255.

    The converter's own two steps, split so the input's range can be set in between: calibrate (ranges
    recorded in the float model's tensors), then quantize that model (``mlir_quantize``, what
    ``TFLiteConverter.convert`` calls after calibrating).
    """
    tf = _tf()
    from tensorflow.lite.python import convert as tf_convert  # the converter's quantize step

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([tensor] for tensor in calibration)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter._experimental_calibrate_only = True  # private, as in TensorFlow's QuantizationDebugger
    with warnings.catch_warnings():
        # Calibrate-only runs look like quantization-aware training to one check, which then warns that the
        # input's statistics are missing; they are the calibration's, set just below.
        warnings.filterwarnings("ignore", message="Statistics for quantized inputs were expected")
        calibrated = _with_input_range(bytes(converter.convert()), input_range)
    io_type = tf.int8 if io == "int8" else tf.uint8
    return bytes(
        tf_convert.mlir_quantize(calibrated, False, input_data_type=io_type, output_data_type=io_type)
    )


def _with_input_range(calibrated: bytes, input_range: tuple[float, float]) -> bytes:
    """The calibrated model with its input's recorded min/max replaced by ``input_range``."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    tree = schema.ModelT.InitFromPackedBuf(calibrated, 0)
    graph = tree.subgraphs[0]
    stats = graph.tensors[graph.inputs[0]].quantization
    if stats is None:
        stats = graph.tensors[graph.inputs[0]].quantization = schema.QuantizationParametersT()
    stats.min, stats.max = [float(input_range[0])], [float(input_range[1])]
    builder = flatbuffers.Builder(len(calibrated) + 1024)
    builder.Finish(tree.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())
