"""Detection: runtime, preprocessing, decoding of model outputs and NMS."""
