"""Draw the Solar Wallbox brand icon: a sun behind a wallbox with a charging bolt.

``.venv/bin/python brand/make_icon.py`` writes ``icon.png`` (256×256) and ``icon@2x.png``
(512×512) next to this file and into ``custom_components/solar_wallbox/brand/``, where
Home Assistant 2026.3 and newer serve a custom integration's icon from.
Drawn at 4× and scaled down for smooth edges; transparent background.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
COMPONENT_BRAND = HERE.parent / "custom_components" / "solar_wallbox" / "brand"

SUN = (255, 183, 3, 255)  # amber
RAY = (255, 152, 0, 255)
BOX = (38, 70, 83, 255)  # dark slate
BOX_EDGE = (26, 50, 60, 255)
BOLT = (76, 217, 100, 255)  # green
CABLE = (38, 70, 83, 255)


def draw(size: int) -> Image.Image:
    """The icon at ``size`` × ``size`` pixels."""
    scale = 4
    n = size * scale
    image = Image.new("RGBA", (n, n), (0, 0, 0, 0))
    d = ImageDraw.Draw(image)

    def px(value: float) -> int:
        return round(value * n)

    # Sun, upper left, with rays.
    cx, cy, r = 0.34, 0.33, 0.17
    for i in range(10):
        angle = math.radians(i * 36 + 18)
        inner, outer = r + 0.04, r + 0.13
        width = 0.035
        ax, ay = cx + inner * math.cos(angle), cy + inner * math.sin(angle)
        bx, by = cx + outer * math.cos(angle), cy + outer * math.sin(angle)
        d.line([(px(ax), px(ay)), (px(bx), px(by))], fill=RAY, width=px(width))
        d.ellipse(
            [px(bx - width / 2), px(by - width / 2), px(bx + width / 2), px(by + width / 2)],
            fill=RAY,
        )
    d.ellipse([px(cx - r), px(cy - r), px(cx + r), px(cy + r)], fill=SUN)

    # Wallbox body, lower right, in front of the sun.
    left, top, right, bottom = 0.42, 0.30, 0.84, 0.92
    d.rounded_rectangle(
        [px(left - 0.02), px(top - 0.02), px(right + 0.02), px(bottom + 0.02)],
        radius=px(0.09),
        fill=(255, 255, 255, 255),
    )
    d.rounded_rectangle(
        [px(left), px(top), px(right), px(bottom)], radius=px(0.08), fill=BOX, outline=BOX_EDGE
    )
    # Charging bolt on the box.
    bolt = [
        (0.665, 0.38),
        (0.535, 0.63),
        (0.625, 0.63),
        (0.585, 0.84),
        (0.735, 0.56),
        (0.645, 0.56),
        (0.695, 0.38),
    ]
    d.polygon([(px(x), px(y)) for x, y in bolt], fill=BOLT)
    # Cable with plug, leaving the box to the left.
    d.line([(px(0.42), px(0.80)), (px(0.22), px(0.80))], fill=CABLE, width=px(0.045))
    d.line([(px(0.22), px(0.80)), (px(0.22), px(0.70))], fill=CABLE, width=px(0.045))
    d.rounded_rectangle([px(0.16), px(0.58), px(0.28), px(0.72)], radius=px(0.025), fill=CABLE)
    for x in (0.19, 0.25):
        d.line([(px(x), px(0.58)), (px(x), px(0.52))], fill=CABLE, width=px(0.022))
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    """Write both sizes here and into the integration's brand folder."""
    COMPONENT_BRAND.mkdir(exist_ok=True)
    for name, size in (("icon.png", 256), ("icon@2x.png", 512)):
        target = HERE / name
        draw(size).save(target, optimize=True)
        shutil.copyfile(target, COMPONENT_BRAND / name)


if __name__ == "__main__":
    main()
