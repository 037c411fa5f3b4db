"""The annotated video: skeleton, current exercise and running repetition count drawn on every
frame, encoded as an H.264 MP4 (yuv420p, moov atom first) — the one format every browser plays.

It is drawn once the clip is classified, counted and its form judged: its captions
(`caption_timeline`) come from the clip's final repetitions, so the count it shows is the one the
page, the CSV and the JSON give, and each judged repetition's top cue shows under the count for a
moment after it ends (`cue_timeline`), as the page's repetitions table gives it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from wpa.media.colors import CUE_COLOR, color_for, rgb
from wpa.media.video import read_ahead, read_frames
from wpa.movement.form.units import ClipForm
from wpa.movement.reps import reps_text
from wpa.poses.sequence import POSE_CONNECTIONS, PoseSequence
from wpa.recognition.inference import NO_PERSON, UNKNOWN, ClipPrediction, readable

RENDER_MAX_SIDE = 720  # the annotated video is for watching in a page, not for archiving
CUE_SHOW_S = 2.0  # a repetition's cue stays under the count this long after it ends (or until the next ends)
MIN_VISIBILITY = 0.3  # landmarks MediaPipe is this unsure of are not drawn
LEFT_COLOR, RIGHT_COLOR, MIDDLE_COLOR = (255, 140, 0), (0, 170, 255), (235, 235, 235)
_LEFT = frozenset({1, 2, 3, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31})
_RIGHT = frozenset({4, 5, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32})


class H264Writer:
    """Encode RGB frames, each with its own timestamp, into an MP4 browsers can play."""

    def __init__(self, path: str | Path, width: int, height: int, crf: int = 23, preset: str = "veryfast"):
        self.width, self.height = width - width % 2, height - height % 2  # yuv420p wants even sizes
        self._container = av.open(str(path), "w", options={"movflags": "+faststart"})
        self._stream = self._container.add_stream("libx264", rate=30)
        self._stream.width, self._stream.height, self._stream.pix_fmt = self.width, self.height, "yuv420p"
        self._stream.codec_context.time_base = Fraction(1, 1000)  # pts in milliseconds: true timing
        self._stream.options = {"crf": str(crf), "preset": preset}
        self._last_pts = -1

    def write(self, rgb_frame: np.ndarray, timestamp_s: float) -> None:
        """Add one frame (H, W, 3) uint8 shown at `timestamp_s`."""
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb_frame[: self.height, : self.width]), format="rgb24")
        frame.pts = self._last_pts = max(round(timestamp_s * 1000), self._last_pts + 1)
        frame.time_base = Fraction(1, 1000)
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def close(self) -> None:
        """Flush the encoder and finish the file."""
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()

    def __enter__(self) -> H264Writer:
        return self

    def __exit__(self, exc_type, *exc_info) -> None:
        if exc_type is None:
            self.close()
        else:
            self._container.close()


def draw_skeleton(image: np.ndarray, landmarks: np.ndarray) -> None:
    """Draw the bones and joints of one pose (33, 4) on an RGB image, in place. The person's left
    side is orange, the right side blue."""
    if np.isnan(landmarks).any():
        return
    height, width = image.shape[:2]
    thickness = max(2, round(min(width, height) / 180))
    points = np.round(landmarks[:, :2] * (width, height)).astype(np.int32)
    visible = landmarks[:, 3] >= MIN_VISIBILITY
    for a, b in POSE_CONNECTIONS:
        if visible[a] and visible[b]:
            cv2.line(image, tuple(points[a]), tuple(points[b]), _bone_color(a, b), thickness, cv2.LINE_AA)
    for i in np.flatnonzero(visible):
        cv2.circle(image, tuple(points[i]), thickness + 1, (255, 255, 255), -1, cv2.LINE_AA)


def _bone_color(a: int, b: int) -> tuple[int, int, int]:
    if a in _LEFT and b in _LEFT:
        return LEFT_COLOR
    if a in _RIGHT and b in _RIGHT:
        return RIGHT_COLOR
    return MIDDLE_COLOR


def draw_caption(image: np.ndarray, text: str, color: tuple[int, int, int]) -> None:
    """A dark band across the top with `text` and a swatch of the exercise's colour, in place."""
    height, width = image.shape[:2]
    scale = max(0.6, min(width, height) / 500)
    band = round(44 * scale)
    image[:band] = (image[:band] * 0.35).astype(np.uint8)
    cv2.rectangle(image, (0, 0), (round(10 * scale), band), color, -1)
    cv2.putText(image, text, (round(20 * scale), round(band * 0.7)), cv2.FONT_HERSHEY_DUPLEX, 0.9 * scale,
                (255, 255, 255), max(1, round(1.5 * scale)), cv2.LINE_AA)


def draw_cue(image: np.ndarray, text: str) -> None:
    """A form cue on a dark band just under the caption's band (`draw_caption`), in place: as
    large as the caption, on two lines where one would not fit the width (smaller only where two
    would not either)."""
    height, width = image.shape[:2]
    scale = max(0.6, min(width, height) / 500)
    text = text.replace("°", " deg")  # OpenCV's fonts are ASCII only
    thickness = max(1, round(1.5 * scale))
    size, room = 0.9 * scale, width - round(30 * scale)
    lines = _wrapped(text, size, thickness, room)
    while len(lines) > 2 and size > 0.3:
        size *= 0.9
        lines = _wrapped(text, size, thickness, room)
    top, line = round(44 * scale), round(44 * size)
    band = line * len(lines) + round(4 * scale)
    image[top:top + band] = (image[top:top + band] * 0.35).astype(np.uint8)
    for number, words in enumerate(lines):
        cv2.putText(image, words, (round(20 * scale), top + round(line * (number + 0.7))), cv2.FONT_HERSHEY_DUPLEX,
                    size, CUE_COLOR, thickness, cv2.LINE_AA)


