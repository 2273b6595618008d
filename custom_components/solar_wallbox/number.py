"""Numbers of the Amtron: the charging current limit and the charger's fail-safe settings."""

from __future__ import annotations

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
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.device_registry import DeviceInfo

from .charging_entities import ChargingEntity
from .charging_manager import ChargingManager
from .const import (
    CONF_MAX_CURRENT,
    DEFAULT_MAX_CURRENT,
    DOMAIN,
    ENTITY_SETTING_SCALES,
    DeviceType,
)
from .coordinator import SolarWallboxCoordinator
from .drivers.amtron import (
    COMM_TIMEOUT_RANGE,
    HEMS_MAX_A,
    AmtronClient,
    AmtronData,
    InvalidSetting,
    InvalidTimeout,
)
from .drivers.modbus import ModbusError
from .entity import SolarWallboxEntity, add_entities

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .models import SolarWallboxConfigEntry

PARALLEL_UPDATES = 1  # one write at a time: the charger has one connection
# Written with a new fail-safe current when the charger reports no timeout (s).
DEFAULT_COMM_TIMEOUT = 60

type AmtronCoordinator = SolarWallboxCoordinator[Any, AmtronData]


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SolarWallboxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create the numbers of a wallbox entry."""
    runtime = entry.runtime_data
    if runtime.device_type is not DeviceType.AMTRON:
        return
    coordinator = runtime.coordinator
    entities: list[NumberEntity] = [
        CurrentLimitNumber(coordinator, runtime.device_info),
        FailsafeCurrentNumber(coordinator, runtime.device_info),
        CommTimeoutNumber(coordinator, runtime.device_info),
    ]
    if runtime.charging is not None:
        entities.extend(
            SettingNumber(runtime.charging, runtime.device_info, d) for d in SETTING_NUMBERS
        )
    add_entities(entry, Platform.NUMBER, async_add_entities, entities)


class AmtronNumber(SolarWallboxEntity[AmtronCoordinator], NumberEntity):
    """A number whose value is a register of the charger, written and read back."""

    _attr_mode = NumberMode.BOX
    _attr_native_step = 1

    def __init__(self, coordinator: AmtronCoordinator, device_info: DeviceInfo, key: str) -> None:
        """Bind the number to the charger."""
        super().__init__(coordinator, device_info, key)
        self._attr_translation_key = key

    @property
    def client(self) -> AmtronClient:
        """The charger's driver (its single connection)."""
        client = self.coordinator.client
        assert isinstance(client, AmtronClient)
        return client

    @property
    def data(self) -> AmtronData:
        """The latest poll."""
        return self.coordinator.data.data

    async def _write(self, write: Callable[[], Awaitable[Any]]) -> None:
        """Run a driver write; turn its errors into translated Home Assistant errors."""
        try:
            await write()
        except InvalidSetting as err:
            key = "invalid_timeout" if isinstance(err, InvalidTimeout) else "invalid_current"
            if key == "invalid_current" and err.minimum > err.maximum:
                key = "invalid_current_pause_only"
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key=key,
                translation_placeholders={
                    "value": str(err.value),
                    "minimum": str(err.minimum),
                    "maximum": str(err.maximum),
                },
            ) from err
        except ModbusError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="write_failed",
                translation_placeholders={"error": str(err)},
            ) from err
        finally:
            # Show what the charger holds now, also after a failed or partial write.
            await self.coordinator.async_refresh()


def _whole(value: float) -> int:
    if value != int(value):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="whole_number",
            translation_placeholders={"value": str(value)},
        )
    return int(value)


class CurrentLimitNumber(AmtronNumber):
    """Charging current limit (register 1000): 0 pauses, otherwise min..max A."""

    _attr_device_class = NumberDeviceClass.CURRENT
    _attr_native_unit_of_measurement = UnitOfElectricCurrent.AMPERE
    _attr_native_min_value = 0

    def __init__(self, coordinator: AmtronCoordinator, device_info: DeviceInfo) -> None:
        """Bind the limit to the charger."""
        super().__init__(coordinator, device_info, "charging_current_limit")

    @property
    def native_max_value(self) -> float:
        """The smallest known of the operator limit, the EV's maximum and the ceiling."""
        ceiling = int(
            self.coordinator.config_entry.options.get(CONF_MAX_CURRENT, DEFAULT_MAX_CURRENT)
        )
        data = self.data
        known = [ceiling, *(v for v in (data.operator_limit, data.ev_max_current) if v)]
        return float(min(known))

    @property
    def native_value(self) -> float | None:
        """The limit as read back from the charger."""
        return self.data.hems_limit

    async def async_set_native_value(self, value: float) -> None:
        """Write the limit and read it back."""
        amps = _whole(value)
        maximum = int(self.native_max_value)
        await self._write(lambda: self.client.set_current_limit(amps, max_current=maximum))


