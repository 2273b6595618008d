"""What a device type is to the integration: one typed spec per module in devices/.

A spec says how to talk to the device (its driver), how to name it (unique id, title,
device info), which entities it has on which platform, and which roles it can play for
surplus charging. Everything else (setup, platforms, config flow links, the charging
manager's inputs) works from the spec, so a new device type is one new module here
(docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from homeassistant.const import CONF_HOST, CONF_PORT

from ..const import CONF_UNIT_ID, DeviceType

if TYPE_CHECKING:
    from homeassistant.const import Platform
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.device_registry import DeviceInfo
    from homeassistant.helpers.entity import Entity

    from ..coordinator import DeviceClient
    from ..drivers.modbus import ModbusConnection
    from ..models import DeviceRuntime, SolarWallboxConfigEntry


class Role(StrEnum):
    """What a device can be to a wallbox's surplus charging (an entry links one each)."""

    GRID_METER = "grid_meter"
    HOME_BATTERY = "home_battery"
    RESIDUAL_CURRENT_MONITOR = "residual_current_monitor"
    WALLBOX = "wallbox"


@dataclass(frozen=True, slots=True)
class BatteryState:
    """What the home battery role reports: W (+ charging), %, and the PV power if known."""

    power: float
    soc: float
    pv_power: float | None


def address_id(data: Mapping[str, Any]) -> str:
    """host:port:unit, the unique id of a device that reports no serial number."""
    return f"{data[CONF_HOST]}:{data[CONF_PORT]}:{data[CONF_UNIT_ID]}"


type EntityFactory[RuntimeT] = Callable[[RuntimeT], Iterable[Entity]]
type SetupHook[RuntimeT] = Callable[[HomeAssistant, SolarWallboxConfigEntry, RuntimeT], None]
type AsyncSetupHook[RuntimeT] = Callable[
    [HomeAssistant, SolarWallboxConfigEntry, RuntimeT], Awaitable[None]
]


@dataclass(frozen=True, kw_only=True)
class DeviceSpec[ClientT: DeviceClient[Any, Any], IdentityT, DataT]:
    """One device type: its driver, identity, entities and roles."""

    device_type: DeviceType
    default_unit_id: int
    client: Callable[[ModbusConnection], ClientT]
    # The unique id the identity gives (from a serial number); None: the device reports
    # none, the entry is known by its address (which Reconfigure may change).
    identity_id: Callable[[IdentityT], str | None]
    title: Callable[[IdentityT], str]
    device_info: Callable[[str, IdentityT], DeviceInfo]
    # The entities of each platform, made from the loaded device (the first poll is in).
    entities: Mapping[Platform, EntityFactory[DeviceRuntime[ClientT, IdentityT, DataT]]]
    # Roles: the grid power (W, + import) of a grid meter; the home battery's state.
    grid_power: Callable[[DataT], float | None] | None = None
    battery: Callable[[DataT], BatteryState | None] | None = None
    # Grid connection limits (charging_limits.py), optional on a grid meter or home
    # battery: A per phase L1..L3 at the grid connection (None: not in this reading), and
    # whether the inverter curtails its feed-in.
    phase_currents: Callable[[DataT], tuple[float, float, float] | None] | None = None
    curtailed: Callable[[DataT], bool | None] | None = None
    residual_current_monitor: bool = False
    wallbox: bool = False
    # Before the platforms (the charging manager), after them (the device exists in the
    # registry: the RCM monitor's events carry its id), and when the entry is deleted.
    setup: AsyncSetupHook[DeviceRuntime[ClientT, IdentityT, DataT]] | None = None
    started: SetupHook[DeviceRuntime[ClientT, IdentityT, DataT]] | None = None
    remove: Callable[[HomeAssistant, str], Awaitable[None]] | None = None

    @property
    def platforms(self) -> list[Platform]:
        """The platforms the device has entities on."""
        return sorted(self.entities)

    @property
    def roles(self) -> frozenset[Role]:
        """The roles the device can play."""
        roles = {
            Role.GRID_METER: self.grid_power is not None,
            Role.HOME_BATTERY: self.battery is not None,
            Role.RESIDUAL_CURRENT_MONITOR: self.residual_current_monitor,
            Role.WALLBOX: self.wallbox,
        }
        return frozenset(role for role, has in roles.items() if has)

    def unique_id(self, identity: IdentityT, data: Mapping[str, Any]) -> str:
        """The config entry's unique id for an identified device."""
        return self.identity_id(identity) or address_id(data)

    def identified_by_address(self, identity: IdentityT) -> bool:
        """True for a device that reports no serial number (its unique id is its address)."""
        return not self.identity_id(identity)
