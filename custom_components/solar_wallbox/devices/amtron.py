"""Mennekes Amtron (ECU): device info, entity descriptions and the wallbox role.

The wallbox role brings surplus charging: the charging manager (charging_manager.py) and
its entities on the charger's device.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from homeassistant.components.binary_sensor import BinarySensorDeviceClass
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import (
    EntityCategory,
    Platform,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfPower,
    UnitOfTime,
)
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.util import dt as dt_util

from ..binary_sensor import DeviceBinarySensor
from ..button import AcknowledgeRcmButton
from ..charging_manager import ChargingManager
from ..const import DEFAULT_AMTRON_UNIT_ID, DOMAIN, DeviceType
from ..descriptions import BinarySensorDescription, SensorDescription
from ..drivers.amtron import (
    AmtronClient,
    AmtronData,
    AmtronIdentity,
    ChargePointStatus,
    VehicleState,
)
from ..number import charger_numbers, setting_numbers
from ..plan_entities import (
    ClearPlanButton,
    DepartureDateTime,
    plan_numbers,
    plan_sensors,
)
from ..select import ChargeModeSelect
from ..sensor import CHARGING_SENSORS, ChargingSensor, DeviceSensor, RfidSensor
from ..store import ChargingStore, async_load_memory
from ..switch import SurplusChargingSwitch
from .spec import DeviceSpec

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity import Entity

    from ..models import DeviceRuntime, SolarWallboxConfigEntry

    type AmtronRuntime = DeviceRuntime[AmtronClient, AmtronIdentity, AmtronData]

type AmtronSensor = SensorDescription[AmtronData]
type AmtronBinarySensor = BinarySensorDescription[AmtronData]

VEHICLE_STATES: dict[VehicleState, str] = {
    VehicleState.A: "no_vehicle",
    VehicleState.B: "connected",
    VehicleState.C: "charging",
    VehicleState.D: "charging_ventilation",
    VehicleState.E: "error",
}
# Error bits shown by their own binary sensors.
RESIDUAL_CURRENT_ERRORS = ("rcmb_triggered", "rcd_triggered")
WELD_ERRORS = ("contactor_weld",)

A = UnitOfElectricCurrent.AMPERE
W = UnitOfPower.WATT


def device_info(unique_id: str, identity: AmtronIdentity) -> DeviceInfo:
    """Describe the charger for the device registry."""
    return DeviceInfo(
        identifiers={(DOMAIN, unique_id)},
        manufacturer="Mennekes",
        model=identity.model or "AMTRON Charge Control",
        name="Amtron",
        sw_version=identity.firmware or None,
        hw_version=f"Modbus {identity.protocol_version}" if identity.protocol_version else None,
    )


def _session_start(data: AmtronData) -> datetime | None:
    """The session start as a timestamp: today, or yesterday if that time is still ahead."""
    if data.session_start is None:
        return None
    now = dt_util.now()
    start = now.replace(
        hour=data.session_start.hour,
        minute=data.session_start.minute,
        second=data.session_start.second,
        microsecond=0,
    )
    return start - timedelta(days=1) if start > now else start


def _kwh(value: int | None) -> float | None:
    return None if value is None else round(value / 1000, 3)


def _simple(
    key: str,
    value_fn: Callable[[AmtronData], Any],
    *,
    unit: str | None = None,
    device_class: SensorDeviceClass | None = None,
    state_class: SensorStateClass | None = SensorStateClass.MEASUREMENT,
    precision: int | None = 0,
    enabled: bool = True,
    category: EntityCategory | None = None,
    group: str | None = None,
    placeholders: dict[str, str] | None = None,
    translation_key: str | None = None,
) -> AmtronSensor:
    return SensorDescription(
        key=key,
        translation_key=translation_key or key,
        translation_placeholders=placeholders,
        native_unit_of_measurement=unit,
        device_class=device_class,
        state_class=state_class,
        suggested_display_precision=precision,
        entity_registry_enabled_default=enabled,
        entity_category=category,
        group=group,
        value_fn=value_fn,
    )


def _phase_fn(kind: str, phase: int) -> Callable[[AmtronData], Any]:
    def value(data: AmtronData) -> Any:
        return getattr(data, f"{kind}_l{phase}")

    return value


def _phase_sensors(
    kind: str,
    *,
    unit: str,
    device_class: SensorDeviceClass,
    precision: int,
    enabled: bool,
    group: str | None = None,
) -> tuple[AmtronSensor, ...]:
    return tuple(
        _simple(
            f"{kind}_l{phase}",
            _phase_fn(kind, phase),
            unit=unit,
            device_class=device_class,
            precision=precision,
            enabled=enabled,
            group=group,
            placeholders={"phase": f"L{phase}"},
            translation_key=f"charger_phase_{kind}",
        )
        for phase in (1, 2, 3)
    )


SENSORS: tuple[AmtronSensor, ...] = (
    SensorDescription(
        key="charge_point_status",
        translation_key="charge_point_status",
        device_class=SensorDeviceClass.ENUM,
        options=[status.name.lower() for status in ChargePointStatus],
        value_fn=lambda d: d.status.name.lower() if d.status is not None else None,
    ),
    SensorDescription(
        key="vehicle_state",
        translation_key="vehicle_state",
        device_class=SensorDeviceClass.ENUM,
        options=list(VEHICLE_STATES.values()),
        value_fn=lambda d: VEHICLE_STATES.get(d.vehicle_state) if d.vehicle_state else None,
    ),
    _simple("charging_power", lambda d: d.power, unit=W, device_class=SensorDeviceClass.POWER),
    *_phase_sensors(
        "power", unit=W, device_class=SensorDeviceClass.POWER, precision=0, enabled=False
    ),
    *_phase_sensors(
        "current", unit=A, device_class=SensorDeviceClass.CURRENT, precision=1, enabled=True
    ),
    *_phase_sensors(
        "voltage",
        unit=UnitOfElectricPotential.VOLT,
        device_class=SensorDeviceClass.VOLTAGE,
        precision=0,
        enabled=False,
        group="voltages",
    ),
    _simple("active_phases", lambda d: d.active_phases, precision=None),
    _simple(
        "charger_energy",
        lambda d: _kwh(d.energy_total),
        unit=UnitOfEnergy.KILO_WATT_HOUR,
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        precision=2,
    ),
    _simple(
        "session_energy",
        lambda d: _kwh(d.session_energy),
        unit=UnitOfEnergy.KILO_WATT_HOUR,
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        precision=2,
    ),
    _simple(
        "session_duration",
        lambda d: d.session_duration,
        unit=UnitOfTime.SECONDS,
        device_class=SensorDeviceClass.DURATION,
        state_class=None,
        precision=0,
    ),
    _simple(
        "session_start",
        _session_start,
        device_class=SensorDeviceClass.TIMESTAMP,
        state_class=None,
        precision=None,
    ),
    _simple(
        "signalled_current",
        lambda d: d.signalled_current,
        unit=A,
        device_class=SensorDeviceClass.CURRENT,
    ),
    _simple(
        "ev_max_current",
        lambda d: d.ev_max_current,
        unit=A,
        device_class=SensorDeviceClass.CURRENT,
        category=EntityCategory.DIAGNOSTIC,
    ),
    _simple(
        "operator_limit",
        lambda d: d.operator_limit,
        unit=A,
        device_class=SensorDeviceClass.CURRENT,
        category=EntityCategory.DIAGNOSTIC,
    ),
    _simple(
        "device_min_current",
        lambda d: d.min_current,
        unit=A,
        device_class=SensorDeviceClass.CURRENT,
        category=EntityCategory.DIAGNOSTIC,
        enabled=False,
    ),
    _simple(
        "evccid",
        lambda d: d.evccid,
        state_class=None,
        precision=None,
        category=EntityCategory.DIAGNOSTIC,
        enabled=False,
        group="evccid",
    ),
)


def _has_error(names: tuple[str, ...]) -> Callable[[AmtronData], bool]:
    def value(data: AmtronData) -> bool:
        return any(name in data.errors for name in names)

    return value


BINARY_SENSORS: tuple[AmtronBinarySensor, ...] = (
    BinarySensorDescription(
        key="car_connected",
        translation_key="car_connected",
        device_class=BinarySensorDeviceClass.PLUG,
        value_fn=lambda d: d.car_connected if d.vehicle_state else None,
    ),
    BinarySensorDescription(
        key="charging",
        translation_key="charging",
        device_class=BinarySensorDeviceClass.BATTERY_CHARGING,
        value_fn=lambda d: d.charging,
    ),
    BinarySensorDescription(
        key="plug_locked",
        translation_key="plug_locked",
        value_fn=lambda d: d.plug_locked,
        group="model",
    ),
    BinarySensorDescription(
        key="charger_problem",
        translation_key="charger_problem",
        device_class=BinarySensorDeviceClass.PROBLEM,
        value_fn=lambda d: bool(d.errors),
        attrs_fn=lambda d: {"errors": list(d.errors)},
    ),
    BinarySensorDescription(
        key="residual_current_triggered",
        translation_key="residual_current_triggered",
        device_class=BinarySensorDeviceClass.PROBLEM,
        value_fn=_has_error(RESIDUAL_CURRENT_ERRORS),
    ),
    BinarySensorDescription(
        key="contactor_weld",
        translation_key="contactor_weld",
        device_class=BinarySensorDeviceClass.PROBLEM,
        value_fn=_has_error(WELD_ERRORS),
    ),
)


def sensor_descriptions(identity: AmtronIdentity) -> tuple[AmtronSensor, ...]:
    """The sensors the charger's firmware supports."""
    return tuple(d for d in SENSORS if d.group not in identity.unsupported)


