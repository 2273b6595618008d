"""The wallbox's options pages of departure plans: the vehicle's battery, the plans.

Two pages (the options menu's "Departure plans"): the vehicle (battery capacity,
efficiency, SoC entities, limit and minimum SoC) and the plan (repeating weekdays and
time, its target, the PV forecast, the price sensor, fixed price, feed-in tariff, the
household load). README.md, "Departure plans", explains every field. The vehicle fields
also appear in a vehicle profile (empty: the wallbox's values).
"""

from __future__ import annotations

from typing import Any, Final, Literal

import voluptuous as vol
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    TimeSelector,
)

from .const import (
    CONF_BATTERY_CAPACITY,
    CONF_CHARGING_EFFICIENCY,
    CONF_FEED_IN_TARIFF,
    CONF_FIXED_PRICE,
    CONF_FORECAST_ENTRIES,
    CONF_LIMIT_SOC,
    CONF_LIMIT_SOC_ENTITY,
    CONF_MIN_SOC,
    CONF_PLAN_HOUSE_LOAD,
    CONF_PLAN_TARGET_ENERGY,
    CONF_PLAN_TARGET_SOC,
    CONF_PLAN_TIME,
    CONF_PLAN_WEEKDAYS,
    CONF_PRICE_ENTITY,
    CONF_VEHICLE_SOC_ENTITY,
    WEEKDAYS,
)
from .plan_sources import finite_number, price_now, prices_from_state

VEHICLE_DEFAULTS: Final[dict[str, Any]] = {
    CONF_BATTERY_CAPACITY: 0.0,
    CONF_CHARGING_EFFICIENCY: 90.0,
    CONF_LIMIT_SOC: 100.0,
    CONF_MIN_SOC: 0.0,
}
PLAN_DEFAULTS: Final[dict[str, Any]] = {
    CONF_PLAN_TARGET_SOC: 0.0,
    CONF_PLAN_TARGET_ENERGY: 0.0,
    CONF_FEED_IN_TARIFF: 0.0,
    CONF_PLAN_HOUSE_LOAD: 400.0,
}
VEHICLE_ENTITIES: Final = (CONF_VEHICLE_SOC_ENTITY, CONF_LIMIT_SOC_ENTITY)
PLAN_OPTIONAL: Final = (CONF_PLAN_TIME, CONF_PRICE_ENTITY, CONF_FIXED_PRICE)
# The option keys of both pages (a key left empty is removed from the options).
VEHICLE_KEYS: Final = (*VEHICLE_DEFAULTS, *VEHICLE_ENTITIES)
PLAN_KEYS: Final = (*PLAN_DEFAULTS, *PLAN_OPTIONAL, CONF_PLAN_WEEKDAYS, CONF_FORECAST_ENTRIES)
# Domains with a solar forecast for the Energy dashboard (the options list their entries).
FORECAST_DOMAINS: Final = ("forecast_solar", "solcast_solar", "open_meteo_solar_forecast")


def _number(
    low: float, high: float, step: float | Literal["any"], unit: str | None = None
) -> NumberSelector:
    config = NumberSelectorConfig(min=low, max=high, step=step, mode=NumberSelectorMode.BOX)
    if unit is not None:
        config["unit_of_measurement"] = unit
    return NumberSelector(config)


VEHICLE_NUMBERS: Final = {
    CONF_BATTERY_CAPACITY: _number(0, 250, 0.5, "kWh"),
    CONF_CHARGING_EFFICIENCY: _number(50, 100, 1, "%"),
    CONF_LIMIT_SOC: _number(10, 100, 1, "%"),
    CONF_MIN_SOC: _number(0, 100, 1, "%"),
}


def _suggested(values: dict[str, Any], key: str) -> dict[str, Any]:
    value = values.get(key)
    return {"suggested_value": value} if value not in (None, "", []) else {}


def vehicle_fields(values: dict[str, Any], *, optional: bool = False) -> dict[Any, Any]:
    """The vehicle's fields (``optional``: a profile's, empty = the wallbox's values)."""
    fields: dict[Any, Any] = {}
    for key, selector in VEHICLE_NUMBERS.items():
        if optional:
            fields[vol.Optional(key, description=_suggested(values, key))] = selector
        else:
            fields[vol.Required(key, default=values.get(key, VEHICLE_DEFAULTS[key]))] = selector
    fields[
        vol.Optional(
            CONF_VEHICLE_SOC_ENTITY, description=_suggested(values, CONF_VEHICLE_SOC_ENTITY)
        )
    ] = EntitySelector(EntitySelectorConfig(domain="sensor"))
    fields[
        vol.Optional(CONF_LIMIT_SOC_ENTITY, description=_suggested(values, CONF_LIMIT_SOC_ENTITY))
    ] = EntitySelector(EntitySelectorConfig(domain=["sensor", "number", "input_number"]))
    return fields


