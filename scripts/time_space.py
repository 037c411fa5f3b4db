"""Draw a clip's time-space images and a contact sheet, to count its repetitions by eye.

A time-space image takes one column (or row) of pixels through the moving body part from every
frame and stacks them left to right: time runs left to right (ticks every second, labels every
5 s), so each repetition shows as one wave. The contact sheet is a grid of small frames taken
every `--step` seconds, each with its time written on it, to check what the waves are.

    python scripts/time_space.py ../shared/data/videos/squat/clip.mp4 --out /tmp/counts \\
        --columns 0.35 0.5 0.65 --rows 0.3 --step 0.5

Writes `<stem>_ts.png` (one strip per column/row, labelled) and `<stem>_sheet.png` into `--out`.
Frames are decoded upright with their true timestamps by wpa.media.video.read_frames. The images are
for looking at; keep them outside the repository (they are cut from data we may not commit).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from wpa.errors import VideoError
from wpa.media.video import read_frames

DECODE_MAX_SIDE_PX = 480  # enough to see a limb; keeps decoding cheap on long clips
STRIP_HEIGHT_PX = 220
LABEL_HEIGHT_PX = 14
TICK_COLOUR = (255, 0, 0)


@dataclass(frozen=True)
class Cut:
    """One line of pixels through every frame: a column at `fraction` of the width, or a row at
    `fraction` of the height."""

    axis: str  # "column" or "row"
    fraction: float

    def take(self, rgb: np.ndarray) -> np.ndarray:
        """The line of pixels (N, 3) this cut takes from one upright frame."""
        height, width = rgb.shape[:2]
        if self.axis == "column":
            return rgb[:, min(width - 1, int(self.fraction * width))]
        return rgb[min(height - 1, int(self.fraction * height)), :]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("clip", type=Path, help="a video or GIF")
    parser.add_argument("--out", type=Path, required=True, help="folder for the PNGs (outside the repo)")
    parser.add_argument("--columns", type=float, nargs="*", default=[0.35, 0.5, 0.65],
                        help="columns as fractions of the upright width")
    parser.add_argument("--rows", type=float, nargs="*", default=[], help="rows as fractions of the height")
    parser.add_argument("--step", type=float, default=0.5, help="seconds between contact-sheet frames")
    parser.add_argument("--px-per-s", type=float, default=40.0, help="time-space image width per second")
    parser.add_argument("--sheet-cols", type=int, default=8, help="frames per contact-sheet row")
    parser.add_argument("--start", type=float, default=0.0, help="seconds: first moment drawn")
    parser.add_argument("--end", type=float, default=float("inf"), help="seconds: last moment drawn")
    parser.add_argument("--crop", type=float, nargs=4, metavar=("LEFT", "TOP", "RIGHT", "BOTTOM"),
                        help="look only at this part of the frame (fractions 0-1), e.g. a small figure; "
                             "--columns and --rows are then fractions of the crop")
    return parser.parse_args()


def crop(rgb: np.ndarray, box: tuple[float, float, float, float] | None) -> np.ndarray:
    """The part of an upright frame inside `box` (left, top, right, bottom as fractions), or all of it."""
    if box is None:
        return rgb
    height, width = rgb.shape[:2]
    left, top, right, bottom = box
    return rgb[int(top * height):max(int(top * height) + 1, int(bottom * height)),
               int(left * width):max(int(left * width) + 1, int(right * width))]


def collect(clip: Path, cuts: list[Cut], step_s: float, start_s: float, end_s: float,
            box: tuple[float, float, float, float] | None = None
            ) -> tuple[np.ndarray, list[list[np.ndarray]], list[tuple[float, np.ndarray]]]:
    """Decode the clip once: frame times, each cut's lines, and the contact-sheet frames."""
    times: list[float] = []
    lines: list[list[np.ndarray]] = [[] for _ in cuts]
    sheet: list[tuple[float, np.ndarray]] = []
    next_sheet_s = start_s
    for frame in read_frames(clip, max_side=DECODE_MAX_SIDE_PX, threads=1):
        if frame.timestamp_s < start_s:
            continue
        if frame.timestamp_s > end_s:
            break
        rgb = crop(frame.rgb, box)
        times.append(frame.timestamp_s)
        for cut, store in zip(cuts, lines):
            store.append(cut.take(rgb))
        if frame.timestamp_s >= next_sheet_s - 1e-6:
            sheet.append((frame.timestamp_s, rgb))
            next_sheet_s += step_s
    return np.asarray(times), lines, sheet