def binary_sensor_descriptions(identity: AmtronIdentity) -> tuple[AmtronBinarySensor, ...]:
    """The binary sensors the charger's firmware supports."""
    return tuple(d for d in BINARY_SENSORS if d.group not in identity.unsupported)


def _sensors(device: AmtronRuntime) -> Iterable[Entity]:
    for description in sensor_descriptions(device.identity):
        yield DeviceSensor(device.coordinator, device.device_info, description)
    yield RfidSensor(device.coordinator, device.device_info, device.coordinator.config_entry)
    if device.charging is not None:
        for charging in CHARGING_SENSORS:
            yield ChargingSensor(device.charging, device.device_info, charging)
        yield from plan_sensors(device.charging, device.device_info)


def _binary_sensors(device: AmtronRuntime) -> Iterable[Entity]:
    for description in binary_sensor_descriptions(device.identity):
        yield DeviceBinarySensor(device.coordinator, device.device_info, description)


def _numbers(device: AmtronRuntime) -> Iterable[Entity]:
    yield from charger_numbers(device.coordinator, device.client, device.device_info)
    if device.charging is not None:
        yield from setting_numbers(device.charging, device.device_info)
        yield from plan_numbers(device.charging, device.device_info)


def _buttons(device: AmtronRuntime) -> Iterable[Entity]:
    if device.charging is not None:
        yield AcknowledgeRcmButton(device.charging, device.device_info)
        yield ClearPlanButton(device.charging, device.device_info)


