"""wpa: recognise workout exercises in video from MediaPipe poses and a small PyTorch MLP."""

__version__ = "0.1.0"
