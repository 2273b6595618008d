"""Actions of departure plans: ``solar_wallbox.set_plan`` and ``solar_wallbox.clear_plan``.

Both take the wallbox as ``device_id``; ``set_plan`` sets the one-off plan (departure and
a target: SoC % or energy kWh) exactly as the Departure and target entities do (README.md,
"Departure plans"). Mistakes are translated ``ServiceValidationError``s.
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import TYPE_CHECKING, Final

import voluptuous as vol
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr

from .const import DOMAIN, SERVICE_CLEAR_PLAN, SERVICE_SET_PLAN
from .plan_entities import async_set_departure, checked_departure

if TYPE_CHECKING:
    from .charging_manager import ChargingManager

ATTR_DEVICE_ID: Final = "device_id"
ATTR_DEPARTURE: Final = "departure"
ATTR_TARGET_SOC: Final = "target_soc"
ATTR_TARGET_ENERGY: Final = "target_energy"

SET_PLAN_SCHEMA: Final = vol.Schema(
    {
        vol.Required(ATTR_DEVICE_ID): cv.string,
        vol.Required(ATTR_DEPARTURE): cv.datetime,
        vol.Optional(ATTR_TARGET_SOC): vol.All(vol.Coerce(float), vol.Range(min=1, max=100)),
        vol.Optional(ATTR_TARGET_ENERGY): vol.All(vol.Coerce(float), vol.Range(min=0.1, max=200)),
    }
)
CLEAR_PLAN_SCHEMA: Final = vol.Schema({vol.Required(ATTR_DEVICE_ID): cv.string})


def _manager(hass: HomeAssistant, device_id: str) -> ChargingManager:
    """The charging manager of the wallbox ``device_id`` (translated error otherwise)."""
    device = dr.async_get(hass).async_get(device_id)
    for entry_id in device.config_entries if device else ():
        entry = hass.config_entries.async_get_entry(entry_id)
        if entry is None or entry.domain != DOMAIN:
            continue
        runtime = getattr(entry, "runtime_data", None)
        manager = getattr(runtime, "charging", None)
        if manager is not None:
            return manager  # type: ignore[no-any-return]
    raise ServiceValidationError(translation_domain=DOMAIN, translation_key="plan_not_a_wallbox")


async def _async_set_plan(hass: HomeAssistant, call: ServiceCall) -> None:
    manager = _manager(hass, call.data[ATTR_DEVICE_ID])
    soc = call.data.get(ATTR_TARGET_SOC)
    energy = call.data.get(ATTR_TARGET_ENERGY)
    if soc is None and energy is None:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="plan_no_target")
    battery = manager.vehicle_battery()
    if soc is not None and energy is None and not (battery.soc_entity and battery.capacity_wh):
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="plan_soc_without_entity"
        )
    memory = dataclasses.replace(
        manager.plans.memory,
        departure=checked_departure(manager, call.data[ATTR_DEPARTURE]),
        target_soc=soc,
        target_energy=energy * 1000 if energy is not None else None,
    )
    await manager.async_set_plan(memory)


async def _async_clear_plan(hass: HomeAssistant, call: ServiceCall) -> None:
    await async_set_departure(_manager(hass, call.data[ATTR_DEVICE_ID]), None)


def async_setup_plan_services(hass: HomeAssistant) -> None:
    """Register the plan actions (from ``async_setup``)."""
    hass.services.async_register(
        DOMAIN, SERVICE_SET_PLAN, partial(_async_set_plan, hass), schema=SET_PLAN_SCHEMA
    )
    hass.services.async_register(
        DOMAIN, SERVICE_CLEAR_PLAN, partial(_async_clear_plan, hass), schema=CLEAR_PLAN_SCHEMA
    )
