"""Draw the app icons (static/img/icon-*.png) from the favicon's pin, with Pillow.

Run ``python -m orfi.pwa.icons`` after changing the design; the PNGs are committed.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

NAVY = (18, 50, 79, 255)
AMBER = (255, 191, 71, 255)
SUPERSAMPLE = 4


def draw_icon(size: int, *, maskable: bool = False) -> Image.Image:
    """Return the icon at ``size`` px; ``maskable`` keeps the pin in the safe zone."""
    big = size * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if maskable:
        draw.rectangle((0, 0, big, big), fill=NAVY)
        scale = 0.62  # the launcher may crop to a circle of 80 % of the width
    else:
        draw.rounded_rectangle(
            (0, 0, big - 1, big - 1), radius=big * 6 // 32, fill=NAVY
        )
        scale = 0.85
    # The favicon's pin, in its 32-unit grid: a head of radius 8 at (16, 12.8), a
    # point at (16, 27), a hole of radius 3.2.
    unit = big * scale / 32
    offset = (big - 32 * unit) / 2

    def at(x: float, y: float) -> tuple[float, float]:
        return offset + x * unit, offset + y * unit

    cx, cy = at(16, 12.8)
    radius = 8 * unit
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=AMBER)
    draw.polygon([at(8.6, 15.5), at(23.4, 15.5), at(16, 27)], fill=AMBER)
    hole = 3.2 * unit
    draw.ellipse((cx - hole, cy - hole, cx + hole, cy + hole), fill=NAVY)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    """Write the icons the manifest names."""
    folder = Path(__file__).resolve().parents[2] / "static" / "img"
    for size in (192, 512):
        draw_icon(size).save(folder / f"icon-{size}.png", optimize=True)
    draw_icon(512, maskable=True).save(folder / "icon-maskable-512.png", optimize=True)


if __name__ == "__main__":
    main()
