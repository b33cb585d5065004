"""Scene rules of one camera: zones, lines, masks and size filters over tracked detections, and motion.

Every rule is evaluated for all tracks and all rules of a kind at once (arrays ``[tracks, rules]``); the only
Python loops run over the events a frame produced, which are rare.
"""