class FailsafeCurrentNumber(AmtronNumber):
    """SAFE_CURRENT (131): the current the charger falls back to without a HEMS."""

    _attr_device_class = NumberDeviceClass.CURRENT
    _attr_native_unit_of_measurement = UnitOfElectricCurrent.AMPERE
    _attr_entity_category = EntityCategory.CONFIG
    _attr_native_min_value = 0
    _attr_native_max_value = HEMS_MAX_A

    def __init__(self, coordinator: AmtronCoordinator, device_info: DeviceInfo) -> None:
        """Bind the fail-safe current to the charger."""
        super().__init__(coordinator, device_info, "failsafe_current")

    @property
    def native_value(self) -> float | None:
        """SAFE_CURRENT as read from the charger."""
        return self.data.safe_current

    async def async_set_native_value(self, value: float) -> None:
        """Write the fail-safe current (keeping the timeout)."""
        amps = _whole(value)
        timeout = self.data.comm_timeout or DEFAULT_COMM_TIMEOUT
        await self._write(lambda: self.client.set_fallback(amps, timeout))


class CommTimeoutNumber(AmtronNumber):
    """COMM_TIMEOUT (132): silence after which the fail-safe current applies."""

    _attr_device_class = NumberDeviceClass.DURATION
    _attr_native_unit_of_measurement = UnitOfTime.SECONDS
    _attr_entity_category = EntityCategory.CONFIG
    _attr_native_min_value = COMM_TIMEOUT_RANGE[0]
    _attr_native_max_value = COMM_TIMEOUT_RANGE[1]

    def __init__(self, coordinator: AmtronCoordinator, device_info: DeviceInfo) -> None:
        """Bind the communication timeout to the charger."""
        super().__init__(coordinator, device_info, "comm_timeout")

    @property
    def native_value(self) -> float | None:
        """COMM_TIMEOUT as read from the charger."""
        return self.data.comm_timeout

    async def async_set_native_value(self, value: float) -> None:
        """Write the timeout (keeping the fail-safe current)."""
        seconds = _whole(value)
        safe = self.data.safe_current if self.data.safe_current is not None else 0
        await self._write(lambda: self.client.set_fallback(safe, seconds))


@dataclass(frozen=True, kw_only=True)
class SettingDescription(NumberEntityDescription):
    """A controller setting the user changes as a number."""

    setting: str
    scale: float = 1.0  # entity value × scale = setting value


SETTING_NUMBERS: tuple[SettingDescription, ...] = (
    SettingDescription(
        key="min_current",
        setting="min_current",
        native_min_value=6,
        native_max_value=32,
        native_step=1,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        device_class=NumberDeviceClass.CURRENT,
        entity_category=EntityCategory.CONFIG,
    ),
    SettingDescription(
        key="max_current",
        setting="max_current",
        native_min_value=6,
        native_max_value=32,
        native_step=1,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        device_class=NumberDeviceClass.CURRENT,
        entity_category=EntityCategory.CONFIG,
    ),
    SettingDescription(
        key="grid_target",
        setting="grid_target",
        native_min_value=-5000,
        native_max_value=5000,
        native_step=50,
        native_unit_of_measurement=UnitOfPower.WATT,
        device_class=NumberDeviceClass.POWER,
        entity_category=EntityCategory.CONFIG,
    ),
    SettingDescription(
        key="priority_soc",
        setting="priority_soc",
        native_min_value=0,
        native_max_value=100,
        native_step=1,
        native_unit_of_measurement=PERCENTAGE,
        entity_category=EntityCategory.CONFIG,
    ),
    SettingDescription(
        key="support_soc",
        setting="support_soc",
        native_min_value=0,
        native_max_value=100,
        native_step=1,
        native_unit_of_measurement=PERCENTAGE,
        entity_category=EntityCategory.CONFIG,
    ),
    SettingDescription(
        key="session_energy_limit",
        setting="session_energy_limit",
        native_min_value=0,
        native_max_value=200,
        native_step=0.5,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        device_class=NumberDeviceClass.ENERGY,
        scale=ENTITY_SETTING_SCALES["session_energy_limit"],
    ),
)


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
        value = getattr(self.manager.settings, self.entity_description.setting)
        return float(value) / self.entity_description.scale

    async def async_set_native_value(self, value: float) -> None:
        """Change the setting."""
        setting = self.entity_description.setting
        settings = self.manager.settings
        scaled = value * self.entity_description.scale
        new: float | int = int(scaled) if setting in ("min_current", "max_current") else scaled
        low = new if setting == "min_current" else settings.min_current
        high = new if setting == "max_current" else settings.max_current
        if low > high:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="min_above_max",
                translation_placeholders={"minimum": str(low), "maximum": str(high)},
            )
        await self.manager.async_update_setting(setting, new)
