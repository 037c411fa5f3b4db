"""Live classification of a webcam stream, one frame at a time.

A `LiveSession` belongs to one browser session's WebRTC stream: it owns a VIDEO-mode pose
landmarker (which tracks across frames and needs increasing timestamps) and a
`wpa.recognition.recognizer.RecognizerStream` (the last seconds of poses and probabilities that
the features and the smoothing need: the same recogniser as an uploaded clip's). Only the
classifier itself is shared between sessions, read-only.

`process_frame` is called by streamlit-webrtc in its own thread; the page reads `latest()`,
`history()`, `stats()` and `sets()` from its script thread. A lock keeps them apart. The count
drawn on a frame and the count the page shows beside it come from one `LiveReading`, made under
the lock: the page shows the latest reading's set, never a second read of the counter. The
frame callback never raises: whatever happens, a frame goes back to the browser.

Repetitions: a `wpa.movement.sets.SetTracker` (one per session, fed from `_classify` under the lock) turns
the stream of labels and poses into sets, each counted by its own `wpa.movement.reps.RepCounter`, and keeps
the log of the sets done in the browser session (it outlives STOP and START; `reset_sets` clears it).
When a stream ends, its sets are settled: its frames' poses (`wpa.serving.stream_record`) are counted
once more as an uploaded clip of them would be, and those sets replace the ones counted on the go.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from dataclasses import dataclass, replace

import av
import cv2
import numpy as np

from wpa.media.annotate import draw_caption, draw_cue, draw_skeleton
from wpa.media.colors import color_for, rgb
from wpa.media.video import to_upright_rgb
from wpa.movement.form.live import LiveForm
from wpa.movement.reps import reps_text
from wpa.movement.sets import SetTracker, WorkoutSet
from wpa.paths import LIVE_POSE_MODEL
from wpa.poses.estimator import PoseEstimator
from wpa.poses.sequence import NUM_LANDMARKS, PoseOptions, PoseSequence
from wpa.recognition.inference import NO_PERSON, UNKNOWN, InferenceConfig, readable
from wpa.recognition.model import ExerciseModel
from wpa.recognition.recognizer import FrameReading, Recognizer
from wpa.serving.stream_record import StreamRecord, settled_sets
from wpa.workers.priority import hand_the_interpreter_over_often

log = logging.getLogger(__name__)

HISTORY_S = 30.0  # how much of the past the page's rolling timeline shows
WARM_UP_SIZE = (640, 480)


@dataclass(frozen=True)
class LiveSettings:
    """What a person can change while streaming."""

    min_confidence: float | None = None  # below this the label is "unsure" (None: the model's threshold)
    smoothing_s: float = InferenceConfig().smoothing_s  # InferenceConfig's: σ of the smoothing over time (0: none)
    mirror_view: bool = True  # show the picture as a mirror would (classification is unaffected)
    max_side: int = 640  # larger frames are scaled down before pose estimation


@dataclass(frozen=True)
class LiveReading:
    """What the classifier says about one frame."""

    time_s: float  # seconds since the stream started
    label: str  # an exercise, UNKNOWN or NO_PERSON
    confidence: float  # smoothed probability of the most likely exercise (0 with nobody)
    top: tuple[tuple[str, float], ...]  # the most likely exercises, smoothed
    milliseconds: float  # time this frame took to process
    set: WorkoutSet | None = None  # the set being done at this frame, with its running count (None: none)
    cue: str = ""  # the form cue of the set's last repetition, for a few seconds after it ("" none)

    @property
    def reps(self) -> int:
        """Repetitions of the current set (0 when no set is running): what the frame shows."""
        return self.set.reps if self.set is not None else 0


@dataclass(frozen=True)
class LiveStats:
    frames: int  # frames processed since the stream started
    frames_per_second: float  # over the last two seconds
    median_ms: float
    p95_ms: float


class LiveSession:
    """Pose → features → MLP → smoothing for one stream. See the module docstring."""

    def __init__(self, model: ExerciseModel, settings: LiveSettings = LiveSettings(),
                 pose_options: PoseOptions | None = None, clock=time.monotonic):
        hand_the_interpreter_over_often()  # frames wait less behind the server's other Python work
        self._lock = threading.Lock()
        self._clock = clock  # seconds, increasing (tests pass a clock that runs at the camera's pace)
        self._sets = SetTracker()
        self._form = LiveForm({})
        self._model, self._settings = model, settings
        # The lite pose model by default: lighter a frame, it answers sooner on a small server.
        self._pose_options = pose_options or PoseOptions(model_path=LIVE_POSE_MODEL)
        self._estimator: PoseEstimator | None = None
        self._streams_ended = 0
        self._stream = Recognizer(model, _inference(settings)).stream()
        self._reset_stream_state()

    # --- lifetime -------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self._estimator is not None

    @property
    def streams_ended(self) -> int:
        """Streams this session has closed; the page prepares a landmarker only before the first."""
        return self._streams_ended

    def prepare(self) -> None:
        """Create the pose landmarker and run the whole chain once on a blank frame, so the first
        real frames do not wait for model loading and first-call set-up."""
        with self._lock:
            if self._estimator is not None:
                return
            estimator = PoseEstimator(self._pose_options)
            blank = np.zeros((WARM_UP_SIZE[1], WARM_UP_SIZE[0], 3), np.uint8)
            estimator.detect(blank, 0.0)
            self._stream.recognizer.predict_proba(_still_pose())
            self._estimator = estimator
            self._reset_stream_state()

    def close(self) -> None:
        """Release the landmarker and forget the stream's readings (the stream ended). The next
        stream's first frame, or `prepare`, makes a fresh landmarker."""
        with self._lock:
            if self._estimator is not None:
                self._estimator.close()
                self._estimator = None
                self._streams_ended += 1
                # The set being done goes to the log now, its last repetition counted; then the
                # stream's sets are settled as an upload of its frames would count them.
                self._sets.stop(settled_sets(self._record, self._stream.recognizer, self._frame_size,
                                             self._wall_started))
                stats = self._stats_locked()
                log.info("live session ended: %d frames classified, %.1f frames/s, median %.1f ms, last label %s",
                         stats.frames, stats.frames_per_second, stats.median_ms,
                         self._readings[-1].label if self._readings else "-")
                self._reset_stream_state()  # the page shows no stale reading; the sets log stays

    def update(self, model: ExerciseModel, settings: LiveSettings, form_references: dict | None = None) -> None:
        """Apply the page's current choices (and the model's references of good form, by label).
        Another model starts from a clean slate."""
        with self._lock:
            if form_references is not None:
                self._form.references = form_references
            if model is not self._model:
                self._model = model
                self._sets.stop()  # another model's labels: the set it was counting ends here
                self._record = StreamRecord()  # and what is settled at the end starts here
            self._stream.use(Recognizer(model, _inference(settings)))  # another model starts afresh
            self._settings = settings

    # --- the frame callback ---------------------------------------------------------------

    def process_frame(self, frame: av.VideoFrame) -> av.VideoFrame:
        """streamlit-webrtc's video_frame_callback: classify the frame and draw the result on it."""
        try:
            image = self._process(frame)
        except Exception:  # a frame must go back whatever happens; the log keeps the reason
            log.exception("live frame processing failed")
            image = frame.to_ndarray(format="rgb24")
            draw_caption(image, "processing error, see the server log", rgb(color_for(UNKNOWN, ())))
        result = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        if frame.time_base is not None:  # keep the sender's timing for smooth playback
            result.pts, result.time_base = frame.pts, frame.time_base
        return result

    def _process(self, frame: av.VideoFrame) -> np.ndarray:
        started = time.perf_counter()
        image = to_upright_rgb(frame, self._settings.max_side)
        if self._estimator is None:  # the page prepares one before START; if it could not, do it now
            self.prepare()
        with self._lock:
            now = self._clock() - self._started
            self._frame_size = (image.shape[1], image.shape[0])
            found = self._estimator.detect(image, now)
            reading = self._classify(found, now)
            settings, labels = self._settings, self._model.labels
        if found is not None:
            draw_skeleton(image, found[0])
        if settings.mirror_view:
            image = np.fliplr(image).copy()
        caption = readable(reading.label) if reading.label in (NO_PERSON, UNKNOWN) else \
            f"{readable(reading.label)}  {reading.confidence:.0%}"
        if reading.set is not None:  # ASCII only: OpenCV's fonts have no "·"
            caption += f"  |  {reps_text(reading.reps)}"
        draw_caption(image, caption, rgb(color_for(reading.label, labels)))
        if reading.cue:
            draw_cue(image, reading.cue)
        milliseconds = (time.perf_counter() - started) * 1000
        with self._lock:
            self._readings.append(replace(reading, milliseconds=milliseconds))
            self._timings.append(milliseconds)
            self._frame_times.append(now)
            self._frames += 1
            fps = self._fps_locked()
        _draw_rate(image, fps, milliseconds)
        return image

    def _classify(self, found: tuple[np.ndarray, np.ndarray] | None, now: float) -> LiveReading:
        """Under the lock: classify the frame, then count it in the current set."""
        self._drop_old(now)
        frame = self._predict(found, now)
        width, height = self._frame_size
        landmarks = None if found is None else found[0]
        self._sets.update(frame.label, landmarks, now, aspect_ratio=width / height, wall_s=self._wall_started + now)
        self._record.add(now, landmarks, None if found is None else found[1])
        cue = self._form.update(self._sets.exercise, landmarks, now, self._sets.repetitions, width / height,
                                None if found is None else found[1])
        return LiveReading(now, frame.label, frame.confidence, frame.top, 0.0, set=self._sets.current(), cue=cue)

    def _predict(self, found: tuple[np.ndarray, np.ndarray] | None, now: float) -> FrameReading:
        """Under the lock: the recogniser's reading of the frame's pose."""
        if found is None:
            return self._stream.push(now, None, None, self._frame_size)
        return self._stream.push(now, found[0], found[1], self._frame_size)

    def _drop_old(self, now: float) -> None:
        while self._readings and self._readings[0].time_s < now - HISTORY_S:
            self._readings.popleft()

    # --- what the page reads --------------------------------------------------------------

    def latest(self) -> LiveReading | None:
        with self._lock:
            return self._readings[-1] if self._readings else None

    def history(self) -> list[LiveReading]:
        """The readings of the last HISTORY_S seconds, oldest first."""
        with self._lock:
            return list(self._readings)

    def stats(self) -> LiveStats:
        with self._lock:
            return self._stats_locked()

    def sets(self) -> tuple[WorkoutSet, ...]:
        """The sets done in this session (this browser session's streams), oldest first."""
        with self._lock:
            return self._sets.log()

    def reset_sets(self) -> None:
        """Clear the sets log and the current count (the page's reset button)."""
        with self._lock:
            self._sets.reset()

    def _stats_locked(self) -> LiveStats:
        timings = np.array(self._timings) if self._timings else np.zeros(1)
        return LiveStats(frames=self._frames, frames_per_second=self._fps_locked(),
                         median_ms=float(np.median(timings)), p95_ms=float(np.percentile(timings, 95)))

    def _fps_locked(self) -> float:
        if len(self._frame_times) < 2:
            return 0.0
        recent = [t for t in self._frame_times if t >= self._frame_times[-1] - 2.0]
        span = recent[-1] - recent[0]
        return (len(recent) - 1) / span if span > 0 else 0.0

    def _reset_stream_state(self) -> None:
        self._sets.stop()  # a new stream's times start at 0 again
        self._started = self._clock()
        self._wall_started = time.time()
        self._stream.reset()
        self._record = StreamRecord()
        self._readings: collections.deque[LiveReading] = collections.deque()
        self._timings: collections.deque[float] = collections.deque(maxlen=300)
        self._frame_times: collections.deque[float] = collections.deque(maxlen=120)
        self._frames = 0
        self._frame_size = WARM_UP_SIZE


def _draw_rate(image: np.ndarray, fps: float, milliseconds: float) -> None:
    height, width = image.shape[:2]
    scale = max(0.45, min(width, height) / 900)
    cv2.putText(image, f"{fps:4.1f} frames/s  {milliseconds:3.0f} ms", (10, height - 12), cv2.FONT_HERSHEY_SIMPLEX,
                scale, (255, 255, 255), max(1, round(scale * 2)), cv2.LINE_AA)


def _inference(settings: LiveSettings) -> InferenceConfig:
    return InferenceConfig(smoothing_s=settings.smoothing_s, min_confidence=settings.min_confidence)


def _still_pose(seconds: float = 2.0) -> PoseSequence:
    """A standing skeleton held still for a feature window: enough to run the classifier once."""
    frames = max(2, int(seconds * 15))
    landmarks = np.full((frames, NUM_LANDMARKS, 4), 0.5, np.float32)
    landmarks[:, :, 1] = np.linspace(0.2, 0.9, NUM_LANDMARKS)
    return PoseSequence(landmarks=landmarks, world_landmarks=np.zeros((frames, NUM_LANDMARKS, 3), np.float32),
                        timestamps_s=np.arange(frames) / 15.0, fps=15.0, frame_size=WARM_UP_SIZE)
