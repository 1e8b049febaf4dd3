"""A loss-curve PNG drawn with Pillow (no plotting library): log-scale loss against step."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from PIL import Image, ImageDraw

from motionclip_blender.core.atomic import write_atomically

SIZE = (800, 480)
MARGIN = 60
COLOURS = [
    (31, 119, 180),
    (214, 39, 40),
    (44, 160, 44),
    (148, 103, 189),
    (255, 127, 14),
    (140, 86, 75),
    (23, 190, 207),
]


def draw_curves(steps: Sequence[int], series: Mapping[str, Sequence[float]], path: Path) -> None:
    """Plot each named series (same length as steps, NaN for missing points) on a log axis."""
    image = Image.new("RGB", SIZE, "white")
    draw = ImageDraw.Draw(image)
    values = [v for column in series.values() for v in column if math.isfinite(v) and v > 0]
    width, height = SIZE[0] - 2 * MARGIN, SIZE[1] - 2 * MARGIN
    draw.rectangle([MARGIN, MARGIN, MARGIN + width, MARGIN + height], outline="black")
    if steps and values:
        low, high = math.log10(min(values)), math.log10(max(values))
        high = high if high > low else low + 1
        first, last = min(steps), max(steps)
        span = max(last - first, 1)

        def point(step: int, value: float) -> tuple[float, float]:
            x = MARGIN + width * (step - first) / span
            y = MARGIN + height * (1 - (math.log10(value) - low) / (high - low))
            return x, y

        for decade in range(math.floor(low), math.ceil(high) + 1):
            if low <= decade <= high:
                y = point(first, 10.0**decade)[1]
                draw.line([MARGIN, y, MARGIN + width, y], fill=(225, 225, 225))
                draw.text((4, y - 6), f"1e{decade}", fill="black")
        for index, (name, column) in enumerate(series.items()):
            colour = COLOURS[index % len(COLOURS)]
            points = [
                point(s, v)
                for s, v in zip(steps, column, strict=True)
                if math.isfinite(v) and v > 0
            ]
            if len(points) > 1:
                draw.line(points, fill=colour, width=2)
            elif points:
                x, y = points[0]
                draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=colour)
            draw.text((MARGIN + 10 + 110 * index, 20), name, fill=colour)
        draw.text((MARGIN, MARGIN + height + 10), f"step {first}", fill="black")
        draw.text((MARGIN + width - 80, MARGIN + height + 10), f"step {last}", fill="black")
    write_atomically(path, lambda stream: image.save(stream, format="PNG"))