def _charging(
    make: Callable[[ChargingManager, DeviceInfo], Entity],
) -> Callable[[AmtronRuntime], Iterable[Entity]]:
    """One entity of surplus charging (there is none while the manager is missing)."""

    def entities(device: AmtronRuntime) -> Iterable[Entity]:
        return (make(device.charging, device.device_info),) if device.charging else ()

    return entities


async def _async_start_charging(
    hass: HomeAssistant, entry: SolarWallboxConfigEntry, device: AmtronRuntime
) -> None:
    """The charging manager, from its memory (store.py), before any platform loads.

    So the RCM lockout is in place before the first decision, whichever entities are
    enabled and whatever loads first.
    """
    store = ChargingStore(hass, entry.entry_id)
    loaded = await async_load_memory(hass, entry, store)
    device.charging = ChargingManager(hass, entry, device, store, loaded.memory)
    device.charging.start()


async def _async_remove(hass: HomeAssistant, entry_id: str) -> None:
    """Delete the surplus charging memory of a deleted entry."""
    await ChargingStore(hass, entry_id).async_remove()


SPEC = DeviceSpec[AmtronClient, AmtronIdentity, AmtronData](
    device_type=DeviceType.AMTRON,
    default_unit_id=DEFAULT_AMTRON_UNIT_ID,
    client=AmtronClient,
    identity_id=lambda identity: None,  # no serial number over Modbus
    title=lambda identity: f"Mennekes Amtron {identity.model or ''}".strip(),
    device_info=device_info,
    entities={
        Platform.BINARY_SENSOR: _binary_sensors,
        Platform.BUTTON: _buttons,
        Platform.DATETIME: _charging(DepartureDateTime),
        Platform.NUMBER: _numbers,
        Platform.SELECT: _charging(ChargeModeSelect),
        Platform.SENSOR: _sensors,
        Platform.SWITCH: _charging(SurplusChargingSwitch),
    },
    wallbox=True,
    setup=_async_start_charging,
    remove=_async_remove,
)
