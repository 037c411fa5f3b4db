"""Skeletons doing movements whose truth is known exactly, for the counter's and form feedback's
tests: a person facing the camera doing squats, arm raises or alternating raises, every repetition
one turn of a phase (`phase_of`, `skeleton`); and a stick figure seen from the side doing biceps
curls or holding a plank (`figure`, `curl`, `plank`)."""

from __future__ import annotations

import math

import numpy as np

from wpa.movement.reps import RepCounter
from wpa.poses.sequence import NUM_LANDMARKS, PoseSequence

FPS = 30.0
# A person facing the camera, x and y normalised to a 640 × 480 frame (their left is the image's right).
STANDING = {
    0: (0.50, 0.18), 11: (0.55, 0.30), 12: (0.45, 0.30), 13: (0.57, 0.42), 14: (0.43, 0.42),
    15: (0.58, 0.52), 16: (0.42, 0.52), 23: (0.53, 0.55), 24: (0.47, 0.55), 25: (0.53, 0.72),
    26: (0.47, 0.72), 27: (0.53, 0.90), 28: (0.47, 0.90),
}
# The other landmarks follow the nearest of those (face → nose, hands → wrists, feet → ankles).
FOLLOWS = {**{i: 0 for i in range(1, 11)}, 17: 15, 19: 15, 21: 15, 18: 16, 20: 16, 22: 16,
           29: 27, 31: 27, 30: 28, 32: 28}


def phase_of(durations: list[tuple[float, float]]) -> np.ndarray:
    """Phase (in turns) at each frame for consecutive stretches of (seconds, repetitions per
    second); a rate of 0 is a rest."""
    rates = np.concatenate([np.full(int(round(seconds * FPS)), rate) for seconds, rate in durations])
    return np.concatenate([[0.0], np.cumsum(rates[:-1])]) / FPS


