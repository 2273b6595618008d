"""Sensors of every Solar Wallbox device."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import PERCENTAGE, Platform, UnitOfEnergy, UnitOfPower, UnitOfTime
from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.typing import StateType

from .charging.model import Reason
from .charging_entities import ChargingEntity
from .charging_manager import ChargingManager
from .const import ENERGY_MAX_GAP_INTERVALS
from .coordinator import SolarWallboxCoordinator
from .descriptions import EnergySensorDescription, SensorDescription
from .energy import CounterGuard, EnergyIntegrator
from .entity import SolarWallboxEntity, platform_setup

if TYPE_CHECKING:
    from .models import SolarWallboxConfigEntry

PARALLEL_UPDATES = 0

type Coordinator = SolarWallboxCoordinator[Any, Any]


async_setup_entry = platform_setup(Platform.SENSOR)


class DeviceSensor(SolarWallboxEntity[Coordinator], SensorEntity):
    """A sensor computed from the latest poll."""

    entity_description: SensorDescription[Any]

    def __init__(
        self,
        coordinator: Coordinator,
        device_info: DeviceInfo,
        description: SensorDescription[Any],
    ) -> None:
        """Bind ``description`` to the device."""
        super().__init__(coordinator, device_info, description.key)
        self.entity_description = description
        # Device energy counters pass a plausibility guard before they reach statistics.
        self._guard = (
            CounterGuard() if description.state_class is SensorStateClass.TOTAL_INCREASING else None
        )
        self._guarded: float | None = None
        self._guarded_reading: object = None

    @property
    def native_value(self) -> StateType | datetime:
        """Return the value from the latest poll."""
        reading = self.coordinator.data
        value = self.entity_description.value_fn(reading.data)
        if self._guard is None or not isinstance(value, (int, float)):
            return value  # not a counter, or not available now
        if reading is not self._guarded_reading:  # once per reading
            self._guarded_reading = reading
            self._guarded = self._guard.check(reading.measured_at.timestamp(), float(value))
        return self._guarded

    @property
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        """Return extra attributes, if the description has any."""
        if self.entity_description.attrs_fn is None:
            return None
        return self.entity_description.attrs_fn(self.coordinator.data.data)


class EnergySensor(SolarWallboxEntity[Coordinator], RestoreSensor):
    """Energy (kWh) integrated from a power value of each poll, restored after restarts."""

    entity_description: EnergySensorDescription[Any]

    def __init__(
        self,
        coordinator: Coordinator,
        device_info: DeviceInfo,
        description: EnergySensorDescription[Any],
    ) -> None:
        """Bind ``description`` to the device."""
        super().__init__(coordinator, device_info, description.key)
        self.entity_description = description
        self._integrator = EnergyIntegrator(
            max_gap_s=ENERGY_MAX_GAP_INTERVALS * coordinator.scan_interval
        )

    async def async_added_to_hass(self) -> None:
        """Restore the total and take the current reading as the first sample."""
        await super().async_added_to_hass()
        last = await self.async_get_last_sensor_data()
        if last is not None and isinstance(last.native_value, (int, float)):
            self._integrator.total_kwh = max(0.0, float(last.native_value))
        self._add_sample()

    def _add_sample(self) -> None:
        if not self.coordinator.last_update_success:
            return
        reading = self.coordinator.data
        self._integrator.add(
            reading.measured_at.timestamp(), self.entity_description.power_fn(reading.data)
        )

    @callback
    def _handle_coordinator_update(self) -> None:
        self._add_sample()
        super()._handle_coordinator_update()

    @property
    def native_value(self) -> float:
        """Return the integrated energy in kWh."""
        return round(self._integrator.total_kwh, 6)


@dataclass(frozen=True, kw_only=True)
class ChargingSensorDescription(SensorEntityDescription):
    """A sensor computed from the surplus charging manager."""

    value_fn: Callable[[ChargingManager], StateType]
    attrs_fn: Callable[[ChargingManager], dict[str, Any]] | None = None


def _decision_value(name: str) -> Callable[[ChargingManager], StateType]:
    def value(manager: ChargingManager) -> StateType:
        decision = manager.decision
        result: StateType = getattr(decision, name) if decision is not None else None
        return round(result) if isinstance(result, float) else result

    return value


def _reason(manager: ChargingManager) -> str:
    if not manager.enabled:
        return SURPLUS_OFF
    return manager.decision.reason.value if manager.decision else SURPLUS_OFF


def _solar_share(manager: ChargingManager) -> float | None:
    data = manager.coordinator.data.data if manager.coordinator.data else None
    session = data.session_energy if data else None
    if not session:
        return None
    return round(min(100.0, 100.0 * manager.session_solar_energy / session), 1)


def _thresholds(manager: ChargingManager) -> dict[str, Any]:
    decision = manager.decision
    return {
        "min_power": decision.min_power if decision else None,
        "start_energy": round(decision.start_energy, 1) if decision else None,
        "stop_energy": round(decision.stop_energy, 1) if decision else None,
        "start_threshold": manager.settings.start_energy,
        "stop_threshold": round(manager.controller.stop_threshold, 1),
        "phases": decision.phases if decision else None,
        # The grid connection's caps (A; None: no fuse or no phase currents, not dimmed).
        "fuse_cap": decision.fuse_cap if decision else None,
        "dimming_cap": decision.dimming_cap if decision else None,
    }


SURPLUS_OFF = "surplus_off"
CHARGING_SENSORS: tuple[ChargingSensorDescription, ...] = (
    ChargingSensorDescription(
        key="decision_reason",
        translation_key="decision_reason",
        device_class=SensorDeviceClass.ENUM,
        options=[SURPLUS_OFF, *(reason.value for reason in Reason)],
        value_fn=_reason,
        attrs_fn=_thresholds,
    ),
    ChargingSensorDescription(
        key="available_power",
        translation_key="available_power",
        native_unit_of_measurement=UnitOfPower.WATT,
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=_decision_value("available_power"),
    ),
    ChargingSensorDescription(
        key="charging_countdown",
        translation_key="charging_countdown",
        native_unit_of_measurement=UnitOfTime.SECONDS,
        device_class=SensorDeviceClass.DURATION,
        # Shown as minutes ("20.4 min", not "1,224 s"); users may pick another unit.
        suggested_unit_of_measurement=UnitOfTime.MINUTES,
        suggested_display_precision=1,
        value_fn=_decision_value("countdown"),
    ),
    ChargingSensorDescription(
        key="starts_today",
        translation_key="starts_today",
        state_class=SensorStateClass.TOTAL,
        value_fn=lambda m: m.controller.starts_today,
    ),
    ChargingSensorDescription(
        key="session_solar_energy",
        translation_key="session_solar_energy",
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL,
        suggested_display_precision=2,
        value_fn=lambda m: round(m.session_solar_energy / 1000, 4),
    ),
    ChargingSensorDescription(
        key="solar_share",
        translation_key="solar_share",
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        value_fn=_solar_share,
    ),
    ChargingSensorDescription(
        key="active_vehicle",
        translation_key="active_vehicle",
        value_fn=_decision_value("vehicle"),
    ),
)


class ChargingSensor(ChargingEntity, SensorEntity):
    """A sensor of the surplus controller's state."""

    entity_description: ChargingSensorDescription

    def __init__(
        self,
        manager: ChargingManager,
        device_info: DeviceInfo,
        description: ChargingSensorDescription,
    ) -> None:
        """Bind ``description`` to the manager."""
        super().__init__(manager, device_info, description.key)
        self.entity_description = description

    @property
    def native_value(self) -> StateType:
        """Return the value from the latest decision."""
        return self.entity_description.value_fn(self.manager)

    @property
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        """Return extra attributes, if the description has any."""
        if self.entity_description.attrs_fn is None:
            return None
        return self.entity_description.attrs_fn(self.manager)


class RfidSensor(SolarWallboxEntity[Coordinator], SensorEntity):
    """The session's RFID tag, shown as the vehicle's name when a profile has it."""

    _attr_translation_key = "rfid_tag"

    def __init__(
        self, coordinator: Coordinator, device_info: DeviceInfo, entry: SolarWallboxConfigEntry
    ) -> None:
        """Bind the sensor to the charger; vehicle names come from the entry's options."""
        super().__init__(coordinator, device_info, "rfid_tag")
        self._entry = entry

    @property
    def _tag(self) -> str | None:
        tag: str | None = self.coordinator.data.data.rfid_tag
        return tag

    @property
    def native_value(self) -> str | None:
        """The vehicle's name, or the raw tag for a tag without a profile."""
        tag = self._tag
        if tag is None:
            return None
        manager = self._entry.runtime_data.charging
        profile = manager.settings.profile_for(tag) if manager else None
        return profile.name if profile else tag

    @property
    def extra_state_attributes(self) -> Mapping[str, Any]:
        """The raw tag."""
        return {"tag": self._tag}
