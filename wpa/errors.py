"""Errors a user can act on.

Every message says what is wrong and what to do about it, so the CLI and the pages can show it
as it is, without a traceback.
"""


class WpaError(Exception):
    """Base class: an expected failure with a message meant for a person."""


class VideoError(WpaError):
    """A file could not be read as a video (missing, not a video, corrupt, no frames)."""


class PoseModelError(WpaError):
    """The MediaPipe pose model file is missing or unusable."""


class ModelError(WpaError):
    """A saved classifier is missing, damaged, or was made for another feature version."""


class DatasetError(WpaError):
    """Training data is unusable (empty folder, one class, wrong CSV columns...)."""


class Cancelled(WpaError):
    """Work stopped because a person asked it to."""


class SettingsError(WpaError):
    """A setting (an environment variable or secrets.toml's [wpa] table) is malformed or contradicts another."""
