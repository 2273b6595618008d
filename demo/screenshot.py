"""``python -m demo.screenshot``: PNG screenshots of a running demo (what scripts/screenshot runs).

Opens the demo's Home Assistant (http://127.0.0.1:8123, logged in by the trusted network)
in headless Chromium through Playwright and saves the Solar Wallbox dashboard and the
four device pages to ``docs/screenshots/``. Playwright drives the system's Chromium
(``/usr/bin/chromium``); it downloads no browser.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Device name in the demo → file name of its page.
DEVICE_PAGES = {
    "Amtron": "device-amtron.png",
    "Doepke": "device-dctr.png",
    "E3DC": "device-e3dc.png",
    "PAC2200": "device-pac2200.png",
}
SETTLE_S = 6.0  # after the page reports ready: cards, charts and icons finish drawing


async def _ready(page: Any, text: str, timeout_s: float) -> None:
    """Wait until ``text`` is visible anywhere in the (shadow DOM) page."""
    await page.get_by_text(text, exact=False).first.wait_for(timeout=timeout_s * 1000)
    await asyncio.sleep(SETTLE_S)


async def _device_ids(page: Any) -> dict[str, str]:
    """Name → device id of the Solar Wallbox devices, from the frontend's hass object."""
    devices: dict[str, str] = await page.evaluate(
        """() => {
            const hass = document.querySelector("home-assistant").hass;
            const result = {};
            for (const device of Object.values(hass.devices)) {
                result[device.name_by_user || device.name || device.id] = device.id;
            }
            return result;
        }"""
    )
    return devices


async def take(base_url: str, out: Path, width: int, height: int, timeout_s: float) -> list[Path]:
    """Take the screenshots; return the files written."""
    async_api: Any = importlib.import_module("playwright.async_api")
    written: list[Path] = []
    async with async_api.async_playwright() as playwright:
        # Playwright gives the browser a fresh, temporary profile of its own.
        browser = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS
        )
        context = await browser.new_context(
            viewport={"width": width, "height": height},
            color_scheme="light",
            locale="en-US",
        )
        page = await context.new_page()
        await page.goto(f"{base_url}/solar-wallbox/overview", wait_until="load")
        await _ready(page, "Power flow", timeout_s)
        path = out / "dashboard.png"
        await page.screenshot(path=str(path), full_page=False)
        written.append(path)
        await page.set_viewport_size({"width": width, "height": height * 2})
        path = out / "dashboard-full.png"
        await page.screenshot(path=str(path), full_page=False)
        written.append(path)
        await page.set_viewport_size({"width": width, "height": height})
        ids = await _device_ids(page)
        for prefix, name in DEVICE_PAGES.items():
            matches = [device_id for title, device_id in ids.items() if prefix in title]
            if not matches:
                print(f"no device named like {prefix!r}: {sorted(ids)}", file=sys.stderr)
                continue
            await page.goto(f"{base_url}/config/devices/device/{matches[0]}")
            await _ready(page, "Sensors", timeout_s)
            path = out / name
            await page.screenshot(path=str(path))
            written.append(path)
        await page.goto(f"{base_url}/config/integrations/integration/solar_wallbox")
        await _ready(page, "Solar Wallbox", timeout_s)
        path = out / "integration.png"
        await page.screenshot(path=str(path))
        written.append(path)
        await browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and take the screenshots."""
    parser = argparse.ArgumentParser(prog="python -m demo.screenshot", description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8123", help="the demo's address")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per page")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    files = asyncio.run(take(args.url, args.out, args.width, args.height, args.timeout))
    for path in files:
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        print(f"{shown} ({path.stat().st_size // 1024} kB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
