"""wpa: recognise workout exercises in video from MediaPipe poses and a small PyTorch MLP."""

import logging

__version__ = "0.1.0"


def log_to_stderr(level: int = logging.INFO) -> None:
    """Send wpa's own log records (such as a live session's summary) to stderr, once per process."""
    logger = logging.getLogger("wpa")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(level)
