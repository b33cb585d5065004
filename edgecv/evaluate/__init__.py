"""Accuracy figures for edgecv's stages against public ground truth (COCO for detection)."""
