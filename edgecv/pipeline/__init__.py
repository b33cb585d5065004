"""The run loop: capture → preprocess → inference → decode+NMS → outputs, on overlapping threads."""