def strip(times: np.ndarray, lines: list[np.ndarray], px_per_s: float, start_s: float) -> Image.Image:
    """One time-space strip: the lines placed at their true times, ticks every second."""
    stack = np.stack(lines, axis=1)  # (N, T, 3): the line runs down, time runs right
    width = max(1, int(np.ceil((times[-1] - start_s) * px_per_s)) + 1)
    columns = np.clip(((times - start_s) * px_per_s).astype(int), 0, width - 1)
    # each output column shows the last frame at or before its time: uneven frame times stay true
    source = np.searchsorted(columns, np.arange(width), side="right") - 1
    image = Image.fromarray(np.ascontiguousarray(stack[:, np.clip(source, 0, len(times) - 1)]))
    image = image.resize((width, STRIP_HEIGHT_PX))
    draw = ImageDraw.Draw(image)
    for second in range(int(np.ceil(start_s)), int(times[-1]) + 1):
        x = int((second - start_s) * px_per_s)
        tall = second % 5 == 0
        draw.line([(x, 0), (x, 14 if tall else 7)], fill=TICK_COLOUR, width=2 if tall else 1)
        draw.line([(x, STRIP_HEIGHT_PX - (14 if tall else 7)), (x, STRIP_HEIGHT_PX)], fill=TICK_COLOUR)
        if tall:
            draw.text((x + 3, 2), f"{second}s", fill=TICK_COLOUR)
    return image


def time_space_image(times: np.ndarray, cuts: list[Cut], lines: list[list[np.ndarray]],
                     px_per_s: float, start_s: float) -> Image.Image:
    """All strips of one clip, one under the other, each under a label naming its cut."""
    strips = [strip(times, store, px_per_s, start_s) for store in lines]
    width = max(s.width for s in strips)
    canvas = Image.new("RGB", (width, len(strips) * (STRIP_HEIGHT_PX + LABEL_HEIGHT_PX)), "white")
    draw = ImageDraw.Draw(canvas)
    for index, (cut, image) in enumerate(zip(cuts, strips)):
        top = index * (STRIP_HEIGHT_PX + LABEL_HEIGHT_PX)
        draw.text((2, top), f"{cut.axis} at {cut.fraction:.2f}", fill=(0, 0, 0))
        canvas.paste(image, (0, top + LABEL_HEIGHT_PX))
    return canvas


def contact_sheet(sheet: list[tuple[float, np.ndarray]], per_row: int, cuts: list[Cut]) -> Image.Image:
    """A grid of small frames, each with its time, and the cuts drawn as thin lines on it."""
    thumbs = []
    for time_s, rgb in sheet:
        thumb = Image.fromarray(rgb)
        thumb.thumbnail((160, 160))
        draw = ImageDraw.Draw(thumb)
        for cut in cuts:
            if cut.axis == "column":
                x = int(cut.fraction * thumb.width)
                draw.line([(x, 0), (x, thumb.height)], fill=(255, 255, 0))
            else:
                y = int(cut.fraction * thumb.height)
                draw.line([(0, y), (thumb.width, y)], fill=(255, 255, 0))
        draw.rectangle([0, 0, 44, 12], fill=(0, 0, 0))
        draw.text((2, 0), f"{time_s:.1f}s", fill=(255, 255, 255))
        thumbs.append(thumb)
    cell_w = max(t.width for t in thumbs)
    cell_h = max(t.height for t in thumbs)
    rows = -(-len(thumbs) // per_row)
    canvas = Image.new("RGB", (per_row * cell_w, rows * cell_h), "white")
    for index, thumb in enumerate(thumbs):
        canvas.paste(thumb, ((index % per_row) * cell_w, (index // per_row) * cell_h))
    return canvas


def main() -> None:
    args = parse_args()
    if not args.clip.is_file():
        raise SystemExit(f"{args.clip}: no such file. Give the path of a video or GIF.")
    cuts = [Cut("column", f) for f in args.columns] + [Cut("row", f) for f in args.rows]
    if not cuts:
        raise SystemExit("Give at least one --columns or --rows fraction (0-1).")
    box = tuple(args.crop) if args.crop else None
    if box is not None and not (0 <= box[0] < box[2] <= 1 and 0 <= box[1] < box[3] <= 1):
        raise SystemExit("--crop wants LEFT TOP RIGHT BOTTOM as fractions with LEFT < RIGHT and TOP < BOTTOM.")
    try:
        times, lines, sheet = collect(args.clip, cuts, args.step, args.start, args.end, box)
    except VideoError as error:
        raise SystemExit(str(error)) from None
    if len(times) == 0:
        raise SystemExit(f"{args.clip}: no frames between {args.start} s and {args.end} s.")
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.clip.stem
    time_space_image(times, cuts, lines, args.px_per_s, args.start).save(args.out / f"{stem}_ts.png")
    contact_sheet(sheet, args.sheet_cols, cuts).save(args.out / f"{stem}_sheet.png")
    print(f"{stem}: {len(times)} frames, {times[-1]:.2f} s -> {args.out}/{stem}_ts.png, _sheet.png")


if __name__ == "__main__":
    main()
