"""What differs per device type: driver, identity → unique id, title, device info, platforms."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.const import CONF_HOST, CONF_PORT, Platform
from homeassistant.helpers.device_registry import DeviceInfo

from . import amtron, dctr, e3dc, pac2200
from .const import CONF_UNIT_ID, DeviceType
from .coordinator import DeviceClient
from .drivers.amtron import AmtronClient, AmtronIdentity
from .drivers.dctr import DctrClient, DctrIdentity
from .drivers.e3dc import E3dcClient, E3dcIdentity
from .drivers.modbus import DEFAULT_TIMEOUT, ModbusConnection
from .drivers.pac2200 import Pac2200Client, Pac2200Identity

PLATFORMS: dict[DeviceType, list[Platform]] = {
    DeviceType.E3DC: [Platform.BINARY_SENSOR, Platform.SENSOR],
    DeviceType.PAC2200: [Platform.SENSOR],
    DeviceType.DCTR: [Platform.BINARY_SENSOR, Platform.SENSOR],
    DeviceType.AMTRON: [
        Platform.BINARY_SENSOR,
        Platform.BUTTON,
        Platform.NUMBER,
        Platform.SELECT,
        Platform.SENSOR,
        Platform.SWITCH,
    ],
}


def create_connection(
    data: Mapping[str, Any], *, timeout: float = DEFAULT_TIMEOUT
) -> ModbusConnection:
    """Return the (not yet opened) Modbus connection an entry's data describes."""
    return ModbusConnection(
        str(data[CONF_HOST]), int(data[CONF_PORT]), int(data[CONF_UNIT_ID]), timeout=timeout
    )


def create_client(device_type: DeviceType, connection: ModbusConnection) -> DeviceClient[Any, Any]:
    """Return the driver for ``device_type`` on ``connection``."""
    match device_type:
        case DeviceType.E3DC:
            return E3dcClient(connection)
        case DeviceType.PAC2200:
            return Pac2200Client(connection)
        case DeviceType.DCTR:
            return DctrClient(connection)
        case DeviceType.AMTRON:
            return AmtronClient(connection)


def address_id(data: Mapping[str, Any]) -> str:
    """host:port:unit, the unique id of a device that reports no serial number."""
    return f"{data[CONF_HOST]}:{data[CONF_PORT]}:{data[CONF_UNIT_ID]}"


def identified_by_address(device_type: DeviceType, identity: Any, data: Mapping[str, Any]) -> bool:
    """True for a device that reports no serial number (its unique id is its address)."""
    return unique_id(device_type, identity, data) == address_id(data)


def unique_id(device_type: DeviceType, identity: Any, data: Mapping[str, Any]) -> str:
    """The config entry's unique id for an identified device."""
    match device_type:
        case DeviceType.E3DC:
            assert isinstance(identity, E3dcIdentity)
            return identity.serial or address_id(data)
        case DeviceType.PAC2200:
            assert isinstance(identity, Pac2200Identity)
            return f"pac2200_{identity.serial}" if identity.serial else address_id(data)
        case DeviceType.DCTR | DeviceType.AMTRON:
            # Neither device reports a serial number over Modbus.
            return address_id(data)


def title(device_type: DeviceType, identity: Any) -> str:
    """The default title of a new entry."""
    match device_type:
        case DeviceType.E3DC:
            assert isinstance(identity, E3dcIdentity)
            return f"E3DC {identity.model}".strip()
        case DeviceType.PAC2200:
            return "Siemens PAC2200"
        case DeviceType.DCTR:
            return "Doepke DCTR"
        case DeviceType.AMTRON:
            assert isinstance(identity, AmtronIdentity)
            return f"Mennekes Amtron {identity.model or ''}".strip()


def device_info(device_type: DeviceType, unique: str, identity: Any) -> DeviceInfo:
    """The device registry entry of an identified device."""
    match device_type:
        case DeviceType.E3DC:
            assert isinstance(identity, E3dcIdentity)
            return e3dc.device_info(unique, identity)
        case DeviceType.PAC2200:
            assert isinstance(identity, Pac2200Identity)
            return pac2200.device_info(unique, identity)
        case DeviceType.DCTR:
            assert isinstance(identity, DctrIdentity)
            return dctr.device_info(unique, identity)
        case DeviceType.AMTRON:
            assert isinstance(identity, AmtronIdentity)
            return amtron.device_info(unique, identity)
