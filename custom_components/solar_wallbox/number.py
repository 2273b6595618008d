"""Numbers of the Amtron: the charging current limit, the charger's fail-safe settings,
and the surplus controller's settings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
)
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    Platform,
    UnitOfElectricCurrent,
    UnitOfEnergy,
    UnitOfPower,
    UnitOfTime,
)
from homeassistant.exceptions import ServiceValidationError

from .charging_entities import ChargingEntity
from .const import CONF_MAX_CURRENT, DEFAULT_MAX_CURRENT, DOMAIN, ENTITY_SETTING_SCALES
from .coordinator import SolarWallboxCoordinator
from .drivers.amtron import COMM_TIMEOUT_RANGE, HEMS_MAX_A, AmtronClient, AmtronData
from .entity import SolarWallboxEntity, platform_setup, writes_to_device

if TYPE_CHECKING:
    from homeassistant.helpers.device_registry import DeviceInfo

    from .charging.model import Settings
    from .charging_manager import ChargingManager

PARALLEL_UPDATES = 1  # one write at a time: the charger has one connection
# Written with a new fail-safe current when the charger reports no timeout (s).
DEFAULT_COMM_TIMEOUT = 60

type AmtronCoordinator = SolarWallboxCoordinator[Any, AmtronData]

async_setup_entry = platform_setup(Platform.NUMBER)

KWH_AS_WH = ENTITY_SETTING_SCALES["session_energy_limit"]  # entity kWh, setting Wh


def _whole(value: float) -> int:
    if value != int(value):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="whole_number",
            translation_placeholders={"value": str(value)},
        )
    return int(value)


def _ceiling(options: Any, data: AmtronData) -> float:
    """The smallest known of the operator limit, the EV's maximum and the ceiling."""
    ceiling = int(options.get(CONF_MAX_CURRENT, DEFAULT_MAX_CURRENT))
    return float(min([ceiling, *(v for v in (data.operator_limit, data.ev_max_current) if v)]))


@dataclass(frozen=True, kw_only=True)
class ChargerNumberDescription(NumberEntityDescription):
    """A register of the charger: read from each poll, written and read back."""

    value_fn: Callable[[AmtronData], float | None]
    # (client, latest poll, the entry's options, the whole number) -> the write.
    set_value_fn: Callable[[AmtronClient, AmtronData, Any, int], Awaitable[Any]]
    max_value_fn: Callable[[Any, AmtronData], float] | None = None
    # Surplus charging owns this register while it is on: a hand-set value is refused.
    owned_by_surplus: bool = False


def _set_limit(client: AmtronClient, data: AmtronData, options: Any, amps: int) -> Awaitable[Any]:
    return client.set_current_limit(amps, max_current=int(_ceiling(options, data)))


def _set_safe_current(
    client: AmtronClient, data: AmtronData, options: Any, amps: int
) -> Awaitable[Any]:
    # SAFE_CURRENT and COMM_TIMEOUT are written together: keep the timeout.
    return client.set_fallback(amps, data.comm_timeout or DEFAULT_COMM_TIMEOUT)


def _set_timeout(
    client: AmtronClient, data: AmtronData, options: Any, seconds: int
) -> Awaitable[Any]:
    safe = data.safe_current if data.safe_current is not None else 0
    return client.set_fallback(safe, seconds)


CHARGER_NUMBERS: tuple[ChargerNumberDescription, ...] = (
    # Register 1000: 0 pauses, otherwise min..max A.
    ChargerNumberDescription(
        key="charging_current_limit",
        translation_key="charging_current_limit",
        device_class=NumberDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        native_min_value=0,
        native_step=1,
        mode=NumberMode.BOX,
        value_fn=lambda data: data.hems_limit,
        set_value_fn=_set_limit,
        max_value_fn=_ceiling,
        owned_by_surplus=True,
    ),
    # SAFE_CURRENT (131): the current the charger falls back to without a HEMS.
    ChargerNumberDescription(
        key="failsafe_current",
        translation_key="failsafe_current",
        device_class=NumberDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        entity_category=EntityCategory.CONFIG,
        native_min_value=0,
        native_max_value=HEMS_MAX_A,
        native_step=1,
        mode=NumberMode.BOX,
        value_fn=lambda data: data.safe_current,
        set_value_fn=_set_safe_current,
    ),
    # COMM_TIMEOUT (132): silence after which the fail-safe current applies.
    ChargerNumberDescription(
        key="comm_timeout",
        translation_key="comm_timeout",
        device_class=NumberDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        entity_category=EntityCategory.CONFIG,
        native_min_value=COMM_TIMEOUT_RANGE[0],
        native_max_value=COMM_TIMEOUT_RANGE[1],
        native_step=1,
        mode=NumberMode.BOX,
        value_fn=lambda data: data.comm_timeout,
        set_value_fn=_set_timeout,
    ),
)


def charger_numbers(
    coordinator: AmtronCoordinator, client: AmtronClient, device_info: DeviceInfo
) -> Iterable[NumberEntity]:
    """The numbers of the charger's registers."""
    for description in CHARGER_NUMBERS:
        yield ChargerNumber(coordinator, client, device_info, description)


