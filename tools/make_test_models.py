"""Builds the tiny .tflite fixtures under tests/data (needs the [convert] extra: TensorFlow).

    python tools/make_test_models.py

* ``two_outputs_int8.tflite``: a full-int8 model with two outputs, ``[1, 8, 8, 6]`` and ``[1, 10]``: no
  decoder family has that shape, so loading it must fail with an error that names the shapes.
* ``invoke_fails.tflite``: a float model that loads and looks like a YOLOv8 head (``[1, 7, 21]`` for a
  32x32 input: 3 classes), but whose GATHER indexes a table with scaled pixel values: any frame brighter than
  black fails inside ``invoke()`` ("gather index out of bounds"), a runtime failure and not a bad file.
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


def invoke_fails() -> bytes:
    import tensorflow as tf

    anchors, channels = 16 + 4 + 1, 4 + 3  # a 32x32 input at strides 8, 16 and 32; box + 3 classes

    @tf.autograph.experimental.do_not_convert
    def head(image: tf.Tensor) -> tf.Tensor:
        indices = tf.cast(tf.reshape(image, [-1])[:anchors] * 1000.0, tf.int32)  # [0, 1] -> [0, 1000]
        picked = tf.gather(tf.range(anchors, dtype=tf.float32), indices)  # out of bounds above index 20
        return tf.reshape(tf.tile(picked, [channels]), [1, channels, anchors]) * 0.0 + 0.5

    function = tf.function(head, input_signature=[tf.TensorSpec([1, 32, 32, 3], tf.float32)])
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function.get_concrete_function()])
    return converter.convert()


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, build in (("two_outputs_int8.tflite", two_outputs), ("invoke_fails.tflite", invoke_fails)):
        path = OUT / name
        path.write_bytes(build())
        print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