def _wrapped(text: str, size: float, thickness: int, width: int) -> list[str]:
    """`text` broken between words into lines of at most `width` pixels (a word alone may be wider)."""
    lines: list[str] = []
    for word in text.split():
        joined = f"{lines[-1]} {word}" if lines else word
        if lines and cv2.getTextSize(joined, cv2.FONT_HERSHEY_DUPLEX, size, thickness)[0][0] <= width:
            lines[-1] = joined
        else:
            lines.append(word)
    return lines or [""]


@dataclass(frozen=True)
class Caption:
    """What the video says on one frame."""

    text: str
    color: tuple[int, int, int]
    reps: int  # the running count the text shows (0: none shown)
    cue: str = ""  # the last judged repetition's top cue, under the count ("" none)


def frame_caption(prediction: ClipPrediction, index: int, reps: int = 0) -> Caption:
    """What the video says on frame `index`: the smoothed exercise and its confidence, and `reps`,
    the repetitions done so far, once there is one."""
    label = prediction.frame_labels[index]
    color = rgb(color_for(label, prediction.labels))
    if label == NO_PERSON:
        return Caption(readable(label), color, 0)
    row = prediction.smoothed[index]
    if label == UNKNOWN:
        text = f"unsure ({readable(prediction.labels[int(row.argmax())])}?)"
    else:
        text = f"{readable(label)}  {row[prediction.labels.index(label)]:.0%}"
    # "3 reps", not "rep 3": a repetition is counted once it has ended.
    return Caption(f"{text}  · {reps_text(reps)}" if reps else text, color, reps)


def caption_timeline(prediction: ClipPrediction, forms: tuple[ClipForm | None, ...] = ()) -> tuple[Caption, ...]:
    """The caption of every frame of a classified and counted clip, its running count from the
    clip's own repetitions (`ClipPrediction.reps_done`) and the cue of its form (`forms`, one per
    segment, `cue_timeline`): what `render_annotated_video` draws."""
    done = prediction.reps_done()
    cues = cue_timeline(forms, prediction.timestamps_s)
    return tuple(replace(frame_caption(prediction, index, int(done[index])), cue=cues[index])
                 for index in range(len(done)))


def cue_timeline(forms: tuple[ClipForm | None, ...], timestamps_s: np.ndarray,
                 show_s: float = CUE_SHOW_S) -> list[str]:
    """Each frame's cue: the top cue of the last judged repetition (or hold window) that has ended
    by the frame, for `show_s` after its end; none once the next one has ended (its own cue, or
    none for a repetition without one, replaces it)."""
    judged = sorted((rep.end_s, rep.cues[0].text if rep.cues else "") for form in forms if form for rep in form.reps)
    ends = np.array([end for end, _ in judged])
    cues = []
    for time_s in np.asarray(timestamps_s, dtype=np.float64):
        last = int(np.searchsorted(ends, time_s, side="right")) - 1
        cues.append(judged[last][1] if last >= 0 and time_s < ends[last] + show_s else "")
    return cues


# What is drawn on one frame: the pose (33, 4) and its caption.
Annotation = tuple[np.ndarray, Caption]


def pose_annotations(pose: PoseSequence, prediction: ClipPrediction,
                     forms: tuple[ClipForm | None, ...] = ()) -> Callable[[int, float], Annotation | None]:
    """What `draw_video` draws on each frame of a clip: its skeleton and its caption."""
    captions = caption_timeline(prediction, forms)

    def annotation(index: int, timestamp_s: float) -> Annotation | None:
        if index >= len(pose):
            return None  # a decoder may yield a trailing frame the pose pass did not see
        return pose.landmarks[index], captions[index]
    return annotation


def render_annotated_video(video_path: str | Path, pose: PoseSequence, prediction: ClipPrediction,
                           out_path: str | Path, max_side: int = RENDER_MAX_SIDE,
                           progress: Callable[[int, int], None] | None = None,
                           forms: tuple[ClipForm | None, ...] = ()) -> Path:
    """Decode `video_path` again, draw skeleton, caption, running count and form cues
    (`caption_timeline`; `forms` one per segment of `prediction`) on every frame, write an H.264 MP4."""
    return draw_video(video_path, out_path, pose_annotations(pose, prediction, forms), len(pose), max_side, progress)


def draw_video(video_path: str | Path, out_path: str | Path,
               annotation: Callable[[int, float], Annotation | None], total: int,
               max_side: int = RENDER_MAX_SIDE, progress: Callable[[int, int], None] | None = None,
               decoder_threads: int = 0) -> Path:
    """Decode `video_path` (with `decoder_threads`, as `read_frames`), draw `annotation(frame
    index, timestamp)` on each frame, and write an H.264 MP4. The video ends at the first frame
    whose annotation is None."""
    out_path = Path(out_path)
    writer = None
    # Decoded in a thread of its own while this one draws and the encoder encodes: after the pose
    # pass, the clip's cores are free for the three.
    frames = read_ahead(read_frames(video_path, max_side=max_side, threads=decoder_threads))
    try:
        for frame in frames:
            drawn = annotation(frame.index, frame.timestamp_s)
            if drawn is None:
                break
            landmarks, caption = drawn
            image = frame.rgb.copy()
            draw_skeleton(image, landmarks)
            draw_caption(image, caption.text, caption.color)
            if caption.cue:
                draw_cue(image, caption.cue)
            if writer is None:
                writer = H264Writer(out_path, image.shape[1], image.shape[0])
            writer.write(image, frame.timestamp_s)
            if progress:
                progress(frame.index + 1, total)
    finally:
        frames.close()
        if writer is not None:
            writer.close()
    return out_path
