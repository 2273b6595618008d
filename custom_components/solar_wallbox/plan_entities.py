"""Entities of departure plans (on the wallbox device): README.md, "Departure plans".

The one-off plan: the Departure (datetime), its targets (numbers, SoC % and energy kWh) and
a button that clears it; the plan's status and figures as sensors, the slots as the
status sensor's attributes (not recorded: they change at every re-plan).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from homeassistant.components.button import ButtonEntity
from homeassistant.components.datetime import DateTimeEntity
from homeassistant.components.number import NumberEntity, NumberMode
from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
)
from homeassistant.const import PERCENTAGE, UnitOfEnergy
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from .charging.model import PlanStatus
from .charging_entities import ChargingEntity
from .charging_manager import ChargingManager
from .const import DOMAIN

MAX_DEPARTURE = timedelta(days=7)  # a departure further ahead is refused (a typo in the year)


def checked_departure(manager: ChargingManager, departure: datetime) -> datetime:
    """A departure ahead, timezone-aware (a naive time is local); refused otherwise."""
    if departure.tzinfo is None:
        departure = departure.replace(tzinfo=dt_util.get_default_time_zone())
    if departure <= manager.clock():
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="departure_in_past")
    if departure > manager.clock() + MAX_DEPARTURE:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="departure_too_far",
            translation_placeholders={"days": str(MAX_DEPARTURE.days)},
        )
    return dt_util.as_utc(departure).replace(microsecond=0)  # to the second, as shown


async def async_set_departure(manager: ChargingManager, departure: datetime | None) -> None:
    """Set (or clear, None) the one-off departure; a time not ahead is refused."""
    if departure is not None:
        departure = checked_departure(manager, departure)
    await manager.async_set_plan(dataclasses.replace(manager.plans.memory, departure=departure))


class DepartureDateTime(ChargingEntity, DateTimeEntity):
    """The one-off plan's departure (unknown: no one-off plan)."""

    def __init__(self, manager: ChargingManager, device_info: DeviceInfo) -> None:
        super().__init__(manager, device_info, "departure")

    @property
    def native_value(self) -> datetime | None:
        return self.manager.plans.memory.departure

    async def async_set_value(self, value: datetime) -> None:
        await async_set_departure(self.manager, value)


@dataclass(frozen=True, slots=True)
class _Target:
    key: str
    unit: str
    maximum: float
    step: float
    scale: float  # stored value = shown value × scale


TARGETS = (
    _Target("departure_target_soc", PERCENTAGE, 100, 1, 1.0),
    _Target("departure_target_energy", UnitOfEnergy.KILO_WATT_HOUR, 150, 0.5, 1000.0),
)


class PlanTargetNumber(ChargingEntity, NumberEntity):
    """A target of the one-off plan: SoC (with a SoC entity) or energy to add; 0 = none."""

    _attr_mode = NumberMode.BOX
    _attr_native_min_value = 0

    def __init__(self, manager: ChargingManager, device_info: DeviceInfo, target: _Target) -> None:
        super().__init__(manager, device_info, target.key)
        self._target = target
        self._attr_native_unit_of_measurement = target.unit
        self._attr_native_max_value = target.maximum
        self._attr_native_step = target.step

    @property
    def _field(self) -> str:
        return "target_soc" if self._target.key.endswith("soc") else "target_energy"

    @property
    def native_value(self) -> float:
        value: float | None = getattr(self.manager.plans.memory, self._field)
        return round((value or 0.0) / self._target.scale, 3)

    async def async_set_native_value(self, value: float) -> None:
        stored = value * self._target.scale if value > 0 else None
        memory = self.manager.plans.memory
        if self._field == "target_soc":
            memory = dataclasses.replace(memory, target_soc=stored)
        else:
            memory = dataclasses.replace(memory, target_energy=stored)
        await self.manager.async_set_plan(memory)


class ClearPlanButton(ChargingEntity, ButtonEntity):
    """Clears the one-off plan's departure (the repeating plan applies again)."""

    def __init__(self, manager: ChargingManager, device_info: DeviceInfo) -> None:
        super().__init__(manager, device_info, "clear_plan")

    async def async_press(self) -> None:
        await async_set_departure(self.manager, None)


@dataclass(frozen=True, kw_only=True)
class PlanSensorDescription(SensorEntityDescription):
    """A sensor of the departure plan."""

    value_fn: Callable[[ChargingManager], StateType | datetime]
    attrs_fn: Callable[[ChargingManager], dict[str, Any]] | None = None
    currency: bool = False


def _plan_value(fn: Callable[[Any], StateType | datetime]) -> Callable[[ChargingManager], Any]:
    def value(manager: ChargingManager) -> StateType | datetime:
        plans = manager.plans
        if plans.plan is None or plans.target is None or plans.status is PlanStatus.NONE:
            return None
        return fn(plans.plan)

    return value


def _share(plan: Any) -> float | None:
    share = plan.solar_share
    return None if share is None else round(100 * share, 0)


PLAN_SENSORS: tuple[PlanSensorDescription, ...] = (
    PlanSensorDescription(
        key="plan_status",
        translation_key="plan_status",
        device_class=SensorDeviceClass.ENUM,
        options=[status.value for status in PlanStatus],
        value_fn=lambda m: m.plans.status.value,
        attrs_fn=lambda m: m.plans.attributes(),
    ),
    PlanSensorDescription(
        key="plan_grid_energy",
        translation_key="plan_grid_energy",
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        device_class=SensorDeviceClass.ENERGY,
        suggested_display_precision=2,
        value_fn=_plan_value(lambda p: round(p.grid_wh / 1000, 3)),
    ),
    PlanSensorDescription(
        key="plan_solar_share",
        translation_key="plan_solar_share",
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        value_fn=_plan_value(_share),
    ),
    PlanSensorDescription(
        key="plan_cost",
        translation_key="plan_cost",
        device_class=SensorDeviceClass.MONETARY,
        suggested_display_precision=2,
        currency=True,
        value_fn=_plan_value(lambda p: None if p.cost is None else round(p.cost, 4)),
    ),
    PlanSensorDescription(
        key="plan_next_grid_slot",
        translation_key="plan_next_grid_slot",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda m: (
            m.plans.plan.next_grid_slot(m.clock())
            if m.plans.plan is not None and m.plans.status is not PlanStatus.NONE
            else None
        ),
    ),
    PlanSensorDescription(
        key="plan_finish",
        translation_key="plan_finish",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=_plan_value(lambda p: p.finish_at),
    ),
)


class PlanSensor(ChargingEntity, SensorEntity):
    """A sensor of the departure plan."""

    entity_description: PlanSensorDescription
    _unrecorded_attributes = frozenset({"slots", "need", "margin"})

    def __init__(
        self, manager: ChargingManager, device_info: DeviceInfo, description: PlanSensorDescription
    ) -> None:
        super().__init__(manager, device_info, description.key)
        self.entity_description = description
        if description.currency:
            self._attr_native_unit_of_measurement = manager.hass.config.currency

    @property
    def native_value(self) -> StateType | datetime:
        return self.entity_description.value_fn(self.manager)

    @property
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        if self.entity_description.attrs_fn is None:
            return None
        return self.entity_description.attrs_fn(self.manager)


def plan_sensors(manager: ChargingManager, device_info: DeviceInfo) -> Iterable[Entity]:
    for description in PLAN_SENSORS:
        yield PlanSensor(manager, device_info, description)


def plan_numbers(manager: ChargingManager, device_info: DeviceInfo) -> Iterable[Entity]:
    for target in TARGETS:
        yield PlanTargetNumber(manager, device_info, target)
