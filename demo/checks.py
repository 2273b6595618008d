"""Entity ids of the demo and what ``scripts/demo --check`` expects of their states.

Every ``*_problems`` function takes the states as ``/api/states`` returns them (entity id →
state object) and returns what is wrong; an empty list means the expectation holds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from .config import DEMO_FUSE_A, DEMO_PLAN_ENERGY_KWH, DEMO_PRICES, VEHICLE_NAME

TRANSLATIONS = (
    Path(__file__).resolve().parent.parent
    / "custom_components"
    / "solar_wallbox"
    / "translations"
    / "en.json"
)

# Entity ids with English entity names (scripts/demo's default language) and the simulated
# devices' names; LOCALIZED_IDS has them for the other languages.
PV = "sensor.e3dc_s10_x_compact_pv_power"
BATTERY = "sensor.e3dc_s10_x_compact_battery_power"
SOC = "sensor.e3dc_s10_x_compact_battery_state_of_charge"
HOUSE = "sensor.e3dc_s10_x_compact_house_power"
E3DC_GRID = "sensor.e3dc_s10_x_compact_grid_power"
PAC_GRID = "sensor.pac2200_grid_power"
CHARGING_POWER = "sensor.amtron_charging_power"
DECISION = "sensor.amtron_decision"
COUNTDOWN = "sensor.amtron_next_start_stop_in"
AVAILABLE = "sensor.amtron_available_power"
LIMIT = "number.amtron_current_limit"
VEHICLE = "sensor.amtron_active_vehicle"
CAR_CONNECTED = "binary_sensor.amtron_car_connected"
SOLAR_SHARE = "sensor.amtron_session_solar_share"
SESSION_START = "sensor.amtron_session_start"
SURPLUS_SWITCH = "switch.amtron_surplus_charging"
CHARGE_MODE = "select.amtron_charge_mode"
ALARM_A = "binary_sensor.doepke_dctr_alarm_a"
RCM_LINK = "binary_sensor.doepke_dctr_rcm_link"
ACKNOWLEDGE = "button.amtron_acknowledge_rcm_alarm"
SESSION_DURATION = "sensor.amtron_session_duration"
RFID_TAG = "sensor.amtron_rfid_tag"
EVCCID = "sensor.amtron_evccid"
PLAN_STATUS = "sensor.amtron_departure_plan"
PLAN_GRID = "sensor.amtron_planned_grid_energy"
DEPARTURE = "datetime.amtron_departure"
PLAN_ENERGY = "number.amtron_departure_energy_to_add"

ALWAYS_CHECKED = frozenset(
    {PV, BATTERY, SOC, HOUSE, E3DC_GRID, PAC_GRID, CHARGING_POWER, DECISION, LIMIT}
    | {SURPLUS_SWITCH, CHARGE_MODE, ALARM_A, RCM_LINK, CAR_CONNECTED}
)
"""Checked for a state even if the dashboard stopped showing them."""

MAY_BE_UNKNOWN = frozenset(
    {
        COUNTDOWN,  # nothing pending
        VEHICLE,  # no car yet
        SOLAR_SHARE,  # no session yet
        AVAILABLE,  # before the controller's first decision
        SESSION_START,
        SESSION_DURATION,
        RFID_TAG,
        EVCCID,
        ACKNOWLEDGE,  # a button's state is when it was last pressed
    }
)
"""Entities whose state may be ``unknown`` (never ``unavailable``)."""

LANGUAGES = ("en", "de")
"""Languages of ``scripts/demo --language``: Home Assistant's system language."""

