"""Solar Wallbox: PV surplus charging and installation monitoring over Modbus TCP.

Home Assistant loads this module as the integration. It imports nothing of Home Assistant
itself, so that the parts that need none (``drivers/``, ``charging/``, the measurement log
code) import without it: the simulator, the benchmark, the demo and the log command line
use them with the standard library and pymodbus only (docs/architecture.md). The entry
points below load the Home Assistant side, ``lifecycle.py``, in Home Assistant's import
executor the first time they are called; by then Home Assistant itself is loaded.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .const import DOMAIN

if TYPE_CHECKING:
    from types import ModuleType

    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.typing import ConfigType

    from .models import SolarWallboxConfigEntry


async def _lifecycle(hass: HomeAssistant) -> ModuleType:
    """lifecycle.py, imported off the event loop (cached by Python after the first call)."""
    return await hass.async_add_import_executor_job(
        importlib.import_module, f"{__name__}.lifecycle"
    )


def CONFIG_SCHEMA(config: dict[str, Any]) -> dict[str, Any]:  # noqa: N802 (HA's name)
    """Set up in the UI only: a ``solar_wallbox:`` YAML key is reported, not used."""
    # Home Assistant calls this after it has loaded its helpers: no import I/O here.
    from homeassistant.helpers import config_validation as cv  # noqa: PLC0415

    validated: dict[str, Any] = cv.config_entry_only_config_schema(DOMAIN)(config)
    return validated


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Set up the integration: register its actions."""
    result: bool = await (await _lifecycle(hass)).async_setup(hass, config)
    return result


async def async_setup_entry(hass: HomeAssistant, entry: SolarWallboxConfigEntry) -> bool:
    """Connect to the entry's device, identify it, and set up its platforms."""
    result: bool = await (await _lifecycle(hass)).async_setup_entry(hass, entry)
    return result


async def async_unload_entry(hass: HomeAssistant, entry: SolarWallboxConfigEntry) -> bool:
    """Unload the platforms and close the connection."""
    result: bool = await (await _lifecycle(hass)).async_unload_entry(hass, entry)
    return result


async def async_remove_entry(hass: HomeAssistant, entry: SolarWallboxConfigEntry) -> None:
    """Delete what the entry kept in storage (a wallbox's surplus charging memory)."""
    await (await _lifecycle(hass)).async_remove_entry(hass, entry)
