"""Keras → TFLite with ``tf.lite.TFLiteConverter``: a float reference and the full-integer model."""

from __future__ import annotations

import logging
import os
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


def to_int8(model: Any, calibration: Sequence[np.ndarray], io: str) -> bytes:
    """Full-integer conversion: every op int8 (``TFLITE_BUILTINS_INT8`` fails rather than falling back to
    float), inputs and outputs ``io`` (int8 or uint8), ranges from ``calibration`` float inputs."""
    tf = _tf()
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([tensor] for tensor in calibration)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    io_type = tf.int8 if io == "int8" else tf.uint8
    converter.inference_input_type = io_type
    converter.inference_output_type = io_type
    return bytes(converter.convert())
