"""The brand icon: our own drawing, in the sizes Home Assistant and HACS expect."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("name", "size"), [("icon.png", 256), ("icon@2x.png", 512)])
def test_brand_icons(name: str, size: int) -> None:
    repo = ROOT / "brand" / name
    shipped = ROOT / "custom_components" / "solar_wallbox" / "brand" / name
    with Image.open(repo) as image:
        assert image.size == (size, size)
        assert image.mode == "RGBA"
        assert image.getpixel((0, 0))[3] == 0  # transparent background
    assert shipped.read_bytes() == repo.read_bytes()  # the integration ships the same file