def skeleton(phase: np.ndarray, exercise: str = "squat", noise: float = 0.004, seed: int = 0,
             scale: float = 1.0, shift: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Landmarks (T, 33, 4) of the skeleton doing `exercise` through `phase` (turns: each whole
    turn is one repetition, which starts and ends standing, with a short pause there)."""
    # The first fifth of each turn is the pause, then down and up again.
    moving = np.clip((phase % 1.0 - 0.2) / 0.8, 0.0, 1.0)
    depth = (1 - np.cos(2 * math.pi * moving)) / 2  # 0 standing, 1 at the bottom / top of a repetition
    frames = len(phase)
    xy = np.zeros((frames, NUM_LANDMARKS, 2))
    for index, (x, y) in STANDING.items():
        xy[:, index] = (x, y)
    if exercise == "squat":
        for index in (0, 11, 12, 13, 14, 15, 16, 23, 24):
            xy[:, index, 1] += 0.15 * depth  # the whole upper body goes down
        for index in (25, 26):
            xy[:, index, 1] += 0.04 * depth
            xy[:, index, 0] += np.sign(STANDING[index][0] - 0.5) * 0.03 * depth  # knees out
        for index in (15, 16):
            xy[:, index, 1] -= 0.12 * depth  # arms forward for balance
    elif exercise == "raise":
        for index, lift in ((13, 0.12), (14, 0.12), (15, 0.30), (16, 0.30)):
            xy[:, index, 1] -= lift * depth
    elif exercise == "alternate":
        # Left arm on even repetitions, right arm on odd ones.
        left = (np.floor(phase) % 2 == 0)
        for arm, side in (((13, 15), left), ((14, 16), ~left)):
            for index, lift in zip(arm, (0.12, 0.30)):
                xy[:, index, 1] -= lift * depth * side
    else:
        raise ValueError(exercise)
    for index, parent in FOLLOWS.items():
        xy[:, index] = xy[:, parent] + 0.01 * np.array([math.cos(index), math.sin(index)])
    xy = (xy - 0.5) * scale + 0.5 + np.array(shift)
    xy += np.random.default_rng(seed).normal(0.0, noise, xy.shape)
    visibility = np.ones((frames, NUM_LANDMARKS, 1))
    z = np.zeros((frames, NUM_LANDMARKS, 1))
    return np.concatenate([xy, z, visibility], axis=2).astype(np.float32)


def sequence(landmarks: np.ndarray, fps: float = FPS, timestamps: np.ndarray | None = None) -> PoseSequence:
    frames = len(landmarks)
    return PoseSequence(landmarks=landmarks, world_landmarks=np.zeros((frames, NUM_LANDMARKS, 3), np.float32),
                        timestamps_s=np.arange(frames) / fps if timestamps is None else timestamps,
                        fps=fps, frame_size=(640, 480))


def feed(counter: RepCounter, landmarks: np.ndarray, start_s: float = 0.0) -> list[int]:
    """The running count after each frame."""
    return [counter.update(None if np.isnan(frame[0, 0]) else frame, start_s + i / FPS)
            for i, frame in enumerate(landmarks)]


# --- a stick figure seen from the side -------------------------------------------------------

def rotate(vector: tuple[float, float], degrees: float) -> np.ndarray:
    """Rotate an image vector (y down) clockwise on screen by `degrees`."""
    a = math.radians(degrees)
    x, y = vector
    return np.array([x * math.cos(a) - y * math.sin(a), x * math.sin(a) + y * math.cos(a)])


def figure(lean_deg: float = 0.0, elbow_deg: float = 170.0, hips_up: float = 0.0, lying: bool = False) -> np.ndarray:
    """(33, 4) landmarks of a person seen from the side, facing the image's right. `lean_deg`
    tilts the torso towards the face; `elbow_deg` is the elbow's angle (upper arm hanging);
    lying: a plank with the head to the right and the hips `hips_up` torso lengths above the line."""
    points = np.full((33, 2), np.nan)
    torso = 0.2
    if lying:
        shoulder, ankle = np.array([0.7, 0.5]), np.array([0.1, 0.5])
        hip = np.array([0.5, 0.5 - hips_up * torso])
        knee = (hip + ankle) / 2
        elbow, wrist = shoulder + [0, 0.1], shoulder + [0, 0.2]
        nose, ear = shoulder + [0.08, 0.02], shoulder + [0.05, -0.02]
    else:
        hip = np.array([0.5, 0.55])
        shoulder = hip + rotate((0.0, -torso), lean_deg)
        knee, ankle = hip + [0, 0.18], hip + [0, 0.36]
        elbow = shoulder + [0, 0.1]
        forearm = rotate((0.0, 0.1), -(180 - elbow_deg))  # towards the face as it bends
        wrist = elbow + forearm
        nose, ear = shoulder + rotate((0.03, -0.07), lean_deg), shoulder + rotate((-0.01, -0.07), lean_deg)
    for index, point in ((0, nose), (7, ear), (8, ear), (11, shoulder), (12, shoulder), (13, elbow), (14, elbow),
                         (15, wrist), (16, wrist), (23, hip), (24, hip), (25, knee), (26, knee), (27, ankle), (28, ankle)):
        points[index] = point
    landmarks = np.full((33, 4), np.nan)
    present = np.isfinite(points[:, 0])
    landmarks[present, :2], landmarks[present, 2], landmarks[present, 3] = points[present], 0.0, 1.0
    return landmarks


def curl(reps: int = 4, lean_deg: float = 0.0, period_s: float = 2.0, seed: int = 0) -> PoseSequence:
    """Biceps curls: the elbow from 170° to 40° and back each period; the torso leaning `lean_deg`
    back at the top of each curl."""
    rng = np.random.default_rng(seed)
    times = np.arange(int(reps * period_s * FPS)) / FPS
    phase = (1 - np.cos(2 * np.pi * times / period_s)) / 2  # 0 straight, 1 bent
    frames = [figure(lean_deg=-lean_deg * p, elbow_deg=170 - 130 * p) for p in phase]
    landmarks = np.stack(frames) + rng.normal(0, 0.002, (len(times), 33, 4)) * [1, 1, 0, 0]
    return figure_sequence(landmarks, times)


def plank(seconds: float = 9.0, hips_up: float = 0.0, seed: int = 0) -> PoseSequence:
    rng = np.random.default_rng(seed)
    times = np.arange(int(seconds * FPS)) / FPS
    landmarks = np.stack([figure(lying=True, hips_up=hips_up) for _ in times])
    landmarks = landmarks + rng.normal(0, 0.002, landmarks.shape) * [1, 1, 0, 0]
    return figure_sequence(landmarks, times)


def figure_sequence(landmarks: np.ndarray, times: np.ndarray) -> PoseSequence:
    """`figure`s at `times`, in a square frame, without world landmarks."""
    return PoseSequence(landmarks.astype(np.float32), np.full((len(times), 33, 3), np.nan, np.float32),
                        times, FPS, (1, 1))
