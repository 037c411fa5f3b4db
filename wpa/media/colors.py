"""One colour per exercise, shared by the charts and the annotated video."""

from __future__ import annotations

# Kelly's colours of maximum contrast (without white, black and grey), so neighbours differ.
PALETTE = (
    "#0067a5", "#e25822", "#008856", "#875692", "#f3c300", "#be0032", "#a1caf1", "#f38400", "#e68fac",
    "#604e97", "#8db600", "#b3446c", "#c2b280", "#882d17", "#f99379", "#dcd300", "#654522", "#2b3d26",
)
UNKNOWN_COLOR = "#9e9e9e"
NO_PERSON_COLOR = "#d0d0d0"
CUE_COLOR = (255, 220, 90)  # form cues drawn on video (RGB): amber, read on a dark band


def color_for(label: str, labels: tuple[str, ...]) -> str:
    """The hex colour of `label` among a model's `labels` (grey for unknown and no person)."""
    if label in labels:
        return PALETTE[labels.index(label) % len(PALETTE)]
    return NO_PERSON_COLOR if label == "no_person" else UNKNOWN_COLOR


def rgb(hex_color: str) -> tuple[int, int, int]:
    """'#rrggbb' as an (r, g, b) tuple."""
    value = hex_color.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)