def forecast_options(hass: HomeAssistant) -> list[SelectOptionDict]:
    """The config entries that can give a solar forecast."""
    return [
        SelectOptionDict(value=entry.entry_id, label=entry.title)
        for domain in FORECAST_DOMAINS
        for entry in hass.config_entries.async_entries(domain)
    ]


def plan_fields(hass: HomeAssistant, values: dict[str, Any]) -> dict[Any, Any]:
    """The plan page's fields."""
    fields: dict[Any, Any] = {
        vol.Optional(CONF_PLAN_WEEKDAYS, default=list(values.get(CONF_PLAN_WEEKDAYS, []))): (
            SelectSelector(
                SelectSelectorConfig(
                    options=list(WEEKDAYS), multiple=True, translation_key="weekdays"
                )
            )
        ),
        vol.Optional(CONF_PLAN_TIME, description=_suggested(values, CONF_PLAN_TIME)): (
            TimeSelector()
        ),
        vol.Required(CONF_PLAN_TARGET_SOC, default=values.get(CONF_PLAN_TARGET_SOC, 0.0)): _number(
            0, 100, 1, "%"
        ),
        vol.Required(
            CONF_PLAN_TARGET_ENERGY, default=values.get(CONF_PLAN_TARGET_ENERGY, 0.0)
        ): _number(0, 150, 0.5, "kWh"),
    }
    choices = forecast_options(hass)
    known = {choice["value"] for choice in choices}
    chosen = [e for e in values.get(CONF_FORECAST_ENTRIES, []) if e in known]
    fields[vol.Optional(CONF_FORECAST_ENTRIES, default=chosen)] = SelectSelector(
        SelectSelectorConfig(options=choices, multiple=True)
    )
    fields[vol.Optional(CONF_PRICE_ENTITY, description=_suggested(values, CONF_PRICE_ENTITY))] = (
        EntitySelector(EntitySelectorConfig(domain=["sensor", "event", "input_number"]))
    )
    fields[vol.Optional(CONF_FIXED_PRICE, description=_suggested(values, CONF_FIXED_PRICE))] = (
        _number(-10, 10, "any")
    )
    fields[vol.Required(CONF_FEED_IN_TARIFF, default=values.get(CONF_FEED_IN_TARIFF, 0.0))] = (
        _number(-10, 10, "any")
    )
    fields[vol.Required(CONF_PLAN_HOUSE_LOAD, default=values.get(CONF_PLAN_HOUSE_LOAD, 400.0))] = (
        _number(0, 20000, 10, "W")
    )
    return fields


def validate_vehicle(hass: HomeAssistant, user_input: dict[str, Any]) -> dict[str, str]:
    """Translated errors of the vehicle page (or a profile's vehicle fields)."""
    errors: dict[str, str] = {}
    capacity = user_input.get(CONF_BATTERY_CAPACITY)
    if user_input.get(CONF_VEHICLE_SOC_ENTITY) and capacity is not None and not capacity:
        errors[CONF_BATTERY_CAPACITY] = "soc_needs_capacity"
    low, high = user_input.get(CONF_MIN_SOC), user_input.get(CONF_LIMIT_SOC)
    if low is not None and high is not None and float(low) >= float(high) and float(low) > 0:
        errors[CONF_MIN_SOC] = "min_soc_above_limit"
    for key in VEHICLE_ENTITIES:
        entity_id = user_input.get(key)
        state = hass.states.get(entity_id) if entity_id else None
        readable = state is not None and state.state not in (STATE_UNAVAILABLE, STATE_UNKNOWN)
        if readable and state is not None and not _is_percent(state.state):
            errors[key] = "soc_entity_not_percent"
    return errors


def _is_percent(value: str) -> bool:
    number = finite_number(value)
    return number is not None and 0 <= number <= 100


def validate_plan(hass: HomeAssistant, user_input: dict[str, Any]) -> dict[str, str]:
    """Translated errors of the plan page."""
    errors: dict[str, str] = {}
    if user_input.get(CONF_PLAN_WEEKDAYS):
        if not user_input.get(CONF_PLAN_TIME):
            errors[CONF_PLAN_TIME] = "plan_time_missing"
        if not (user_input.get(CONF_PLAN_TARGET_SOC) or user_input.get(CONF_PLAN_TARGET_ENERGY)):
            errors["base"] = "plan_target_missing"
    entity_id = user_input.get(CONF_PRICE_ENTITY)
    if entity_id and (state := hass.states.get(entity_id)) is not None:
        usable = prices_from_state(state) or price_now(state) is not None
        if not usable and state.state not in (STATE_UNAVAILABLE, STATE_UNKNOWN):
            errors[CONF_PRICE_ENTITY] = "price_entity_unusable"
    return errors


def store(current: dict[str, Any], user_input: dict[str, Any], keys: tuple[str, ...]) -> None:
    """Put one page's values into the options (empty ones removed)."""
    for key in keys:
        current.pop(key, None)
        value = user_input.get(key)
        if value not in (None, "", []):
            current[key] = value
