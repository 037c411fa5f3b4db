"""The records a dataset is made of: a clip named by where it is and what it shows (`ClipRef`), and
a clip with its poses (`Clip`), the unit of training data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from wpa.poses.sequence import PoseSequence


@dataclass(frozen=True)
class ClipRef:
    """One clip of a dataset: where it is and what exercise it shows."""

    path: Path
    label: str
    name: str = ""  # path inside its class folder (default: the file name)
    # Clips that must stay on one side of a split (one person, camera or gym); "" is the clip alone.
    group: str = ""

    @property
    def clip_id(self) -> str:
        """`<label>/<path in the class folder>`: unique within a dataset and readable in reports."""
        return f"{self.label}/{self.name or self.path.name}"


@dataclass(frozen=True)
class Clip:
    """A clip with its poses: the unit of training data."""

    clip_id: str
    label: str
    pose: PoseSequence
    source: Path | None = None  # the video it came from, if any
    cache_key: str | None = None
    group: str = ""  # as ClipRef.group

    @property
    def split_group(self) -> str:
        """What honest splits keep together: the clip's group, or the clip alone."""
        return self.group or self.clip_id
