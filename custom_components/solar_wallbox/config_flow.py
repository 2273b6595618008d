"""Config flow: pick a device type, enter its address, identify it, create the entry."""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import re
from dataclasses import dataclass
from typing import Any

import voluptuous as vol
from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.config_entries import ConfigFlow, ConfigFlowResult, OptionsFlow
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import AbortFlow
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.selector import (
    ConfigEntrySelector,
    ConfigEntrySelectorConfig,
    EntityFilterSelectorConfig,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    TextSelector,
)

from . import devices
from .charging.model import ChargeMode, Settings, UnknownTagPolicy
from .charging_inputs import SOC_ENTITIES, SOURCE_ENTITIES
from .const import (
    CONF_BATTERY_ENTRY,
    CONF_BATTERY_POWER_ENTITY,
    CONF_BATTERY_POWER_SIGN,
    CONF_BATTERY_SOC_ENTITY,
    CONF_CURTAILMENT_ENTITY,
    CONF_DEVICE_TYPE,
    CONF_DIMMING_ENTITY,
    CONF_DIMMING_POWER,
    CONF_FUSE_CURRENT,
    CONF_FUSE_MARGIN,
    CONF_GRID_ENTRY,
    CONF_GRID_EXPORT_ENTITY,
    CONF_GRID_IMPORT_ENTITY,
    CONF_GRID_POWER_ENTITY,
    CONF_GRID_POWER_SIGN,
    CONF_MAX_CURRENT,
    CONF_PHASE_CURRENT_ENTITIES,
    CONF_PV_POWER_ENTITY,
    CONF_RCM_ENTRY,
    CONF_SCAN_INTERVAL,
    CONF_UNIT_ID,
    CONF_VEHICLES,
    DEFAULT_MAX_CURRENT,
    DEFAULT_PORT,
    DEFAULT_SCAN_INTERVAL,
    DOMAIN,
    LOGGER,
    MAX_SCAN_INTERVAL,
    MIN_SCAN_INTERVAL,
    BatterySign,
    DeviceType,
    GridSign,
)
from .devices.spec import Role, address_id
from .drivers.modbus import (
    GATEWAY_EXCEPTION_CODES,
    CannotConnect,
    ModbusError,
    ModbusExceptionResponse,
    RequestTimeout,
)
from .entity_readings import Quantity, unit_fits
from .logwriter import FILE_PREFIXES
from .plan_options import (
    PLAN_KEYS,
    VEHICLE_KEYS,
    plan_fields,
    validate_plan,
    validate_vehicle,
    vehicle_fields,
)
from .plan_options import store as store_plan_options
from .rawlog_options import RAWLOG_OPTIONS, async_validate_options, option_fields

# Time allowed for each request while identifying a device in the flow.
IDENTIFY_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class Identified:
    """What identification found out."""

    unique_id: str
    title: str


def default_options(device_type: DeviceType) -> dict[str, Any]:
    """Options of a new entry."""
    options: dict[str, Any] = {CONF_SCAN_INTERVAL: DEFAULT_SCAN_INTERVAL}
    if devices.spec_for(device_type).wallbox:
        options[CONF_MAX_CURRENT] = DEFAULT_MAX_CURRENT
    return options


def _connection_schema(device_type: DeviceType, defaults: dict[str, Any]) -> vol.Schema:
    unit_selector = NumberSelector(
        NumberSelectorConfig(min=0, max=255, step=1, mode=NumberSelectorMode.BOX)
    )
    port_selector = NumberSelector(
        NumberSelectorConfig(min=1, max=65535, step=1, mode=NumberSelectorMode.BOX)
    )
    return vol.Schema(
        {
            vol.Required(CONF_HOST, default=defaults.get(CONF_HOST, vol.UNDEFINED)): (
                TextSelector()
            ),
            vol.Required(CONF_PORT, default=defaults.get(CONF_PORT, DEFAULT_PORT)): port_selector,
            vol.Required(
                CONF_UNIT_ID,
                default=defaults.get(CONF_UNIT_ID, devices.spec_for(device_type).default_unit_id),
            ): unit_selector,
        }
    )