class ChargerNumber(SolarWallboxEntity[AmtronCoordinator], NumberEntity):
    """A number whose value is a register of the charger, written and read back."""

    entity_description: ChargerNumberDescription

    def __init__(
        self,
        coordinator: AmtronCoordinator,
        client: AmtronClient,
        device_info: DeviceInfo,
        description: ChargerNumberDescription,
    ) -> None:
        """Bind ``description`` to the charger (its driver: the single connection)."""
        super().__init__(coordinator, device_info, description.key)
        self.entity_description = description
        self.client = client

    @property
    def native_max_value(self) -> float:
        """The description's maximum, or what the charger allows now."""
        if self.entity_description.max_value_fn is None:
            return super().native_max_value
        options = self.coordinator.config_entry.options
        return self.entity_description.max_value_fn(options, self.coordinator.data.data)

    @property
    def native_value(self) -> float | None:
        """The register as read back from the charger."""
        return self.entity_description.value_fn(self.coordinator.data.data)

    async def async_set_native_value(self, value: float) -> None:
        """Write the register and read it back.

        While surplus charging is on it sets the charging current itself, within seconds:
        a value set by hand would be undone at once (and look like another energy manager
        to the overwrite detection), so it is refused with the reason.
        """
        manager = self.coordinator.config_entry.runtime_data.charging
        surplus = manager if self.entity_description.owned_by_surplus else None
        if surplus is not None and surplus.enabled:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="surplus_charging_on"
            )
        whole = _whole(value)
        await self._async_write(whole)
        if surplus is not None:
            # What the charger holds now was set by the user, not by someone else.
            surplus.note_manual_limit(whole)

    @writes_to_device
    async def _async_write(self, value: int) -> None:
        await self.entity_description.set_value_fn(
            self.client, self.coordinator.data.data, self.coordinator.config_entry.options, value
        )


@dataclass(frozen=True, kw_only=True)
class SettingDescription(NumberEntityDescription):
    """A controller setting the user changes as a number (kept in the state store)."""

    value_fn: Callable[[Settings], float]
    set_value_fn: Callable[[ChargingManager, float], Awaitable[None]]


async def _set_current(manager: ChargingManager, name: str, amps: int) -> None:
    """min_current or max_current; the two stay a range."""
    settings = manager.settings
    low = amps if name == "min_current" else settings.min_current
    high = amps if name == "max_current" else settings.max_current
    if low > high:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="min_above_max",
            translation_placeholders={"minimum": str(low), "maximum": str(high)},
        )
    await manager.async_update_setting(name, amps)


SETTING_NUMBERS: tuple[SettingDescription, ...] = (
    SettingDescription(
        key="min_current",
        native_min_value=6,
        native_max_value=32,
        native_step=1,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        device_class=NumberDeviceClass.CURRENT,
        entity_category=EntityCategory.CONFIG,
        value_fn=lambda s: float(s.min_current),
        set_value_fn=lambda m, value: _set_current(m, "min_current", int(value)),
    ),
    SettingDescription(
        key="max_current",
        native_min_value=6,
        native_max_value=32,
        native_step=1,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        device_class=NumberDeviceClass.CURRENT,
        entity_category=EntityCategory.CONFIG,
        value_fn=lambda s: float(s.max_current),
        set_value_fn=lambda m, value: _set_current(m, "max_current", int(value)),
    ),
    SettingDescription(
        key="grid_target",
        native_min_value=-5000,
        native_max_value=5000,
        native_step=50,
        native_unit_of_measurement=UnitOfPower.WATT,
        device_class=NumberDeviceClass.POWER,
        entity_category=EntityCategory.CONFIG,
        value_fn=lambda s: float(s.grid_target),
        set_value_fn=lambda m, value: m.async_update_setting("grid_target", value),
    ),
    SettingDescription(
        key="priority_soc",
        native_min_value=0,
        native_max_value=100,
        native_step=1,
        native_unit_of_measurement=PERCENTAGE,
        entity_category=EntityCategory.CONFIG,
        value_fn=lambda s: float(s.priority_soc),
        set_value_fn=lambda m, value: m.async_update_setting("priority_soc", value),
    ),
    SettingDescription(
        key="support_soc",
        native_min_value=0,
        native_max_value=100,
        native_step=1,
        native_unit_of_measurement=PERCENTAGE,
        entity_category=EntityCategory.CONFIG,
        value_fn=lambda s: float(s.support_soc),
        set_value_fn=lambda m, value: m.async_update_setting("support_soc", value),
    ),
    SettingDescription(
        key="session_energy_limit",
        native_min_value=0,
        native_max_value=200,
        native_step=0.5,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        device_class=NumberDeviceClass.ENERGY,
        value_fn=lambda s: float(s.session_energy_limit) / KWH_AS_WH,
        set_value_fn=lambda m, value: m.async_update_setting(
            "session_energy_limit", value * KWH_AS_WH
        ),
    ),
)


def setting_numbers(manager: ChargingManager, device_info: DeviceInfo) -> Iterable[NumberEntity]:
    """The numbers of the surplus controller's settings."""
    for description in SETTING_NUMBERS:
        yield SettingNumber(manager, device_info, description)


class SettingNumber(ChargingEntity, NumberEntity):
    """One controller setting (kept in the state store, see store.py)."""

    entity_description: SettingDescription
    _attr_mode = NumberMode.BOX

    def __init__(
        self, manager: ChargingManager, device_info: DeviceInfo, description: SettingDescription
    ) -> None:
        """Bind the setting to the manager."""
        super().__init__(manager, device_info, description.key)
        self.entity_description = description

    @property
    def native_value(self) -> float:
        """The setting as the controller uses it."""
        return self.entity_description.value_fn(self.manager.settings)

    async def async_set_native_value(self, value: float) -> None:
        """Change the setting."""
        await self.entity_description.set_value_fn(self.manager, value)
