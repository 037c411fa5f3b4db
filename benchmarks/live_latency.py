"""The Live page in Chromium, measured end to end: processed frames a second, and how late each
camera frame comes back labelled.

    python -m benchmarks.live_latency [CLIP] [--size 640x480] [--fps 15] [--seconds 30]

Every frame of the fake camera's video (a real clip, looped) carries its number as a row of black
and white blocks near its bottom-right corner. In the page, two `requestVideoFrameCallback` loops
read the number back: one on the camera's own track (when the frame left the camera), one on the
video the server sends back (when the labelled frame was on screen). Latency is the difference for
the same frame; processed frames a second are the distinct frames shown back a second. Runs the
app and Chromium in a private network namespace (tests/support/namespace.py), as the browser tests do.
Prints the figures and, with --json, writes them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from playwright.sync_api import sync_playwright

from tests.support.browsers import RECORD_PEERS, launch_chromium, press_start
from tests.support.media import fake_camera_pictures, write_y4m_frames
from tests.support.namespace import bring_up_loopback, inside_namespace, rerun_in_namespace
from tests.support.servers import start_app, stop
from wpa.paths import REPO_DIR

DEFAULT_CLIP = REPO_DIR.parent / "shared" / "data" / "videos" / "squat" / "calimiro-ai__WorkoutTracker__squat_13.mp4"
BITS = 10  # frame numbers 0..1023; between a white and a black reference block
BLOCK = 24  # pixels of one block, on a 640 × 480 frame (scaled with the frame)
# The strip sits in the frame's last rows, right of the frame rate Live writes in the corner (and
# away from the caption and the form cue's band at the top): either would make it unreadable.
BOTTOM_MARGIN = 4
LOOP_S = 24.0  # the numbered camera video's length (the clip repeated)
WARM_UP_S = 6.0  # the first seconds after START (pose tracking settling, the encoder adapting) are not measured

READ_FRAMES = """async ({bits, seconds, warmUp, margin}) => {
  const output = document.querySelector("video");
  const recorded = (window.__wpaPeers || []).at(-1);
  const track = recorded.peer.getSenders().map(s => s.track).find(t => t && t.kind === "video");
  const camera = document.createElement("video");
  Object.assign(camera, {muted: true, playsInline: true, srcObject: new MediaStream([track])});
  camera.style.cssText = "position:fixed;left:0;top:0;width:64px;opacity:0.01";
  document.body.appendChild(camera);
  await camera.play();
  const canvas = document.createElement("canvas");
  canvas.width = 640; canvas.height = 480;
  const context = canvas.getContext("2d", {willReadFrequently: true});
  const block = 24, left = 640 - (bits + 2) * block - 8, top = 480 - block - margin;
  function number(video) {
    context.drawImage(video, 0, 0, 640, 480);
    const strip = context.getImageData(left, top, (bits + 2) * block, block).data;
    const level = i => {  // mean brightness of the middle of block i
      let sum = 0, count = 0;
      for (let y = block / 2 - 4; y < block / 2 + 4; y++)
        for (let x = i * block + block / 2 - 4; x < i * block + block / 2 + 4; x++) {
          const p = (y * (bits + 2) * block + x) * 4; sum += strip[p] + strip[p + 1] + strip[p + 2]; count += 3;
        }
      return sum / count;
    };
    const white = level(0), black = level(bits + 1);
    if (white - black < 80) return null;  // no strip in this frame (or too damaged to read)
    let n = 0;
    for (let i = 1; i <= bits; i++) n = n * 2 + (level(i) > (white + black) / 2 ? 1 : 0);
    return n;
  }
  const log = {camera: [], shown: []};
  const started = performance.now();
  let done = false;
  function follow(video, into) {
    const step = () => {
      const now = performance.now();
      if (now - started > warmUp * 1000) into.push([number(video), now]);
      if (!done) video.requestVideoFrameCallback(step);
    };
    video.requestVideoFrameCallback(step);
  }
  follow(camera, log.camera);
  follow(output, log.shown);
  await new Promise(resolve => setTimeout(resolve, (warmUp + seconds) * 1000));
  done = true;
  camera.remove();
  return log;
}"""


def stamp(image: np.ndarray, number: int) -> None:
    """Write `number` into the frame (640 × 480) as BITS blocks between a white and a black one."""
    height, width = image.shape[:2]
    left, top = width - (BITS + 2) * BLOCK - 8, height - BLOCK - BOTTOM_MARGIN
    bits = [1] + [(number >> (BITS - 1 - i)) & 1 for i in range(BITS)] + [0]
    for i, bit in enumerate(bits):
        image[top:top + BLOCK, left + i * BLOCK:left + (i + 1) * BLOCK] = 255 if bit else 0


def numbered_camera(clip: Path, path: Path, size: tuple[int, int], fps: int) -> Path:
    """`clip` letterboxed to `size` at `fps` as the fake camera's .y4m, each frame numbered; the clip
    repeated to at least LOOP_S, so that a frame late by seconds is still told from its next showing."""
    once = fake_camera_pictures(clip, size, fps)
    looped = once * max(1, min(2 ** BITS // len(once), int(np.ceil(LOOP_S * fps / len(once)))))
    numbered = []
    for number, picture in enumerate(looped):
        numbered.append(picture.copy())
        stamp(numbered[-1], number)
    return write_y4m_frames(numbered, path, fps)


def latencies_ms(camera: list, shown: list, fps: int) -> list[float]:
    """For each frame shown back (its first showing), the time since the camera gave it. The page
    reads the camera's own frames only as often as a busy machine lets it draw them, so a frame it
    did not read is timed from the last one it read before, the camera's pace apart (the fake
    camera plays at a steady `fps`)."""
    read = sorted((at, number) for number, at in camera if number is not None)
    firsts, last_shown = [], {}
    for number, at in shown:
        if number is None:
            continue
        if number not in last_shown or at - last_shown[number] > LOOP_S * 1000 / 2:  # not a frame shown again
            firsts.append((number, at))
        last_shown[number] = at
    result = []
    for number, at in firsts:
        earlier = [(t, n) for t, n in read if t <= at and 0 <= number - n < 2 * fps]
        if earlier:
            t, n = earlier[-1]
            given = t + (number - n) / fps * 1000
            if given <= at:
                result.append(at - given)
    return result


def shown_per_second(shown: list) -> float:
    """Distinct frames shown back a second (a repeated number is the same frame shown again)."""
    changes = [at for (number, at), (previous, _) in zip(shown[1:], shown[:-1]) if number is not None and number != previous]
    return (len(changes) - 1) / ((changes[-1] - changes[0]) / 1000) if len(changes) > 2 else 0.0


def measure(args: argparse.Namespace) -> dict:
    bring_up_loopback()
    home = Path(tempfile.mkdtemp(prefix="wpa-latency-"))
    size = tuple(int(side) for side in args.size.split("x"))
    camera = numbered_camera(args.clip, home / "camera.y4m", size, args.fps)
    process, url = start_app(home)
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright, camera=camera)
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.add_init_script(RECORD_PEERS)
            page = context.new_page()
            page.goto(f"{url}/live")
            page.get_by_role("heading", name="Live").wait_for(timeout=60_000)
            page.get_by_text("Mirror view").click()  # unmirrored: the numbers are read left to right
            page.wait_for_function("() => { const box = [...document.querySelectorAll('input[type=checkbox]')]"
                                   ".find(b => b.closest('label')?.innerText.includes('Mirror view'));"
                                   " return box && !box.checked; }", timeout=20_000)
            page.wait_for_timeout(1000)
            press_start(page)
            frame = next(f for f in page.frames if "streamlit_webrtc" in f.url)
            log = frame.evaluate(READ_FRAMES, {"bits": BITS, "seconds": args.seconds, "warmUp": WARM_UP_S,
                                                 "margin": BOTTOM_MARGIN})
            page_rate = page.get_by_text("frames classified").inner_text()
            browser.close()
    finally:
        stop(process, timeout_s=30)
        shutil.rmtree(home, ignore_errors=True)  # the numbered camera video is hundreds of MB
    latencies = latencies_ms(log["camera"], log["shown"], args.fps)
    readable_shown = [entry for entry in log["shown"] if entry[0] is not None]
    matched = len(latencies)
    return {
        "clip": args.clip.name, "size": args.size, "camera_fps": args.fps, "seconds": args.seconds,
        "camera_frames_read": len(log["camera"]), "frames_shown": len(log["shown"]),
        "frames_shown_readable": len(readable_shown),
        "processed_frames_per_second": round(shown_per_second(readable_shown), 1),
        "latency_ms_p50": round(float(np.percentile(latencies, 50)), 1) if latencies else None,
        "latency_ms_p95": round(float(np.percentile(latencies, 95)), 1) if latencies else None,
        "latency_ms_mean": round(statistics.mean(latencies), 1) if latencies else None,
        "latencies_measured": matched, "page_says": page_rate,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip", type=Path, nargs="?", default=DEFAULT_CLIP)
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--fps", type=int, default=15)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if not inside_namespace():
        return rerun_in_namespace("benchmarks.live_latency")
    started = time.monotonic()
    result = measure(args)
    result["wall_s"] = round(time.monotonic() - started, 1)
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