LOCALIZED_IDS: dict[str, dict[str, str]] = {
    "en": {},
    "de": {
        PV: "sensor.e3dc_s10_x_compact_pv_leistung",
        BATTERY: "sensor.e3dc_s10_x_compact_batterieleistung",
        SOC: "sensor.e3dc_s10_x_compact_batterie_ladezustand",
        HOUSE: "sensor.e3dc_s10_x_compact_hausverbrauch",
        E3DC_GRID: "sensor.e3dc_s10_x_compact_netzleistung",
        PAC_GRID: "sensor.pac2200_netzleistung",
        CHARGING_POWER: "sensor.amtron_ladeleistung",
        DECISION: "sensor.amtron_entscheidung",
        COUNTDOWN: "sensor.amtron_start_stopp_in",
        AVAILABLE: "sensor.amtron_verfugbare_leistung",
        LIMIT: "number.amtron_stromgrenze",
        VEHICLE: "sensor.amtron_aktives_fahrzeug",
        CAR_CONNECTED: "binary_sensor.amtron_auto_verbunden",
        SOLAR_SHARE: "sensor.amtron_solaranteil_ladevorgang",
        SESSION_START: "sensor.amtron_beginn_ladevorgang",
        SESSION_DURATION: "sensor.amtron_dauer_ladevorgang",
        RFID_TAG: "sensor.amtron_rfid_karte",
        SURPLUS_SWITCH: "switch.amtron_uberschussladen",
        CHARGE_MODE: "select.amtron_lademodus",
        RCM_LINK: "binary_sensor.doepke_dctr_rcm_verbindung",
        ACKNOWLEDGE: "button.amtron_rcm_alarm_quittieren",
        PLAN_STATUS: "sensor.amtron_abfahrtsplan",
        PLAN_GRID: "sensor.amtron_geplante_netzenergie",
        DEPARTURE: "datetime.amtron_abfahrt",
        PLAN_ENERGY: "number.amtron_nachzuladende_energie_der_abfahrt",
        # ALARM_A ("Alarm A") and EVCCID are the same in German.
    },
}
"""English entity id → the one Home Assistant makes in that system language (entity ids
are made from the entity names in the system language; tests/tools/test_demo.py derives
them from the translations). Ids missing here are the same as in English."""


def localized(entity: str, language: str) -> str:
    """The entity id of an English one in `language`."""
    return LOCALIZED_IDS[language].get(entity, entity)


def localized_set(entities: frozenset[str], language: str) -> frozenset[str]:
    """`localized` of each."""
    return frozenset(localized(entity, language) for entity in entities)


def localized_text(text: str, language: str) -> str:
    """A problem found on `in_english` states, with the entity ids of `language`."""
    for entity, local in LOCALIZED_IDS[language].items():
        text = re.sub(rf"(?<![\w.]){re.escape(entity)}(?!\w)", local, text)
    return text


def in_english(states: States, language: str) -> dict[str, Mapping[str, Any]]:
    """The states keyed by the English entity ids the checks use.

    An English id that `language` renames is left out: in that language Home Assistant
    must not have made it, and the checks must not find it by chance.
    """
    ids = LOCALIZED_IDS[language]
    english = {local: entity for entity, local in ids.items()}
    return {
        english.get(entity, entity): state
        for entity, state in states.items()
        if entity in english or entity not in ids
    }


GRID_TOLERANCE_W = 150.0
"""PAC2200 and E3DC measure the same simulated grid, polled at different moments."""
MAX_CURRENT_A = 16
RCM_DECISIONS = frozenset({"rcm_alarm", "rcm_latched", "rcm_stale"})
CHARGING_DECISIONS = frozenset({"starting", "charging_surplus", "holding_min", "min_on_time"})
"""Decisions of PV surplus charging while the car may draw power."""

type States = Mapping[str, Mapping[str, Any]]
"""entity id → state object as ``/api/states`` returns it."""