def _whole(value: Any, low: int, high: int) -> int | None:
    """``value`` as a whole number in low..high, or None (NaN and fractions included)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if not math.isfinite(value) or value != int(value) or not low <= value <= high:
        return None
    return int(value)


def _clean(user_input: dict[str, Any], errors: dict[str, str]) -> dict[str, Any] | None:
    """The connection fields, checked; None (and ``errors``) when one is not valid."""
    port = _whole(user_input.get(CONF_PORT), 1, 65535)
    unit = _whole(user_input.get(CONF_UNIT_ID), 0, 255)
    if port is None:
        errors[CONF_PORT] = "invalid_port"
    if unit is None:
        errors[CONF_UNIT_ID] = "invalid_unit_id"
    if port is None or unit is None:
        return None
    return {CONF_HOST: str(user_input[CONF_HOST]).strip(), CONF_PORT: port, CONF_UNIT_ID: unit}


def _not_finite(user_input: dict[str, Any], errors: dict[str, str]) -> bool:
    """Mark every number that is NaN or infinite (number selectors let them through)."""
    for key, value in user_input.items():
        if isinstance(value, float) and not math.isfinite(value):
            errors[key] = "invalid_number"
    return bool(errors)


async def identify_device(device_type: DeviceType, data: dict[str, Any]) -> Identified:
    """Connect to the device described by ``data`` and identify it (raises ModbusError)."""
    spec = devices.spec_for(device_type)
    client = spec.client(devices.create_connection(data, timeout=IDENTIFY_TIMEOUT))
    try:
        identity = await client.identify()
    finally:
        await client.connection.close()
    return Identified(unique_id=spec.unique_id(identity, data), title=spec.title(identity))


_HOST_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
# Longest vehicle name and RFID tag accepted (a tag's UID has at most 10 bytes = 20 hex
# digits; some chargers show it with separators).
MAX_NAME_LENGTH = 64
MAX_TAG_LENGTH = 64


def _valid_host(host: str) -> bool:
    """An IPv4/IPv6 address or a host name (international names in their IDNA form)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return True
    if not 0 < len(host) <= 253:
        return False
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_host.removesuffix(".").split(".")
    return len(ascii_host) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in labels)


async def _try_identify(
    device_type: DeviceType, data: dict[str, Any], errors: dict[str, str]
) -> Identified | None:
    """Identify the device; on failure put the reason into ``errors``."""
    if not _valid_host(data[CONF_HOST]):
        errors[CONF_HOST] = "invalid_host"
        return None
    try:
        return await identify_device(device_type, data)
    except RequestTimeout:
        errors["base"] = "timeout"
    except CannotConnect:
        # The charger takes one Modbus TCP client at a time: another one is the usual cause.
        wallbox = devices.spec_for(device_type).wallbox
        errors["base"] = "cannot_connect_wallbox" if wallbox else "cannot_connect"
    except ModbusExceptionResponse as err:
        gateway = err.code in GATEWAY_EXCEPTION_CODES
        errors["base"] = "gateway_error" if gateway else f"not_{device_type.value}"
    except ModbusError:
        errors["base"] = f"not_{device_type.value}"
    except Exception:
        LOGGER.exception("Unexpected error while identifying %s", data[CONF_HOST])
        errors["base"] = "unknown"
    return None


class SolarWallboxConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add one device (E3DC, ...) as a config entry."""

    VERSION = 1

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: Any) -> SolarWallboxOptionsFlow:
        """Return the options flow."""
        return SolarWallboxOptionsFlow()

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask which kind of device to add."""
        return self.async_show_menu(step_id="user", menu_options=[t.value for t in DeviceType])

    async def async_step_e3dc(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Add an E3DC S10."""
        return await self._async_step_device(DeviceType.E3DC, user_input)

    async def async_step_pac2200(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Add a Siemens PAC2200 energy meter."""
        return await self._async_step_device(DeviceType.PAC2200, user_input)

    async def async_step_dctr(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Add a Doepke DCTR residual current monitor."""
        return await self._async_step_device(DeviceType.DCTR, user_input)

    async def async_step_amtron(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Add a Mennekes Amtron wallbox."""
        return await self._async_step_device(DeviceType.AMTRON, user_input)

    async def _async_step_device(
        self, device_type: DeviceType, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None and (data := _clean(user_input, errors)) is not None:
            found = await _try_identify(device_type, data, errors)
            if found is not None:
                await self.async_set_unique_id(found.unique_id)
                existing = self.hass.config_entries.async_entry_for_domain_unique_id(
                    DOMAIN, found.unique_id
                )
                try:
                    # The entry's update listener reloads it once when the address changed
                    # (a reload here as well would reload it twice: an error from 2026.12).
                    self._abort_if_unique_id_configured(updates=data, reload_on_update=False)
                except AbortFlow as err:
                    if err.reason != "already_configured" or existing is None:
                        raise
                    # Say which entry it is (the user may have several of a kind).
                    return self.async_abort(
                        reason="already_configured_entry",
                        description_placeholders={"title": existing.title},
                    )
                return self.async_create_entry(
                    title=found.title,
                    data={CONF_DEVICE_TYPE: device_type.value, **data},
                    options=default_options(device_type),
                )
        return self.async_show_form(
            step_id=device_type.value,
            data_schema=_connection_schema(device_type, user_input or {}),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the address of a configured device (it must stay the same device)."""
        entry = self._get_reconfigure_entry()
        device_type = DeviceType(entry.data[CONF_DEVICE_TYPE])
        errors: dict[str, str] = {}
        if user_input is not None and (data := _clean(user_input, errors)) is not None:
            found = await _try_identify(device_type, data, errors)
            if found is not None:
                if found.unique_id != address_id(data):
                    # A device with a serial number must stay the same device.
                    await self.async_set_unique_id(found.unique_id)
                    self._abort_if_unique_id_mismatch(reason="wrong_device")
                # A device known by its address keeps its unique id (and so its entities).
                self.hass.config_entries.async_update_entry(entry, data={**entry.data, **data})
                return self.async_abort(reason="reconfigure_successful")
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=_connection_schema(device_type, user_input or dict(entry.data)),
            errors=errors,
        )


def _number(low: float, high: float, step: float = 1, unit: str | None = None) -> NumberSelector:
    config = NumberSelectorConfig(min=low, max=high, step=step, mode=NumberSelectorMode.BOX)
    if unit is not None:
        config["unit_of_measurement"] = unit
    return NumberSelector(config)


# Surplus charging options: key (a controller setting) → selector.
SURPLUS_NUMBERS: dict[str, NumberSelector] = {
    "voltage": _number(200, 250, 1, "V"),
    "min_charging_power": _number(0, 22000, 10, "W"),
    "battery_support_power": _number(0, 20000, 50, "W"),
    "start_energy": _number(0, 1000, 1, "Wh"),
    "stop_energy": _number(0, 1000, 1, "Wh"),
    "min_on_time": _number(0, 3600, 10, "s"),
    "min_off_time": _number(0, 3600, 10, "s"),
    "daily_start_budget": _number(1, 100, 1),
    "hysteresis": _number(0, 2000, 10, "W"),
    "stale_timeout": _number(5, 300, 1, "s"),
    "idle_current": _number(0, 32, 1, "A"),
    "initial_current": _number(0, 32, 1, "A"),
    "initial_duration": _number(0, 3600, 10, "s"),
}
# What a wallbox links, by the role the linked device plays (devices/spec.py).
LINKS: dict[str, tuple[DeviceType, ...]] = {
    CONF_GRID_ENTRY: devices.with_role(Role.GRID_METER),
    CONF_BATTERY_ENTRY: devices.with_role(Role.HOME_BATTERY),
    CONF_RCM_ENTRY: devices.with_role(Role.RESIDUAL_CURRENT_MONITOR),
}
# The sign conventions of the power entities: key → its choices (the first is the default).
SIGNS: dict[str, tuple[str, ...]] = {
    CONF_GRID_POWER_SIGN: tuple(GridSign),
    CONF_BATTERY_POWER_SIGN: tuple(BatterySign),
}
# The surplus options on three pages (26 fields in one form are too many to read): where
# the data comes from, the car, starting and stopping.
SURPLUS_PAGES: dict[str, tuple[str, ...]] = {
    "surplus": (
        CONF_GRID_ENTRY,
        CONF_GRID_POWER_ENTITY,
        CONF_GRID_POWER_SIGN,
        CONF_GRID_IMPORT_ENTITY,
        CONF_GRID_EXPORT_ENTITY,
        CONF_BATTERY_ENTRY,
        CONF_BATTERY_POWER_ENTITY,
        CONF_BATTERY_POWER_SIGN,
        CONF_BATTERY_SOC_ENTITY,
        CONF_PV_POWER_ENTITY,
        CONF_RCM_ENTRY,
    ),
    "surplus_car": (
        "phases",
        "voltage",
        "min_charging_power",
        "battery_support_power",
        "unknown_tag",
    ),
    "surplus_timing": (
        "start_energy",
        "stop_energy",
        "hysteresis",
        "min_on_time",
        "min_off_time",
        "daily_start_budget",
        "stale_timeout",
        "idle_current",
        "initial_current",
        "initial_duration",
    ),
}
# The grid connection's options (charging_limits.py): numbers, then entities by the
# domains they may be from.
GRID_NUMBERS: dict[str, NumberSelector] = {
    CONF_FUSE_CURRENT: _number(0, 400, 1, "A"),
    CONF_FUSE_MARGIN: _number(0, 50, 0.5, "A"),
    CONF_DIMMING_POWER: _number(0, 22000, 100, "W"),
}
GRID_ENTITIES: dict[str, tuple[str, ...]] = {
    CONF_PHASE_CURRENT_ENTITIES: ("sensor",),
    CONF_DIMMING_ENTITY: ("binary_sensor", "switch", "input_boolean"),
    CONF_CURTAILMENT_ENTITY: ("binary_sensor",),
}


def _entity_unit(hass: HomeAssistant, entity_id: str) -> tuple[bool, str | None]:
    """Whether ``entity_id`` exists, and its unit (from its state, else its registry entry:
    an entity that is unavailable right now keeps its unit there)."""
    state = hass.states.get(entity_id)
    unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT) if state is not None else None
    registered = er.async_get(hass).async_get(entity_id)
    if unit is None and registered is not None:
        unit = registered.unit_of_measurement
    return state is not None or registered is not None, unit


def validate_sources(hass: HomeAssistant, user_input: dict[str, Any]) -> dict[str, str]:
    """The errors of the sources page: each input from one source, complete, in its unit.

    A grid meter of ours or grid entities; one grid entity or an import/export pair (both);
    a home battery of ours or battery entities, power and state of charge together (the
    Priority and Support SoC need the state of charge); power entities in a power unit,
    the state of charge in %; no entity for two inputs.
    """
    errors: dict[str, str] = {}

    def chosen(key: str) -> str | None:
        value = user_input.get(key)
        return str(value) if value else None

    grid_entities = [
        k
        for k in (CONF_GRID_POWER_ENTITY, CONF_GRID_IMPORT_ENTITY, CONF_GRID_EXPORT_ENTITY)
        if chosen(k)
    ]
    if chosen(CONF_GRID_ENTRY) and grid_entities:
        errors[grid_entities[0]] = "grid_source_twice"
    elif chosen(CONF_GRID_POWER_ENTITY) and len(grid_entities) > 1:
        errors[grid_entities[1]] = "grid_entities_both"
    elif bool(chosen(CONF_GRID_IMPORT_ENTITY)) != bool(chosen(CONF_GRID_EXPORT_ENTITY)):
        missing = (
            CONF_GRID_EXPORT_ENTITY if chosen(CONF_GRID_IMPORT_ENTITY) else CONF_GRID_IMPORT_ENTITY
        )
        errors[missing] = "grid_pair_incomplete"
    power, soc = chosen(CONF_BATTERY_POWER_ENTITY), chosen(CONF_BATTERY_SOC_ENTITY)
    if chosen(CONF_BATTERY_ENTRY) and (power or soc):
        errors[CONF_BATTERY_POWER_ENTITY if power else CONF_BATTERY_SOC_ENTITY] = (
            "battery_source_twice"
        )
    elif bool(power) != bool(soc):
        missing = CONF_BATTERY_SOC_ENTITY if power else CONF_BATTERY_POWER_ENTITY
        errors[missing] = "battery_incomplete"
    seen: set[str] = set()
    for key in SOURCE_ENTITIES:
        entity_id = chosen(key)
        if entity_id is None or key in errors:
            continue
        exists, unit = _entity_unit(hass, entity_id)
        quantity = Quantity.SOC if key in SOC_ENTITIES else Quantity.POWER
        if entity_id in seen:
            errors[key] = "entity_used_twice"
        elif not exists:
            errors[key] = "entity_not_found"
        elif not unit_fits(quantity, unit):
            errors[key] = "not_percent_unit" if quantity is Quantity.SOC else "not_power_unit"
        seen.add(entity_id)
    return errors


# The vehicle's charge mode "follow the charge mode select" (stored as no mode).
FOLLOW_MODE = "follow"
VEHICLE_FIELDS = (
    "name",
    "tag",
    "mode",
    "min_current",
    "max_current",
    "min_charging_power",
    "session_energy_limit",
    *VEHICLE_KEYS,  # the vehicle's battery (plan_options.py); empty: the wallbox's
)


class SolarWallboxOptionsFlow(OptionsFlow):
    """Options of one device; the wallbox also has surplus charging and vehicles."""

    def __init__(self) -> None:
        """Start with nothing chosen (surplus page 1, the vehicle being changed)."""
        super().__init__()
        self._surplus: dict[str, Any] = {}
        self._editing: str | None = None

    @property
    def _device_type(self) -> DeviceType:
        return DeviceType(self.config_entry.data[CONF_DEVICE_TYPE])

    def _current(self) -> dict[str, Any]:
        return {**default_options(self._device_type), **self.config_entry.options}

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Device options, or for the wallbox a menu of the option pages."""
        if devices.spec_for(self._device_type).wallbox:
            options = ["device", "surplus", "grid_connection", "vehicle_battery", "add_vehicle"]
            if self._current().get(CONF_VEHICLES):
                options += ["edit_vehicle", "remove_vehicle"]
            return self.async_show_menu(step_id="init", menu_options=options)
        return await self.async_step_device(user_input)

    async def async_step_device(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Poll interval (and the wallbox's current ceiling)."""
        current = self._current()
        errors: dict[str, str] = {}
        rawlog = self._device_type in FILE_PREFIXES  # PAC2200, DCTR: raw measurement log
        if user_input is not None and not _not_finite(user_input, errors):
            rawlog_options: dict[str, Any] = {}
            if rawlog:
                rawlog_options, errors = await async_validate_options(self.hass, user_input)
            if not errors:
                current.update(
                    {k: int(v) for k, v in user_input.items() if k not in RAWLOG_OPTIONS}
                )
                current.update(rawlog_options)
                return self.async_create_entry(data=current)
        fields: dict[Any, Any] = {
            vol.Required(CONF_SCAN_INTERVAL, default=current[CONF_SCAN_INTERVAL]): _number(
                MIN_SCAN_INTERVAL, MAX_SCAN_INTERVAL, 1, "s"
            )
        }
        if devices.spec_for(self._device_type).wallbox:
            fields[vol.Required(CONF_MAX_CURRENT, default=current[CONF_MAX_CURRENT])] = _number(
                6, 32, 1, "A"
            )
        if rawlog:
            fields.update(option_fields(self.hass, {**current, **(user_input or {})}))
        return self.async_show_form(step_id="device", data_schema=vol.Schema(fields), errors=errors)

    async def async_step_surplus(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Surplus charging, page 1: where the data comes from (our devices or entities)."""
        errors: dict[str, str] = {}
        if user_input is not None and not _not_finite(user_input, errors):
            for key, allowed in LINKS.items():
                entry_id = user_input.get(key)
                if entry_id and not self._entry_is(entry_id, allowed):
                    errors[key] = f"wrong_{key}"
            errors.update(validate_sources(self.hass, user_input))
            if not errors:
                self._surplus = dict(user_input)
                return await self.async_step_surplus_car()
        return self.async_show_form(
            step_id="surplus",
            data_schema=self._surplus_schema(SURPLUS_PAGES["surplus"], user_input),
            errors=errors,
        )

    async def async_step_surplus_car(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Surplus charging, page 2: the car's power and unknown RFID tags."""
        errors: dict[str, str] = {}
        if user_input is not None and not _not_finite(user_input, errors):
            self._surplus.update(user_input)
            return await self.async_step_surplus_timing()
        return self.async_show_form(
            step_id="surplus_car",
            data_schema=self._surplus_schema(SURPLUS_PAGES["surplus_car"], user_input),
            errors=errors,
        )

    async def async_step_surplus_timing(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Surplus charging, page 3: when to start and stop, and the current without one."""
        errors: dict[str, str] = {}
        if user_input is not None and not _not_finite(user_input, errors):
            for key in ("idle_current", "initial_current"):
                if 0 < float(user_input.get(key, 0)) < 6:
                    errors[key] = "current_below_minimum"
            if not errors:
                current = self._current()
                for key in (*LINKS, *SOURCE_ENTITIES):
                    current.pop(key, None)  # a source left empty is removed
                chosen = {**self._surplus, **user_input}
                current.update({k: v for k, v in chosen.items() if v not in (None, "")})
                return self.async_create_entry(data=current)
        return self.async_show_form(
            step_id="surplus_timing",
            data_schema=self._surplus_schema(SURPLUS_PAGES["surplus_timing"], user_input),
            errors=errors,
        )

    def _surplus_schema(
        self, keys: tuple[str, ...], user_input: dict[str, Any] | None
    ) -> vol.Schema:
        """The fields ``keys`` of surplus charging, with the current values as defaults."""
        defaults = {**dataclasses.asdict(Settings()), **self._current(), **(user_input or {})}
        fields: dict[Any, Any] = {}
        for key in keys:
            if key in LINKS:
                fields[vol.Optional(key, description={"suggested_value": defaults.get(key)})] = (
                    ConfigEntrySelector(ConfigEntrySelectorConfig(integration=DOMAIN))
                )
            elif key in SOURCE_ENTITIES:
                device_class = (
                    SensorDeviceClass.BATTERY if key in SOC_ENTITIES else SensorDeviceClass.POWER
                )
                fields[vol.Optional(key, description={"suggested_value": defaults.get(key)})] = (
                    EntitySelector(
                        EntitySelectorConfig(
                            filter=EntityFilterSelectorConfig(
                                domain="sensor", device_class=device_class
                            )
                        )
                    )
                )
            elif key in SIGNS:
                choices = SIGNS[key]
                current = defaults.get(key)
                fields[vol.Required(key, default=current if current in choices else choices[0])] = (
                    SelectSelector(SelectSelectorConfig(options=list(choices), translation_key=key))
                )
            elif key == "phases":
                fields[vol.Required(key, default=str(defaults[key]))] = SelectSelector(
                    SelectSelectorConfig(options=["1", "3"], translation_key="phases")
                )
            elif key == "unknown_tag":
                fields[vol.Required(key, default=str(defaults[key]))] = SelectSelector(
                    SelectSelectorConfig(
                        options=[p.value for p in UnknownTagPolicy], translation_key="unknown_tag"
                    )
                )
            else:
                fields[vol.Required(key, default=defaults[key])] = SURPLUS_NUMBERS[key]
        return vol.Schema(fields)

    async def async_step_vehicle_battery(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Departure plans, page 1: the vehicle's battery and SoC entities."""
        errors: dict[str, str] = {}
        if user_input is not None and not _not_finite(user_input, errors):
            errors.update(validate_vehicle(self.hass, user_input))
            if not errors:
                self._surplus = dict(user_input)
                return await self.async_step_departure_plans()
        values = {**self._current(), **(user_input or {})}
        return self.async_show_form(
            step_id="vehicle_battery",
            data_schema=vol.Schema(vehicle_fields(values)),
            errors=errors,
        )

    async def async_step_departure_plans(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Departure plans, page 2: the repeating plan, the forecast and the prices."""
        errors: dict[str, str] = {}
        if user_input is not None and not _not_finite(user_input, errors):
            errors.update(validate_plan(self.hass, user_input))
            if not errors:
                current = self._current()
                store_plan_options(current, self._surplus, VEHICLE_KEYS)
                store_plan_options(current, user_input, PLAN_KEYS)
                return self.async_create_entry(data=current)
        values = {**self._current(), **(user_input or {})}
        return self.async_show_form(
            step_id="departure_plans",
            data_schema=vol.Schema(plan_fields(self.hass, values)),
            errors=errors,
        )

    async def async_step_grid_connection(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The grid connection: main fuse, phase currents, §14a dimming, curtailment."""
        errors: dict[str, str] = {}
        if user_input is not None and not _not_finite(user_input, errors):
            self._check_grid_connection(user_input, errors)
            if not errors:
                current = self._current()
                for key in GRID_ENTITIES:
                    current.pop(key, None)  # an entity left empty is removed
                current.update({k: float(v) for k, v in user_input.items() if k in GRID_NUMBERS})
                current.update({k: v for k, v in user_input.items() if k in GRID_ENTITIES and v})
                return self.async_create_entry(data=current)
        defaults = {**dataclasses.asdict(Settings()), **self._current(), **(user_input or {})}
        fields: dict[Any, Any] = {
            vol.Required(key, default=defaults[key]): selector
            for key, selector in GRID_NUMBERS.items()
        }
        for key, domains in GRID_ENTITIES.items():
            config = EntitySelectorConfig(domain=list(domains))
            if key == CONF_PHASE_CURRENT_ENTITIES:
                config = EntitySelectorConfig(
                    domain="sensor", device_class=SensorDeviceClass.CURRENT, multiple=True
                )
            fields[vol.Optional(key, description={"suggested_value": defaults.get(key)})] = (
                EntitySelector(config)
            )
        return self.async_show_form(
            step_id="grid_connection", data_schema=vol.Schema(fields), errors=errors
        )

    def _check_grid_connection(self, user_input: dict[str, Any], errors: dict[str, str]) -> None:
        """Translated errors: a margin that leaves no room, phase sensors that do not fit.

        The entity selectors refuse entities of other domains themselves.
        """
        fuse = float(user_input.get(CONF_FUSE_CURRENT) or 0)
        if fuse > 0 and float(user_input.get(CONF_FUSE_MARGIN) or 0) >= fuse:
            errors[CONF_FUSE_MARGIN] = "margin_not_below_fuse"
        phases = user_input.get(CONF_PHASE_CURRENT_ENTITIES) or []
        if phases:
            if len(phases) != 3 or len(set(phases)) != 3:
                errors[CONF_PHASE_CURRENT_ENTITIES] = "three_phase_entities"
            elif not all(self._is_current(entity_id) for entity_id in phases):
                errors[CONF_PHASE_CURRENT_ENTITIES] = "phase_entity_not_current"

    def _is_current(self, entity_id: str) -> bool:
        """A sensor whose unit is a current (A or mA: the controller converts)."""
        exists, unit = _entity_unit(self.hass, entity_id)
        return entity_id.startswith("sensor.") and exists and unit_fits(Quantity.CURRENT, unit)

    def _entry_is(self, entry_id: str, allowed: tuple[DeviceType, ...]) -> bool:
        entry = self.hass.config_entries.async_get_entry(entry_id)
        return (
            entry is not None
            and entry.domain == DOMAIN
            and entry.data.get(CONF_DEVICE_TYPE) in {t.value for t in allowed}
        )

    async def async_step_add_vehicle(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Add a vehicle profile, or change the one chosen in edit_vehicle (or the same tag)."""
        current = self._current()
        errors: dict[str, str] = {}
        if user_input is not None and not _not_finite(user_input, errors):
            tag = str(user_input["tag"]).strip()
            name = str(user_input["name"]).strip()
            low, high = user_input.get("min_current"), user_input.get("max_current")
            if not tag or not name:
                errors["base"] = "vehicle_incomplete"
            elif len(name) > MAX_NAME_LENGTH or not name.isprintable():
                errors["name"] = "invalid_name"
            elif len(tag) > MAX_TAG_LENGTH or not tag.isprintable():
                errors["tag"] = "invalid_tag"
            elif low and high and float(low) > float(high):
                errors["base"] = "min_above_max"
            elif battery_errors := validate_vehicle(self.hass, user_input):
                errors.update(battery_errors)
            else:
                vehicle = {k: user_input.get(k) for k in VEHICLE_FIELDS}
                vehicle["tag"] = tag
                vehicle["name"] = name
                if vehicle.get("mode") == FOLLOW_MODE:
                    vehicle["mode"] = None  # the charge mode select decides
                replaced = {tag.casefold(), str(self._editing or "").casefold()}
                others = [
                    v
                    for v in current.get(CONF_VEHICLES, [])
                    if str(v["tag"]).casefold() not in replaced
                ]
                current[CONF_VEHICLES] = [*others, vehicle]
                return self.async_create_entry(data=current)
        editing: dict[str, Any] = next(
            (v for v in current.get(CONF_VEHICLES, []) if v["tag"] == self._editing), {}
        )
        shown = {**editing, **(user_input or {})}
        if editing and not shown.get("mode"):
            shown["mode"] = FOLLOW_MODE

        def suggested(key: str) -> dict[str, Any]:
            value = shown.get(key)
            return {"suggested_value": value} if value not in (None, "") else {}

        fields = {
            vol.Required("name", description=suggested("name")): TextSelector(),
            vol.Required("tag", description=suggested("tag")): TextSelector(),
            vol.Optional("mode", description=suggested("mode")): SelectSelector(
                SelectSelectorConfig(
                    options=[FOLLOW_MODE, *(m.value for m in ChargeMode)],
                    translation_key="vehicle_mode",
                )
            ),
            vol.Optional("min_current", description=suggested("min_current")): _number(
                6, 32, 1, "A"
            ),
            vol.Optional("max_current", description=suggested("max_current")): _number(
                6, 32, 1, "A"
            ),
            vol.Optional(
                "min_charging_power", description=suggested("min_charging_power")
            ): _number(0, 22000, 10, "W"),
            vol.Optional(
                "session_energy_limit", description=suggested("session_energy_limit")
            ): _number(0, 200, 0.5, "kWh"),
            **vehicle_fields(shown, optional=True),
        }
        known = [f"{v['name']} ({v['tag']})" for v in current.get(CONF_VEHICLES, [])]
        return self.async_show_form(
            step_id="add_vehicle",
            data_schema=vol.Schema(fields),
            errors=errors,
            description_placeholders={"vehicles": ", ".join(known) or "–"},
        )

    async def async_step_edit_vehicle(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pick the vehicle profile to change; the profile form follows, filled in."""
        vehicles = self._current().get(CONF_VEHICLES, [])
        if user_input is not None:
            self._editing = str(user_input["vehicle"])
            return await self.async_step_add_vehicle()
        options = [
            SelectOptionDict(value=str(v["tag"]), label=f"{v['name']} ({v['tag']})")
            for v in vehicles
        ]
        schema = vol.Schema(
            {vol.Required("vehicle"): SelectSelector(SelectSelectorConfig(options=options))}
        )
        return self.async_show_form(step_id="edit_vehicle", data_schema=schema)

    async def async_step_remove_vehicle(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Remove vehicle profiles."""
        current = self._current()
        vehicles = current.get(CONF_VEHICLES, [])
        if user_input is not None:
            remove = set(user_input.get("vehicles", []))
            current[CONF_VEHICLES] = [v for v in vehicles if v["tag"] not in remove]
            return self.async_create_entry(data=current)
        options = [SelectOptionDict(value=v["tag"], label=v["name"]) for v in vehicles]
        schema = vol.Schema(
            {
                vol.Optional("vehicles", default=[]): SelectSelector(
                    SelectSelectorConfig(options=options, multiple=True)
                )
            }
        )
        return self.async_show_form(step_id="remove_vehicle", data_schema=schema)
