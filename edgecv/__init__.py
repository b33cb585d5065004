"""edgecv: real-time int8 TFLite object detection for edge devices."""

__version__ = "0.1.0"