def dashboard_entities(config: Any) -> set[str]:
    """Every entity id a Lovelace configuration refers to (cards, rows, markdown templates)."""
    found: set[str] = set()
    in_template = re.compile(r"""states\(\s*['"]([a-z_]+\.[a-z0-9_]+)['"]""")

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "entity" and isinstance(value, str):
                    found.add(value)
                elif key == "content" and isinstance(value, str):
                    found.update(in_template.findall(value))
                elif key == "entities" and isinstance(value, list):
                    found.update(item for item in value if isinstance(item, str))
                    walk(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(config)
    return found


def markdown_contents(config: Any) -> list[str]:
    """The content (a template) of every markdown card of a Lovelace configuration."""
    if isinstance(config, list):
        return [content for item in config for content in markdown_contents(item)]
    if not isinstance(config, dict):
        return []
    own = [config["content"]] if config.get("type") == "markdown" else []
    return own + [c for value in config.values() for c in markdown_contents(value)]


def decision_states(translations: Path = TRANSLATIONS) -> set[str]:
    """Valid states of the decision sensor: the keys of its translated states."""
    data = json.loads(translations.read_text(encoding="utf-8"))
    return set(data["entity"]["sensor"]["decision_reason"]["state"])


def _state(states: States, entity: str) -> Any:
    return states.get(entity, {}).get("state")


def _number(states: States, entity: str) -> float | None:
    try:
        return float(_state(states, entity))
    except (TypeError, ValueError):
        return None


def entity_problems(
    states: States, entities: set[str], may_be_unknown: frozenset[str] = MAY_BE_UNKNOWN
) -> list[str]:
    """Entities that are missing, unavailable, or unknown though a value is expected."""
    problems = []
    for entity in sorted(entities):
        state = _state(states, entity)
        if state is None:
            problems.append(f"{entity} does not exist")
        elif state == "unavailable" or (state == "unknown" and entity not in may_be_unknown):
            problems.append(f"{entity} is {state}")
    return problems


def grid_problems(states: States) -> list[str]:
    """PAC2200 and E3DC grid power agree (both measure the simulated grid)."""
    pac, e3dc = _number(states, PAC_GRID), _number(states, E3DC_GRID)
    if pac is None or e3dc is None:
        return [f"grid power not numeric: PAC2200 {pac}, E3DC {e3dc}"]
    if abs(pac - e3dc) > GRID_TOLERANCE_W:
        return [f"grid power differs: PAC2200 {pac:.0f} W, E3DC {e3dc:.0f} W"]
    return []


def balance_problems(states: States) -> list[str]:
    """E3DC: PV + grid = battery + house (the model's balance, read in one request)."""
    pv, grid, battery, house = values = [
        _number(states, entity) for entity in (PV, E3DC_GRID, BATTERY, HOUSE)
    ]
    if pv is None or grid is None or battery is None or house is None:
        return [f"E3DC power values not numeric: {values}"]
    if abs(pv + grid - battery - house) > GRID_TOLERANCE_W:
        return [f"E3DC balance off: PV {pv} + grid {grid} ≠ battery {battery} + house {house}"]
    return []


def value_problems(states: States, decisions: set[str]) -> list[str]:
    """Plausible values of the charging entities and the battery."""
    problems = []
    if (decision := _state(states, DECISION)) not in decisions:
        problems.append(f"{DECISION} is no valid decision: {decision!r}")
    if (switch := _state(states, SURPLUS_SWITCH)) != "on":
        problems.append(f"{SURPLUS_SWITCH} is {switch!r}, not on")
    limit = _number(states, LIMIT)
    if limit is None or not (limit == 0 or 6 <= limit <= MAX_CURRENT_A):
        problems.append(f"{LIMIT} is {limit}, not 0 or 6..{MAX_CURRENT_A} A")
    mode = states.get(CHARGE_MODE, {})
    if mode.get("state") not in mode.get("attributes", {}).get("options", []):
        problems.append(f"{CHARGE_MODE} is no valid mode: {mode.get('state')!r}")
    soc = _number(states, SOC)
    if soc is None or not 0 <= soc <= 100:
        problems.append(f"{SOC} is {soc}, not 0..100 %")
    return problems


def car_problems(states: States) -> list[str]:
    """The car is plugged in and recognised as Maria by its tag."""
    vehicle, connected = _state(states, VEHICLE), _state(states, CAR_CONNECTED)
    if vehicle == VEHICLE_NAME and connected == "on":
        return []
    return [f"{VEHICLE} is {vehicle!r}, {CAR_CONNECTED} is {connected!r}"]


def charging_problems(states: States) -> list[str]:
    """The controller charges with surplus: limit 6..16 A and the car draws power."""
    power, limit = _number(states, CHARGING_POWER) or 0.0, _number(states, LIMIT) or 0.0
    decision, available = _state(states, DECISION), _state(states, AVAILABLE)
    if decision in CHARGING_DECISIONS and power > 500 and 6 <= limit <= MAX_CURRENT_A:
        return []
    return [
        f"{CHARGING_POWER} {power:.0f} W, {LIMIT} {limit:g} A, decision {decision!r}, "
        f"{AVAILABLE} {available} W"
    ]


# The fuse margin the demo keeps (the option's default, A).
DEMO_FUSE_MARGIN_A = 2


# Plan states that show a plan at work (not "none", not "target_impossible").
PLAN_WORKING = frozenset(
    {"waiting_for_sun", "charging_from_sun", "charging_planned", "charging_now", "target_reached"}
)


def plan_problems(states: States) -> list[str]:
    """The demo's departure plan works: a status of a plan at work, its slots as the status
    sensor's attributes, the planned grid energy within the target, each reserved slot
    priced from the demo's price sensor."""
    plan = states.get(PLAN_STATUS, {})
    status, attributes = plan.get("state"), plan.get("attributes", {})
    if status not in PLAN_WORKING:
        return [f"{PLAN_STATUS} is {status!r}"]
    if status == "target_reached":
        return []
    grid = _number(states, PLAN_GRID)
    if grid is None or not 0 <= grid <= DEMO_PLAN_ENERGY_KWH + 0.01:
        return [f"{PLAN_GRID} is {grid!r} (0..{DEMO_PLAN_ENERGY_KWH:g} kWh expected)"]
    slots = attributes.get("slots") or []
    reserved = [slot for slot in slots if slot.get("grid_power", 0) > 0]
    if grid > 0 and not reserved:
        return [f"{PLAN_STATUS} has no reserved slot in its attributes: {attributes!r}"]
    unpriced = [
        slot
        for slot in reserved
        if not isinstance(slot.get("price"), int | float)
        or min(abs(slot["price"] - price) for price in DEMO_PRICES) > 1e-6
    ]
    if unpriced:
        return [f"reserved slots without a demo price: {unpriced!r}"]
    return []


def fuse_problems(states: States) -> list[str]:
    """The main fuse is watched: Decision's ``fuse_cap`` is the room the PAC2200's phase
    currents leave (0..fuse − margin A) and the charging current is within it."""
    attributes = states.get(DECISION, {}).get("attributes", {})
    cap, limit = attributes.get("fuse_cap"), _number(states, LIMIT)
    room = DEMO_FUSE_A - DEMO_FUSE_MARGIN_A
    if isinstance(cap, int) and 0 <= cap <= room and limit is not None and limit <= cap:
        return []
    return [f"{DECISION} fuse_cap is {cap!r} (0..{room} A expected), {LIMIT} is {limit}"]


def fuse_limit_problems(states: States) -> list[str]:
    """Fast mode next to the simulated cooker: the fuse holds the car below its maximum
    (Decision ``fuse_limit``, its ``fuse_cap`` under 16 A, the current limit within it)."""
    attributes = states.get(DECISION, {}).get("attributes", {})
    cap, limit = attributes.get("fuse_cap"), _number(states, LIMIT)
    decision, mode = _state(states, DECISION), _state(states, CHARGE_MODE)
    if (
        mode == "fast"
        and decision == "fuse_limit"
        and isinstance(cap, int)
        and 0 <= cap < MAX_CURRENT_A
        and limit is not None
        and limit <= cap
    ):
        return []
    return [
        f"{CHARGE_MODE} {mode!r}, {DECISION} {decision!r} with fuse_cap {cap!r}, "
        f"{LIMIT} {limit} (fuse_limit, a cap under {MAX_CURRENT_A} A expected)"
    ]


# How far the charger's session start may lie from Home Assistant's clock (s): the car
# was plugged in moments ago, so anything more means the two clocks disagree.
SESSION_CLOCK_TOLERANCE_S = 600.0


def session_clock_problems(states: States, now: datetime) -> list[str]:
    """The charger's session start (its clock) is a moment ago on Home Assistant's clock."""
    value = _state(states, SESSION_START)
    try:
        start = datetime.fromisoformat(str(value))
    except ValueError:
        return [f"{SESSION_START} is {value!r}, not a time"]
    if start.tzinfo is None or abs((now - start).total_seconds()) > SESSION_CLOCK_TOLERANCE_S:
        return [f"{SESSION_START} is {value}, but it is {now.isoformat()} now"]
    return []


# Grid power (W) close enough to 0 for "charging on surplus alone".
SURPLUS_GRID_W = 300.0
MIN_SOLAR_SHARE_PCT = 80.0


def solar_share_problems(states: States) -> list[str]:
    """Charging on surplus with the grid at about 0 W: the session is mostly solar."""
    share, grid = _number(states, SOLAR_SHARE), _number(states, PAC_GRID)
    decision = _state(states, DECISION)
    if (
        decision == "charging_surplus"
        and grid is not None
        and abs(grid) <= SURPLUS_GRID_W
        and share is not None
        and share > MIN_SOLAR_SHARE_PCT
    ):
        return []
    return [f"{SOLAR_SHARE} {share} % with decision {decision!r} and grid power {grid} W"]


def _rcm(states: States) -> tuple[Any, Any, float | None]:
    return _state(states, ALARM_A), _state(states, DECISION), _number(states, LIMIT)


def alarm_problems(states: States) -> list[str]:
    """The RCM alarm is seen and charging is stopped (limit 0)."""
    alarm, decision, limit = _rcm(states)
    if alarm == "on" and decision in RCM_DECISIONS and limit == 0:
        return []
    return [f"{ALARM_A} {alarm!r}, decision {decision!r}, {LIMIT} {limit}"]


def latched_problems(states: States) -> list[str]:
    """The alarm has gone but charging stays locked until acknowledged."""
    alarm, decision, limit = _rcm(states)
    if alarm == "off" and decision == "rcm_latched" and limit == 0:
        return []
    return [f"{ALARM_A} {alarm!r}, decision {decision!r}, {LIMIT} {limit}"]


def released_problems(states: States) -> list[str]:
    """After the acknowledgement the decision is no RCM one any more."""
    decision = _state(states, DECISION)
    if decision not in RCM_DECISIONS | {None, "unknown", "unavailable"}:
        return []
    return [f"decision {decision!r}"]
