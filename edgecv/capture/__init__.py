"""Frame sources: cameras, streams, files, image folders, Pi cameras."""
