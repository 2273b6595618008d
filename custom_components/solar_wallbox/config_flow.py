"""Config flow: pick a device type, enter its address, identify it, create the entry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import voluptuous as vol
from homeassistant.config_entries import ConfigFlow, ConfigFlowResult, OptionsFlow
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import callback
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    TextSelector,
)

from . import devices
from .const import (
    CONF_DEVICE_TYPE,
    CONF_MAX_CURRENT,
    CONF_SCAN_INTERVAL,
    CONF_UNIT_ID,
    DEFAULT_AMTRON_UNIT_ID,
    DEFAULT_MAX_CURRENT,
    DEFAULT_PORT,
    DEFAULT_SCAN_INTERVAL,
    DEFAULT_UNIT_ID,
    DOMAIN,
    LOGGER,
    MAX_SCAN_INTERVAL,
    MIN_SCAN_INTERVAL,
    DeviceType,
)
from .drivers.modbus import (
    GATEWAY_EXCEPTION_CODES,
    CannotConnect,
    ModbusError,
    ModbusExceptionResponse,
    RequestTimeout,
)

# Time allowed for each request while identifying a device in the flow.
IDENTIFY_TIMEOUT = 5.0

DEFAULT_UNIT_IDS: dict[DeviceType, int] = {
    DeviceType.E3DC: DEFAULT_UNIT_ID,
    DeviceType.PAC2200: DEFAULT_UNIT_ID,
    DeviceType.DCTR: DEFAULT_UNIT_ID,
    DeviceType.AMTRON: DEFAULT_AMTRON_UNIT_ID,
}


@dataclass(frozen=True, slots=True)
class Identified:
    """What identification found out."""

    unique_id: str
    title: str


def default_options(device_type: DeviceType) -> dict[str, Any]:
    """Options of a new entry."""
    options: dict[str, Any] = {CONF_SCAN_INTERVAL: DEFAULT_SCAN_INTERVAL}
    if device_type is DeviceType.AMTRON:
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
                default=defaults.get(CONF_UNIT_ID, DEFAULT_UNIT_IDS[device_type]),
            ): unit_selector,
        }
    )


def _clean(user_input: dict[str, Any]) -> dict[str, Any]:
    return {
        CONF_HOST: str(user_input[CONF_HOST]).strip(),
        CONF_PORT: int(user_input[CONF_PORT]),
        CONF_UNIT_ID: int(user_input[CONF_UNIT_ID]),
    }


async def identify_device(device_type: DeviceType, data: dict[str, Any]) -> Identified:
    """Connect to the device described by ``data`` and identify it (raises ModbusError)."""
    connection = devices.create_connection(data, timeout=IDENTIFY_TIMEOUT)
    try:
        identity = await devices.create_client(device_type, connection).identify()
    finally:
        await connection.close()
    return Identified(
        unique_id=devices.unique_id(device_type, identity, data),
        title=devices.title(device_type, identity),
    )


def _valid_host(host: str) -> bool:
    return 0 < len(host) <= 253 and not any(c.isspace() for c in host) and host.isprintable()


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
        errors["base"] = "cannot_connect"
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
        if user_input is not None:
            data = _clean(user_input)
            found = await _try_identify(device_type, data, errors)
            if found is not None:
                await self.async_set_unique_id(found.unique_id)
                self._abort_if_unique_id_configured(updates=data)
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
        if user_input is not None:
            data = _clean(user_input)
            found = await _try_identify(device_type, data, errors)
            if found is not None:
                await self.async_set_unique_id(found.unique_id)
                self._abort_if_unique_id_mismatch(reason="wrong_device")
                self.hass.config_entries.async_update_entry(entry, data={**entry.data, **data})
                return self.async_abort(reason="reconfigure_successful")
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=_connection_schema(device_type, user_input or dict(entry.data)),
            errors=errors,
        )


class SolarWallboxOptionsFlow(OptionsFlow):
    """Options of one device: the poll interval."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show and save the options."""
        device_type = DeviceType(self.config_entry.data[CONF_DEVICE_TYPE])
        current = {**default_options(device_type), **self.config_entry.options}
        if user_input is not None:
            options = dict(current)
            options.update({key: int(value) for key, value in user_input.items()})
            return self.async_create_entry(data=options)
        fields: dict[Any, Any] = {
            vol.Required(CONF_SCAN_INTERVAL, default=current[CONF_SCAN_INTERVAL]): NumberSelector(
                NumberSelectorConfig(
                    min=MIN_SCAN_INTERVAL,
                    max=MAX_SCAN_INTERVAL,
                    step=1,
                    mode=NumberSelectorMode.BOX,
                    unit_of_measurement="s",
                )
            )
        }
        if device_type is DeviceType.AMTRON:
            fields[vol.Required(CONF_MAX_CURRENT, default=current[CONF_MAX_CURRENT])] = (
                NumberSelector(
                    NumberSelectorConfig(
                        min=6, max=32, step=1, mode=NumberSelectorMode.BOX, unit_of_measurement="A"
                    )
                )
            )
        return self.async_show_form(step_id="init", data_schema=vol.Schema(fields))
