"""E3DC S10: device info, entity descriptions, roles (grid meter, home battery)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from homeassistant.components.binary_sensor import BinarySensorDeviceClass
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    Platform,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfPower,
)
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.typing import StateType

from ..binary_sensor import DeviceBinarySensor
from ..const import DEFAULT_UNIT_ID, DOMAIN, DeviceType
from ..descriptions import BinarySensorDescription, EnergySensorDescription, SensorDescription
from ..drivers.e3dc import (
    METER_COUNT,
    STRING_COUNT,
    E3dcClient,
    E3dcData,
    E3dcIdentity,
    EmergencyPower,
    EmsStatus,
    MeterType,
)
from ..sensor import DeviceSensor, EnergySensor
from .spec import BatteryState, DeviceSpec

if TYPE_CHECKING:
    from homeassistant.helpers.entity import Entity

    from ..models import DeviceRuntime

    type E3dcRuntime = DeviceRuntime[E3dcClient, E3dcIdentity, E3dcData]

type E3dcSensor = SensorDescription[E3dcData]


def device_info(unique_id: str, identity: E3dcIdentity) -> DeviceInfo:
    """Describe the E3DC for the device registry."""
    return DeviceInfo(
        identifiers={(DOMAIN, unique_id)},
        manufacturer=identity.manufacturer or "E3/DC",
        model=identity.model or "S10",
        name=f"E3DC {identity.model}".strip(),
        serial_number=identity.serial or None,
        sw_version=identity.firmware or None,
        hw_version=f"Modbus {identity.modbus_version}",
    )


def _power(
    key: str,
    value_fn: Callable[[E3dcData], StateType],
    *,
    enabled: bool = True,
    translation_key: str | None = None,
    placeholders: dict[str, str] | None = None,
) -> E3dcSensor:
    return SensorDescription(
        key=key,
        translation_key=translation_key or key,
        translation_placeholders=placeholders,
        native_unit_of_measurement=UnitOfPower.WATT,
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        entity_registry_enabled_default=enabled,
        value_fn=value_fn,
    )


def _percent(key: str, value_fn: Callable[[E3dcData], StateType]) -> E3dcSensor:
    return SensorDescription(
        key=key,
        translation_key=key,
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=value_fn,
    )


def _emergency_state(data: E3dcData) -> str | None:
    return data.emergency_power.name.lower() if data.emergency_power is not None else None


SENSORS: tuple[E3dcSensor, ...] = (
    _power("pv_power", lambda d: d.pv_power),
    _power("battery_power", lambda d: d.battery_power),
    _power("battery_charge_power", lambda d: max(0, d.battery_power)),
    _power("battery_discharge_power", lambda d: max(0, -d.battery_power)),
    _power("house_power", lambda d: d.house_power),
    _power("grid_power", lambda d: d.grid_power),
    _power("grid_import_power", lambda d: max(0, d.grid_power)),
    _power("grid_export_power", lambda d: max(0, -d.grid_power)),
    _power("additional_power", lambda d: d.additional_production),
    _percent("autarky", lambda d: d.autarky),
    _percent("self_consumption", lambda d: d.self_consumption),
    SensorDescription(
        key="battery_soc",
        translation_key="battery_soc",
        native_unit_of_measurement=PERCENTAGE,
        device_class=SensorDeviceClass.BATTERY,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda d: d.battery_soc,
    ),
    SensorDescription(
        key="emergency_power",
        translation_key="emergency_power",
        device_class=SensorDeviceClass.ENUM,
        options=[state.name.lower() for state in EmergencyPower],
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=_emergency_state,
    ),
)


def _string_sensors(index: int) -> tuple[E3dcSensor, ...]:
    number = {"string": str(index + 1)}
    return (
        SensorDescription(
            key=f"string_{index + 1}_voltage",
            translation_key="string_voltage",
            translation_placeholders=number,
            native_unit_of_measurement=UnitOfElectricPotential.VOLT,
            device_class=SensorDeviceClass.VOLTAGE,
            state_class=SensorStateClass.MEASUREMENT,
            suggested_display_precision=0,
            entity_registry_enabled_default=False,
            value_fn=lambda d: d.strings[index].voltage,
        ),
        SensorDescription(
            key=f"string_{index + 1}_current",
            translation_key="string_current",
            translation_placeholders=number,
            native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
            device_class=SensorDeviceClass.CURRENT,
            state_class=SensorStateClass.MEASUREMENT,
            suggested_display_precision=2,
            entity_registry_enabled_default=False,
            value_fn=lambda d: d.strings[index].current,
        ),
        _power(
            f"string_{index + 1}_power",
            lambda d: d.strings[index].power,
            translation_key="string_power",
            placeholders=number,
            enabled=index < 2,
        ),
    )


STRING_SENSORS: tuple[E3dcSensor, ...] = tuple(
    s for i in range(STRING_COUNT) for s in _string_sensors(i)
)


def _meter_sensors(index: int) -> tuple[E3dcSensor, ...]:
    number = {"meter": str(index)}
    total: E3dcSensor = SensorDescription(
        key=f"meter_{index}_power",
        translation_key="meter_power",
        translation_placeholders=number,
        native_unit_of_measurement=UnitOfPower.WATT,
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda d: d.meters[index].power,
        attrs_fn=lambda d: {"meter_type": _meter_type_name(d.meters[index].type)},
    )
    phases = tuple(
        _power(
            f"meter_{index}_power_l{phase}",
            _meter_phase_fn(index, phase),
            translation_key="meter_phase_power",
            placeholders={"meter": str(index), "phase": f"L{phase}"},
            enabled=False,
        )
        for phase in (1, 2, 3)
    )
    return (total, *phases)


def _meter_phase_fn(index: int, phase: int) -> Callable[[E3dcData], StateType]:
    def value(data: E3dcData) -> int:
        meter = data.meters[index]
        return (meter.power_l1, meter.power_l2, meter.power_l3)[phase - 1]

    return value


def _meter_type_name(value: int) -> str:
    try:
        return MeterType(value).name.lower()
    except ValueError:
        return f"unknown_{value}"


def meter_sensors(data: E3dcData) -> tuple[E3dcSensor, ...]:
    """Sensors for the power meters the E3DC reports as installed."""
    return tuple(
        s for i in range(METER_COUNT) if data.meters[i].installed for s in _meter_sensors(i)
    )


def _energy(key: str, power_fn: Callable[[E3dcData], float]) -> EnergySensorDescription[E3dcData]:
    return EnergySensorDescription(
        key=key,
        translation_key=key,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=2,
        power_fn=power_fn,
    )


ENERGY_SENSORS: tuple[EnergySensorDescription[E3dcData], ...] = (
    _energy("pv_energy", lambda d: d.pv_power),
    _energy("grid_import_energy", lambda d: max(0, d.grid_power)),
    _energy("grid_export_energy", lambda d: max(0, -d.grid_power)),
    _energy("battery_charge_energy", lambda d: max(0, d.battery_power)),
    _energy("battery_discharge_energy", lambda d: max(0, -d.battery_power)),
    _energy("house_energy", lambda d: d.house_power),
)


def _ems(key: str, flag: EmsStatus) -> BinarySensorDescription[E3dcData]:
    return BinarySensorDescription(
        key=key,
        translation_key=key,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda d: d.ems_flag(flag),
    )


BINARY_SENSORS: tuple[BinarySensorDescription[E3dcData], ...] = (
    _ems("charging_locked", EmsStatus.CHARGING_LOCKED),
    _ems("discharging_locked", EmsStatus.DISCHARGING_LOCKED),
    _ems("emergency_power_possible", EmsStatus.EMERGENCY_POWER_POSSIBLE),
    _ems("weather_based_charging", EmsStatus.WEATHER_BASED_CHARGING),
    _ems("curtailment_active", EmsStatus.CURTAILMENT_ACTIVE),
    _ems("charge_lock_time", EmsStatus.CHARGE_LOCK_TIME),
    _ems("discharge_lock_time", EmsStatus.DISCHARGE_LOCK_TIME),
)


def wallbox_binary_sensors(data: E3dcData) -> tuple[BinarySensorDescription[E3dcData], ...]:
    """Binary sensors for the E3DC-managed wallboxes that are present."""
    return tuple(
        s for i, box in enumerate(data.wallboxes) if box.present for s in _wallbox_sensors(i)
    )


def _wallbox_sensors(index: int) -> tuple[BinarySensorDescription[E3dcData], ...]:
    number = {"wallbox": str(index)}
    return (
        BinarySensorDescription(
            key=f"e3dc_wallbox_{index}_charging",
            translation_key="e3dc_wallbox_charging",
            translation_placeholders=number,
            device_class=BinarySensorDeviceClass.BATTERY_CHARGING,
            value_fn=lambda d: d.wallboxes[index].charging,
            attrs_fn=lambda d: {"one_phase": d.wallboxes[index].one_phase},
        ),
        BinarySensorDescription(
            key=f"e3dc_wallbox_{index}_plugged",
            translation_key="e3dc_wallbox_plugged",
            translation_placeholders=number,
            device_class=BinarySensorDeviceClass.PLUG,
            value_fn=lambda d: d.wallboxes[index].plugged,
        ),
    )


WALLBOX_SENSORS: tuple[E3dcSensor, ...] = (
    _power("e3dc_wallbox_power", lambda d: d.wallbox_power),
    _power("e3dc_wallbox_solar_power", lambda d: d.wallbox_solar_power),
)


def sensor_descriptions(data: E3dcData) -> tuple[E3dcSensor, ...]:
    """Every sensor of an E3DC whose first poll returned ``data``."""
    wallboxes = WALLBOX_SENSORS if any(box.present for box in data.wallboxes) else ()
    return (*SENSORS, *STRING_SENSORS, *meter_sensors(data), *wallboxes)


def binary_sensor_descriptions(
    data: E3dcData,
) -> tuple[BinarySensorDescription[E3dcData], ...]:
    """Every binary sensor of an E3DC whose first poll returned ``data``."""
    return (*BINARY_SENSORS, *wallbox_binary_sensors(data))


def _sensors(device: E3dcRuntime) -> Iterable[Entity]:
    first = device.coordinator.data.data
    for description in sensor_descriptions(first):
        yield DeviceSensor(device.coordinator, device.device_info, description)
    for energy in ENERGY_SENSORS:
        yield EnergySensor(device.coordinator, device.device_info, energy)


def _binary_sensors(device: E3dcRuntime) -> Iterable[Entity]:
    for description in binary_sensor_descriptions(device.coordinator.data.data):
        yield DeviceBinarySensor(device.coordinator, device.device_info, description)


def _battery(data: E3dcData) -> BatteryState:
    return BatteryState(
        power=float(data.battery_power),
        soc=float(data.battery_soc),
        pv_power=float(data.pv_power),
    )


SPEC = DeviceSpec[E3dcClient, E3dcIdentity, E3dcData](
    device_type=DeviceType.E3DC,
    default_unit_id=DEFAULT_UNIT_ID,
    client=E3dcClient,
    identity_id=lambda identity: identity.serial or None,
    title=lambda identity: f"E3DC {identity.model}".strip(),
    device_info=device_info,
    entities={Platform.BINARY_SENSOR: _binary_sensors, Platform.SENSOR: _sensors},
    grid_power=lambda data: float(data.grid_power),
    battery=_battery,
    # EMS status bit 4: the feed-in is curtailed (the grid shows no more surplus).
    curtailed=lambda data: data.ems_flag(EmsStatus.CURTAILMENT_ACTIVE),
)
