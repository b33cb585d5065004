"""Builds the tiny .tflite fixtures under tests/data (needs the [convert] extra: TensorFlow).

    python tools/make_test_models.py

* ``two_outputs_int8.tflite``: a full-int8 model with two outputs, ``[1, 8, 8, 6]`` and ``[1, 10]``: no
  decoder family has that shape, so loading it must fail with an error that names the shapes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "tests" / "data"


def two_outputs() -> bytes:
    import tensorflow as tf

    inputs = tf.keras.Input((32, 32, 3), batch_size=1)
    x = tf.keras.layers.Conv2D(6, 3, strides=4, padding="same", activation="relu")(inputs)
    y = tf.keras.layers.Dense(10)(tf.keras.layers.GlobalAveragePooling2D()(x))
    model = tf.keras.Model(inputs, [x, y])
    rng = np.random.default_rng(0)

    def representative():
        for _ in range(8):
            yield [rng.uniform(0, 1, (1, 32, 32, 3)).astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "two_outputs_int8.tflite"
    path.write_bytes(two_outputs())
    print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
