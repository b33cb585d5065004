"""Trained checkpoints (Keras, PyTorch) → full-integer int8 ``.tflite``, with metadata and a drift report.

TensorFlow and PyTorch are imported only inside the backend that needs them (``pip install edgecv[convert]``);
nothing here is on the device path.
"""

from .options import ConvertOptions

__all__ = ["ConvertOptions"]
