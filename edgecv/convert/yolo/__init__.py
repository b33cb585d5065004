"""YOLOv5 and Ultralytics (YOLOv8/11) ``.pt`` checkpoints: read without their code, exported with one head."""
