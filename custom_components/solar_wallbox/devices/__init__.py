"""The device types, one module each (devices/spec.py says what a module provides)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.const import CONF_HOST, CONF_PORT

from ..const import CONF_UNIT_ID, DeviceType
from ..drivers.modbus import DEFAULT_TIMEOUT, ModbusConnection
from . import amtron, dctr, e3dc, pac2200
from .spec import DeviceSpec, Role

SPECS: Mapping[DeviceType, DeviceSpec[Any, Any, Any]] = {
    spec.device_type: spec for spec in (e3dc.SPEC, pac2200.SPEC, dctr.SPEC, amtron.SPEC)
}


def spec_for(device_type: str) -> DeviceSpec[Any, Any, Any]:
    """The spec of a device type (as stored in an entry's data)."""
    return SPECS[DeviceType(device_type)]


def with_role(role: Role) -> tuple[DeviceType, ...]:
    """The device types that can play ``role``."""
    return tuple(t for t, spec in SPECS.items() if role in spec.roles)


def create_connection(
    data: Mapping[str, Any], *, timeout: float = DEFAULT_TIMEOUT
) -> ModbusConnection:
    """Return the (not yet opened) Modbus connection an entry's data describes."""
    return ModbusConnection(
        str(data[CONF_HOST]), int(data[CONF_PORT]), int(data[CONF_UNIT_ID]), timeout=timeout
    )
