"""Constants of the Solar Wallbox integration."""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Final

DOMAIN: Final = "solar_wallbox"
LOGGER: Final = logging.getLogger(__package__)

CONF_DEVICE_TYPE: Final = "device_type"
CONF_UNIT_ID: Final = "unit_id"
CONF_SCAN_INTERVAL: Final = "scan_interval"
CONF_MAX_CURRENT: Final = "max_current"  # ceiling of the charging current (16 A: 11 kW unit)
CONF_GRID_ENTRY: Final = "grid_entry"  # entry of the grid meter (PAC2200 or E3DC)
CONF_BATTERY_ENTRY: Final = "battery_entry"  # entry of the home battery (E3DC)
CONF_RCM_ENTRY: Final = "rcm_entry"  # entry of the residual current monitor (DCTR)
CONF_VEHICLES: Final = "vehicles"  # vehicle profiles by RFID tag
# Any Home Assistant entity as a source (issue 17; README.md, "Using other meters and
# inverters"): entity ids, used where no entry of ours is linked for the role.
CONF_GRID_POWER_ENTITY: Final = "grid_power_entity"  # W or kW, one entity for both ways
CONF_GRID_POWER_SIGN: Final = "grid_power_sign"  # GridSign
CONF_GRID_IMPORT_ENTITY: Final = "grid_import_entity"  # or two entities, both >= 0
CONF_GRID_EXPORT_ENTITY: Final = "grid_export_entity"
CONF_BATTERY_POWER_ENTITY: Final = "battery_power_entity"
CONF_BATTERY_POWER_SIGN: Final = "battery_power_sign"  # BatterySign
CONF_BATTERY_SOC_ENTITY: Final = "battery_soc_entity"
CONF_PV_POWER_ENTITY: Final = "pv_power_entity"  # shown only
CONF_PHASE_CURRENT_ENTITIES: Final = "phase_current_entities"  # three, L1..L3 (A)
CONF_DIMMING_ENTITY: Final = "dimming_entity"  # §14a: binary_sensor, switch, input_boolean
CONF_CURTAILMENT_ENTITY: Final = "curtailment_entity"  # binary sensor: feed-in curtailed
# Grid connection limits (controller settings of the same name, charging/model.py).
CONF_FUSE_CURRENT: Final = "fuse_current"  # A per phase; 0 = no limit
CONF_FUSE_MARGIN: Final = "fuse_margin"  # A
CONF_DIMMING_POWER: Final = "dimming_power"  # W
# Departure plans (charging_plan.py): the vehicle (also per vehicle profile) …
CONF_BATTERY_CAPACITY: Final = "battery_capacity"  # kWh; 0 = not known
CONF_CHARGING_EFFICIENCY: Final = "charging_efficiency"  # %
CONF_VEHICLE_SOC_ENTITY: Final = "vehicle_soc_entity"
CONF_LIMIT_SOC_ENTITY: Final = "limit_soc_entity"
CONF_LIMIT_SOC: Final = "limit_soc"  # %; 100 = none
CONF_MIN_SOC: Final = "min_soc"  # %; 0 = none
# … the repeating plan …
CONF_PLAN_WEEKDAYS: Final = "plan_weekdays"  # WEEKDAYS
CONF_PLAN_TIME: Final = "plan_time"  # "HH:MM:SS", local time
CONF_PLAN_TARGET_SOC: Final = "plan_target_soc"  # %
CONF_PLAN_TARGET_ENERGY: Final = "plan_target_energy"  # kWh
# … and the inputs.
CONF_FORECAST_ENTRIES: Final = "forecast_entries"  # config entries; none: the Energy dashboard's
CONF_PRICE_ENTITY: Final = "price_entity"
CONF_FIXED_PRICE: Final = "fixed_price"  # per kWh
CONF_FEED_IN_TARIFF: Final = "feed_in_tariff"  # per kWh
CONF_PLAN_HOUSE_LOAD: Final = "plan_house_load"  # W the PV carries before the car
WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class GridSign(StrEnum):
    """How a grid power entity counts."""

    IMPORT_POSITIVE = "import_positive"
    EXPORT_POSITIVE = "export_positive"


class BatterySign(StrEnum):
    """How a battery power entity counts."""

    CHARGE_POSITIVE = "charge_positive"
    DISCHARGE_POSITIVE = "discharge_positive"


DEFAULT_PORT: Final = 502
DEFAULT_UNIT_ID: Final = 1
DEFAULT_SCAN_INTERVAL: Final = 2
DEFAULT_AMTRON_UNIT_ID: Final = 255
DEFAULT_MAX_CURRENT: Final = 16
MIN_SCAN_INTERVAL: Final = 1
MAX_SCAN_INTERVAL: Final = 60

# Controller settings the user changes through number entities (kept in the state store,
# see store.py): name -> entity value × scale = setting value.
ENTITY_SETTING_SCALES: Final = {
    "min_current": 1.0,
    "max_current": 1.0,
    "grid_target": 1.0,
    "priority_soc": 1.0,
    "support_soc": 1.0,
    "session_energy_limit": 1000.0,  # entity kWh, setting Wh
}
# Settings that are whole numbers.
INT_SETTINGS: Final = frozenset(
    {
        "phases",
        "daily_start_budget",
        "idle_current",
        "initial_current",
        "min_current",
        "max_current",
    }
)

# Energy is not integrated across a gap longer than this many poll intervals.
ENERGY_MAX_GAP_INTERVALS: Final = 3


class DeviceType(StrEnum):
    """The kinds of device a config entry can stand for."""

    E3DC = "e3dc"
    PAC2200 = "pac2200"
    DCTR = "dctr"
    AMTRON = "amtron"


# Raw measurement log of PAC2200 and DCTR entries (the original tool's --log-to).
CONF_RAWLOG: Final = "rawlog"  # enabled
CONF_RAWLOG_DIRECTORY: Final = "rawlog_directory"
CONF_RAWLOG_SAMPLE_INTERVAL: Final = "rawlog_sample_interval"  # s, at most one line per interval
CONF_RAWLOG_FLUSH_INTERVAL: Final = "rawlog_flush_interval"  # s between two sync flushes
DEFAULT_RAWLOG_SAMPLE_INTERVAL: Final = 1
DEFAULT_RAWLOG_FLUSH_INTERVAL: Final = 60
MIN_RAWLOG_SAMPLE_INTERVAL: Final = 1
MIN_RAWLOG_FLUSH_INTERVAL: Final = 10
MAX_RAWLOG_INTERVAL: Final = 3600

SERVICE_DECOMPRESS_STREAM: Final = "decompress_stream"
SERVICE_SET_PLAN: Final = "set_plan"
SERVICE_CLEAR_PLAN: Final = "clear_plan"

# Events (the logbook and device triggers describe them).
EVENT_CHARGING_STARTED: Final = f"{DOMAIN}_charging_started"
EVENT_CHARGING_STOPPED: Final = f"{DOMAIN}_charging_stopped"
EVENT_RCM_ALARM: Final = f"{DOMAIN}_rcm_alarm"
EVENT_RCM_LINK: Final = f"{DOMAIN}_rcm_link"
# Grid connection limits (charging_limits.py): state "started" / "ended".
EVENT_GRID_DIMMING: Final = f"{DOMAIN}_grid_dimming"  # §14a dimming of the charger
EVENT_FUSE_LIMIT: Final = f"{DOMAIN}_fuse_limit"  # the main fuse holds the current down
# Departure plans (charging_plan.py): type "set", "impossible", "reached".
EVENT_PLAN: Final = f"{DOMAIN}_plan"
