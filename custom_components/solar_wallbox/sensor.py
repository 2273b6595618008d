"""Sensors of every Solar Wallbox device."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from homeassistant.components.sensor import RestoreSensor, SensorEntity
from homeassistant.core import callback
from homeassistant.helpers.typing import StateType

from . import amtron, dctr, e3dc, pac2200
from .const import ENERGY_MAX_GAP_INTERVALS, DeviceType
from .coordinator import SolarWallboxCoordinator
from .descriptions import EnergySensorDescription, SensorDescription
from .energy import EnergyIntegrator
from .entity import SolarWallboxEntity

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.device_registry import DeviceInfo
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .models import SolarWallboxConfigEntry

PARALLEL_UPDATES = 0

type Coordinator = SolarWallboxCoordinator[Any, Any]


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SolarWallboxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create the sensors of the entry's device."""
    runtime = entry.runtime_data
    coordinator = runtime.coordinator
    first = coordinator.data.data
    entities: list[SensorEntity] = []
    match runtime.device_type:
        case DeviceType.E3DC:
            entities.extend(
                DeviceSensor(coordinator, runtime.device_info, d)
                for d in e3dc.sensor_descriptions(first)
            )
            entities.extend(
                EnergySensor(coordinator, runtime.device_info, d) for d in e3dc.ENERGY_SENSORS
            )
        case DeviceType.PAC2200:
            entities.extend(
                DeviceSensor(coordinator, runtime.device_info, d)
                for d in pac2200.sensor_descriptions(first)
            )
        case DeviceType.DCTR:
            entities.extend(
                DeviceSensor(coordinator, runtime.device_info, d)
                for d in dctr.sensor_descriptions(first)
            )
        case DeviceType.AMTRON:
            entities.extend(
                DeviceSensor(coordinator, runtime.device_info, d)
                for d in amtron.sensor_descriptions(coordinator.identity)
            )
    async_add_entities(entities)


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

    @property
    def native_value(self) -> StateType | datetime:
        """Return the value from the latest poll."""
        return self.entity_description.value_fn(self.coordinator.data.data)

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
