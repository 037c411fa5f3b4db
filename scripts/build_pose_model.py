"""Build models/pose_landmarker_full.task (and _lite) from Apache-2.0 MediaPipe TFLite models.

MediaPipe's Tasks API wants a `.task` bundle: a zip that holds a pose detector and a landmark
model, each carrying TFLite metadata that says how to normalise the input image. No PyPI wheel
ships such a bundle, and nothing may be downloaded at run time, so we build it once from the
two models that the legacy `solutions` package ships inside the `mediapipe==0.10.21` wheel:

    mediapipe/modules/pose_detection/pose_detection.tflite     -> pose_detector.tflite
    mediapipe/modules/pose_landmark/pose_landmark_full.tflite  -> pose_landmarks_detector.tflite

0.10.21's `metadata_writers` writes the NormalizationOptions metadata (later releases cannot):
the detector takes pixels in [-1, 1] (mean 127.5, std 127.5), the landmark model pixels in
[0, 1] (mean 0, std 255), and each output tensor gets one feature-output entry. Both files go
uncompressed, 64-byte aligned and with fixed timestamps into the zip, so the result is
byte-for-byte reproducible.

The lite landmark model, which Live can run for speed, is in no wheel: `--landmarks` takes it from
the npm package `@mediapipe/pose@0.5.1675469404` (Apache-2.0), whose `pose_landmark_full.tflite` is
byte for byte the wheel's, so its `pose_landmark_lite.tflite` is the lite model of the same release.

Run it with `make pose-model`, which creates a separate virtual environment holding
mediapipe==0.10.21 (it pins numpy<2 and protobuf<5, which the app itself does not want), fetches
that npm package from its registry, checks its checksum and builds both bundles.
"""

from __future__ import annotations

import argparse
import hashlib
import zipfile
from pathlib import Path

import mediapipe
from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer, writer_utils

ALIGNMENT = 64
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
MEDIAPIPE_DIR = Path(mediapipe.__file__).parent

DETECTOR = MEDIAPIPE_DIR / "modules/pose_detection/pose_detection.tflite"
FULL_LANDMARKS = MEDIAPIPE_DIR / "modules/pose_landmark/pose_landmark_full.tflite"
# The detector takes pixels in [-1, 1], the landmark model pixels in [0, 1]: (mean, std) of each.
DETECTOR_NORMALISATION = (127.5, 127.5)
LANDMARKS_NORMALISATION = (0.0, 255.0)


def add_metadata(model: bytes, name: str, mean: float, std: float) -> bytes:
    """Return `model` with image-input normalisation and one feature output per output tensor."""
    writer = metadata_writer.MetadataWriter.create(bytearray(model))
    writer.add_general_info(name, "MediaPipe BlazePose model (Apache-2.0), from mediapipe==0.10.21")
    writer.add_image_input(norm_mean=[mean], norm_std=[std])
    for _ in writer_utils.get_output_tensor_types(bytearray(model)):
        writer.add_feature_output()
    with_metadata, _ = writer.populate()
    return bytes(with_metadata)


def write_aligned_zip(files: dict[str, bytes], path: Path) -> None:
    """Store `files` uncompressed, each payload starting on an ALIGNMENT-byte boundary."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as bundle:
        for name, payload in files.items():
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 3  # unix, whatever machine builds it
            header_size = 30 + len(name.encode())  # fixed local header + file name
            offset = bundle.fp.tell()
            padding = -(offset + header_size + 4) % ALIGNMENT  # 4 = extra-field header
            info.extra = b"\xff\xff" + padding.to_bytes(2, "little") + b"\x00" * padding
            bundle.writestr(info, payload)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("models/pose_landmarker_full.task"))
    parser.add_argument("--landmarks", type=Path, default=FULL_LANDMARKS,
                        help="the landmark model's .tflite (default: the wheel's full model)")
    args = parser.parse_args()
    if mediapipe.__version__ != "0.10.21":
        raise SystemExit(f"needs mediapipe==0.10.21 (found {mediapipe.__version__}); run `make pose-model`")
    parts = {
        "pose_detector.tflite": add_metadata(DETECTOR.read_bytes(), "pose_detector.tflite", *DETECTOR_NORMALISATION),
        "pose_landmarks_detector.tflite": add_metadata(args.landmarks.read_bytes(), "pose_landmarks_detector.tflite",
                                                       *LANDMARKS_NORMALISATION),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_aligned_zip(parts, args.out)
    print(f"{args.out}  sha256 {hashlib.sha256(args.out.read_bytes()).hexdigest()}")


if __name__ == "__main__":
    main()
