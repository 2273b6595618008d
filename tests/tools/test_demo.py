"""Pure helpers of scripts/demo (the demo itself runs as ``scripts/demo --check``)."""

import argparse
import json
import re
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from homeassistant.components.lovelace import CONFIG_SCHEMA as LOVELACE_SCHEMA
from homeassistant.components.onboarding.const import STEPS
from homeassistant.util import slugify

from demo import checks
from demo.config import (
    CAR_TAG,
    DASHBOARD_FILENAME,
    DASHBOARD_URL_PATH,
    DASHBOARDS,
    DEMO_PRICE_SENSOR,
    DEMO_PRICES,
    HISTORY_HOURS,
    Ports,
    Timeline,
    configuration_yaml,
    demo_dashboard,
    format_clock,
    frontend_language,
    make_timeline,
    onboarding_storage,
    parse_clock,
    simulator_args,
)
from demo.launcher import build_parser, busy_ports
from simulator.__main__ import build_parser as simulator_parser
from simulator.dctr import ALARM_A, DctrDevice, configure_from_args, parse_episode
from simulator.loads import COOKER, COOKER_NAME
from simulator.loads import configure_from_args as configure_loads
from simulator.model import SiteModel

REPO = Path(__file__).resolve().parents[2]
DASHBOARD_TEXTS = {
    language: (REPO / "demo" / name).read_text(encoding="utf-8")
    for language, name in DASHBOARDS.items()
}
DASHBOARD = yaml.safe_load(DASHBOARD_TEXTS["en"])
DASHBOARD_DE = yaml.safe_load(DASHBOARD_TEXTS["de"])
TRANSLATIONS = REPO / "custom_components" / "solar_wallbox" / "translations"
DEVICE_PREFIXES = ("e3dc_s10_x_compact", "pac2200", "amtron", "doepke_dctr")
CORE_CARDS = {
    "heading",
    "markdown",
    "tile",
    "gauge",
    "entities",
    "glance",
    "history-graph",
    "conditional",
}


def state(value: Any, **attributes: Any) -> dict[str, Any]:
    return {"state": value, "attributes": attributes}


# Timeline and simulator arguments -------------------------------------------------------


def test_clock() -> None:
    assert parse_clock("10:30") == 37800
    assert format_clock(37800) == "10:30"
    assert format_clock(86400 + 65) == "00:01"
    with pytest.raises(argparse.ArgumentTypeError, match="HH:MM"):
        parse_clock("24:00")


def test_timeline_scales_with_speed_and_rounds_up_to_minutes() -> None:
    timeline = make_timeline(parse_clock("10:30"), 10, 60, 300, 30, 180, 61)
    assert format_clock(timeline.car_arrives_s) == "10:40"
    assert format_clock(timeline.rcm_s) == "11:20"
    assert timeline.rcm_duration_s == 300
    assert timeline.real_offset_s(timeline.rcm_s, 10) == 300
    assert format_clock(timeline.cooker_s) == "11:00"
    assert timeline.cooker_duration_s == 610
    slow = make_timeline(parse_clock("23:59"), 1, 30, 61, 20, 61, 300)
    assert format_clock(slow.car_arrives_s) == "00:00"  # at least a minute, across midnight
    assert format_clock(slow.rcm_s) == "00:01"
    assert slow.real_offset_s(slow.rcm_s, 1) == 120


def test_simulator_accepts_the_arguments() -> None:
    ports = Ports(18123, 15020)
    timeline = Timeline(
        parse_clock("10:30"), parse_clock("10:35"), parse_clock("10:50"), 200, 39000, 300
    )
    args = simulator_parser().parse_args(simulator_args(ports, timeline, 10))
    assert args.scenario == "clouds"
    assert args.speed == 10
    assert args.start == parse_clock("10:30")
    assert args.car_arrives == parse_clock("10:35")
    assert args.car_tag == CAR_TAG
    assert args.rcm_episode == [(parse_clock("10:50"), 200)]
    assert args.cooker == [(parse_clock("10:50"), 300)]
    assert (args.e3dc, args.amtron, args.pac2200, args.dctr) == (
        ("127.0.0.1", 15020),
        ("127.0.0.1", 15021),
        ("127.0.0.1", 15022),
        ("127.0.0.1", 15023),
    )
    assert sorted(ports.all()) == [15020, 15021, 15022, 15023, 18123]


def test_rcm_episode_option_schedules_an_alarm() -> None:
    args = simulator_parser().parse_args(["--start=23:50", "--rcm-episode=00:10+60"])
    model = SiteModel.scenario("constant", start_s=args.start)
    device = DctrDevice(model)
    configure_from_args(device, args)
    assert [(e.start_s, e.end_s, e.band) for e in device.episodes] == [(1200, 1260, "dc")]
    assert device.registers()[ALARM_A] == 0
    model.step(1230)
    assert device.registers()[ALARM_A] != 0
    model.step(60)
    assert device.registers()[ALARM_A] == 0
    assert parse_episode("11:00") == (39600, 120)
    for bad in ("11:00+0", "11:00+x", "25:00", "11"):
        with pytest.raises(argparse.ArgumentTypeError, match="HH:MM"):
            parse_episode(bad)


def test_cooker_option_loads_l1_for_its_duration() -> None:
    args = simulator_parser().parse_args(["--start=23:50", "--cooker=00:10+60", "--cooker=00:20"])
    model = SiteModel.scenario("constant", start_s=args.start)
    model.battery_enabled = False
    scheduled = configure_loads(model, args)
    assert [(load.start_s, load.end_s) for load in scheduled] == [(1200, 1260), (1800, 2400)]
    before = model.grid_phase_w()
    model.step(1230)
    during = model.grid_phase_w()
    assert [round(b - a) for a, b in zip(before, during, strict=True)] == list(COOKER)
    assert during[0] - during[2] > 5000  # unbalanced: the oven and the kettle are on L1
    model.step(60)
    assert COOKER_NAME not in model.loads
    assert model.grid_phase_w() == pytest.approx(before)
    for bad in ("00:10+0", "00:10+x", "24:00"):
        with pytest.raises(SystemExit):
            simulator_parser().parse_args([f"--cooker={bad}"])


# Home Assistant configuration ---------------------------------------------------------


def test_configuration() -> None:
    config = yaml.safe_load(configuration_yaml(Ports(18123, 15020), "Europe/Berlin"))
    core = config["homeassistant"]
    assert core["time_zone"] == "Europe/Berlin"
    assert core["language"] == "en"
    german = yaml.safe_load(configuration_yaml(Ports(18123, 15020), "Europe/Berlin", "de"))
    assert german["homeassistant"]["language"] == "de"
    assert {**german["homeassistant"], "language": "en"} == core
    assert frontend_language("de")["language"] == "de"
    trusted, local = core["auth_providers"]
    assert trusted == {
        "type": "trusted_networks",
        "trusted_networks": ["127.0.0.1/32", "::1/128"],
        "allow_bypass_login": True,
    }
    assert local == {"type": "homeassistant"}
    assert config["http"] == {"server_host": "127.0.0.1", "server_port": 18123}
    assert "default_config" not in config
    dashboard = LOVELACE_SCHEMA({"lovelace": config["lovelace"]})["lovelace"]["dashboards"]
    assert dashboard[DASHBOARD_URL_PATH]["mode"] == "yaml"
    assert dashboard[DASHBOARD_URL_PATH]["filename"] == DASHBOARD_FILENAME
    assert dashboard[DASHBOARD_URL_PATH]["show_in_sidebar"] is True


def test_onboarding_leaves_only_the_user_step() -> None:
    storage = onboarding_storage()
    assert storage["key"] == "onboarding"
    assert {*storage["data"]["done"], "user"} == set(STEPS)
    assert "user" not in storage["data"]["done"]


def test_demo_clock_puts_home_assistant_at_the_wanted_time() -> None:
    """The zone in which it is about the wanted time now; the simulator starts exactly then."""
    from zoneinfo import ZoneInfo  # noqa: PLC0415

    from demo.config import demo_clock  # noqa: PLC0415

    for hour, minute in ((7, 41), (23, 59), (0, 5), (10, 30), (18, 0)):
        now = datetime(2026, 12, 2, hour, minute, 17, tzinfo=UTC)
        zone, start_s = demo_clock(10.5 * 3600, now)
        local = now.astimezone(ZoneInfo(zone))
        assert start_s == local.hour * 3600 + local.minute * 60 + local.second
        assert abs(start_s - 10.5 * 3600) <= 1800  # within half an hour of 10:30


def cards(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, list):
        return [card for item in node for card in cards(item)]
    if not isinstance(node, dict):
        return []
    own = [node] if "type" in node and node.get("type") not in {"sections", "grid"} else []
    return own + [card for value in node.values() for card in cards(value)]


def test_dashboard_uses_core_cards_only() -> None:
    types = {card["type"] for card in cards(DASHBOARD["views"])} - {"select-options"}
    assert types <= CORE_CARDS
    assert "history-graph" in types


def test_dashboard_shows_what_the_demo_is_about() -> None:
    entities = checks.dashboard_entities(DASHBOARD)
    wanted = {
        checks.PV,
        checks.BATTERY,
        checks.SOC,
        checks.HOUSE,
        checks.PAC_GRID,
        checks.CHARGING_POWER,
        checks.CHARGE_MODE,
        checks.DECISION,
        checks.COUNTDOWN,
        checks.SOLAR_SHARE,
        "sensor.amtron_session_energy",
        checks.ALARM_A,
        checks.RCM_LINK,
        checks.ACKNOWLEDGE,
        checks.SURPLUS_SWITCH,
        checks.LIMIT,
    }
    assert wanted <= entities
    prefixes = ("e3dc_s10_x_compact_", "pac2200_", "amtron_", "doepke_dctr_")
    for entity in entities:
        assert entity.split(".", 1)[1].startswith(prefixes), entity
    graphs = [card for card in cards(DASHBOARD["views"]) if card["type"] == "history-graph"]
    graphed = {row["entity"] for graph in graphs for row in graph["entities"]}
    assert {checks.PV, checks.PAC_GRID, checks.CHARGING_POWER, checks.DECISION} <= graphed


def test_dashboard_entities_finds_every_reference() -> None:
    config = {
        "views": [
            {
                "cards": [
                    {"type": "tile", "entity": "sensor.a"},
                    {"type": "entities", "entities": ["sensor.b", {"entity": "sensor.c"}]},
                    {"type": "markdown", "content": "{{ states('sensor.d') | float(0) }}"},
                ]
            }
        ]
    }
    assert checks.dashboard_entities(config) == {"sensor.a", "sensor.b", "sensor.c", "sensor.d"}
    assert checks.markdown_contents(config) == ["{{ states('sensor.d') | float(0) }}"]
    assert len(checks.markdown_contents(DASHBOARD)) == 1


# Check expectations -------------------------------------------------------------------


def test_entity_problems() -> None:
    states = {
        checks.PV: state("7000"),
        checks.DECISION: state("unknown"),
        checks.COUNTDOWN: state("unknown"),
        checks.PAC_GRID: state("unavailable"),
    }
    wanted = {checks.PV, checks.DECISION, checks.COUNTDOWN, checks.PAC_GRID, checks.HOUSE}
    assert checks.entity_problems(states, wanted) == [
        f"{checks.DECISION} is unknown",
        f"{checks.HOUSE} does not exist",
        f"{checks.PAC_GRID} is unavailable",
    ]


def test_grid_and_balance() -> None:
    states = {
        checks.PAC_GRID: state("-3872.9"),
        checks.E3DC_GRID: state("-3877"),
        checks.PV: state("7227"),
        checks.BATTERY: state("3000"),
        checks.HOUSE: state("350"),
    }
    assert checks.grid_problems(states) == []
    assert checks.balance_problems(states) == []
    states[checks.PAC_GRID] = state("-3000")
    assert "differs" in checks.grid_problems(states)[0]
    states[checks.HOUSE] = state("4490")
    assert "balance off" in checks.balance_problems(states)[0]
    states[checks.E3DC_GRID] = state("unknown")
    assert "not numeric" in checks.grid_problems(states)[0]
    assert "not numeric" in checks.balance_problems(states)[0]


def test_value_problems() -> None:
    decisions = checks.decision_states()
    assert {"charging_surplus", "rcm_latched", "no_vehicle"} <= decisions
    states = {
        checks.DECISION: state("no_vehicle"),
        checks.SURPLUS_SWITCH: state("on"),
        checks.LIMIT: state("0"),
        checks.CHARGE_MODE: state("pv", options=["off", "pv", "min_pv", "fast"]),
        checks.SOC: state("54"),
    }
    assert checks.value_problems(states, decisions) == []
    for limit in ("6", "16"):
        states[checks.LIMIT] = state(limit)
        assert checks.value_problems(states, decisions) == []
    states |= {
        checks.DECISION: state("thinking"),
        checks.SURPLUS_SWITCH: state("off"),
        checks.LIMIT: state("32"),
        checks.CHARGE_MODE: state("turbo", options=["pv"]),
        checks.SOC: state("unknown"),
    }
    assert len(checks.value_problems(states, decisions)) == 5


def test_fuse_check() -> None:
    """The fuse check wants a cap within fuse − margin and the limit at or below it."""
    states: dict[str, Any] = {checks.DECISION: state("charging_surplus"), checks.LIMIT: state("8")}
    assert checks.fuse_problems(states)  # no cap: the fuse is not watched
    room = checks.DEMO_FUSE_A - checks.DEMO_FUSE_MARGIN_A
    states[checks.DECISION] = state("charging_surplus", fuse_cap=room)
    assert checks.fuse_problems(states) == []
    states[checks.DECISION] = state("charging_surplus", fuse_cap=room + 1)
    assert checks.fuse_problems(states)  # more room than the fuse has
    states[checks.DECISION] = state("fuse_limit", fuse_cap=7)
    assert checks.fuse_problems(states)  # the current above the cap
    states[checks.LIMIT] = state("7")
    assert checks.fuse_problems(states) == []


def test_fuse_limit_check() -> None:
    """Fast mode next to the cooker: the decision is the fuse limit, its cap below 16 A
    and the current limit within it; anything else is a finding."""
    states: dict[str, Any] = {
        checks.DECISION: state("fuse_limit", fuse_cap=7),
        checks.LIMIT: state("7"),
        checks.CHARGE_MODE: state("fast"),
    }
    assert checks.fuse_limit_problems(states) == []
    states[checks.LIMIT] = state("8")
    assert checks.fuse_limit_problems(states)  # above the cap
    states[checks.LIMIT] = state("7")
    states[checks.CHARGE_MODE] = state("pv")
    assert checks.fuse_limit_problems(states)  # not Fast mode
    states[checks.CHARGE_MODE] = state("fast")
    states[checks.DECISION] = state("fast_charging", fuse_cap=16)
    assert checks.fuse_limit_problems(states)  # the fuse did not bite
    states[checks.DECISION] = state("fuse_limit", fuse_cap="7")
    assert checks.fuse_limit_problems(states)  # not an integer


def test_plan_check() -> None:
    """A plan at work, its grid energy within the target, reserved slots priced by the
    demo's price sensor."""
    slot = {"start": "x", "grid_power": 11040, "price": 0.18}
    states: dict[str, Any] = {checks.PLAN_STATUS: state("none"), checks.PLAN_GRID: state("3")}
    assert checks.plan_problems(states)  # no plan
    states[checks.PLAN_STATUS] = state("charging_planned", slots=[slot])
    assert checks.plan_problems(states) == []
    states[checks.PLAN_STATUS] = state("charging_planned", slots=[{**slot, "price": 0.5}])
    assert checks.plan_problems(states)  # not a demo price
    states[checks.PLAN_STATUS] = state("charging_planned", slots=[])
    assert checks.plan_problems(states)  # grid energy without a slot
    states[checks.PLAN_GRID] = state("9")
    assert checks.plan_problems(states)  # more than the target
    states[checks.PLAN_STATUS] = state("target_impossible")
    assert checks.plan_problems(states)
    states[checks.PLAN_STATUS] = state("target_reached")
    assert checks.plan_problems(states) == []


def test_configuration_has_the_demo_price() -> None:
    config = yaml.safe_load(configuration_yaml(Ports(18123, 15020), "Europe/Berlin"))
    sensor = config["template"][0]["sensor"][0]
    assert f"sensor.{slugify(sensor['name'])}" == DEMO_PRICE_SENSOR
    assert str(list(DEMO_PRICES)) in sensor["attributes"]["data"]
    assert len(DEMO_PRICES) == 24


def test_car_charging_and_rcm_sequence() -> None:
    states: dict[str, Any] = {
        checks.VEHICLE: state("unknown"),
        checks.CAR_CONNECTED: state("off"),
        checks.CHARGING_POWER: state("0"),
        checks.LIMIT: state("0"),
        checks.DECISION: state("waiting_for_surplus"),
        checks.ALARM_A: state("off"),
    }
    assert checks.car_problems(states)
    states |= {checks.VEHICLE: state("Maria"), checks.CAR_CONNECTED: state("on")}
    assert checks.car_problems(states) == []
    assert checks.charging_problems(states)
    states |= {checks.CHARGING_POWER: state("4140"), checks.LIMIT: state("6")}
    assert checks.charging_problems(states)  # not the controller's doing
    states[checks.DECISION] = state("charging_surplus")
    assert checks.charging_problems(states) == []
    assert checks.alarm_problems(states)
    states |= {checks.ALARM_A: state("on"), checks.DECISION: state("rcm_alarm")}
    assert checks.alarm_problems(states)  # the limit is not 0 yet
    states[checks.LIMIT] = state("0")
    assert checks.alarm_problems(states) == []
    assert checks.latched_problems(states)  # the alarm is still raised
    assert checks.released_problems(states)
    states |= {checks.ALARM_A: state("off"), checks.DECISION: state("rcm_latched")}
    assert checks.latched_problems(states) == []
    states[checks.DECISION] = state("waiting_for_surplus")
    assert checks.released_problems(states) == []


# Launcher -----------------------------------------------------------------------------


def test_busy_ports() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert busy_ports([port]) == [port]
    assert busy_ports([port]) == []


def test_launcher_options() -> None:
    args = build_parser().parse_args([])
    assert (args.check, args.speed, args.port, args.device_ports) == (False, 1, 8123, 5020)
    assert args.start == parse_clock("10:30")
    args = build_parser().parse_args(["--check", "--speed=30", "--port=18123"])
    assert (args.check, args.speed, args.port) == (True, 30, 18123)
    assert args.language == "en"
    assert build_parser().parse_args(["--language", "de"]).language == "de"
    assert set(DASHBOARDS) == set(checks.LANGUAGES)


def test_no_gauge_of_a_state_that_can_be_unknown() -> None:
    """A gauge of the solar share only while it has a value ("Entity is non-numeric")."""
    guarded = []
    for card in cards(DASHBOARD["views"]):
        if card["type"] == "conditional" and card["card"]["type"] == "gauge":
            states = {c.get("state_not") for c in card["conditions"]}
            assert {"unknown", "unavailable"} <= states
            guarded.append(card["card"])
    assert guarded
    for card in cards(DASHBOARD["views"]):
        if card["type"] == "gauge" and not any(card is g for g in guarded):
            assert card["entity"] not in checks.MAY_BE_UNKNOWN, card["entity"]


def test_solar_share_check() -> None:
    """The demo's check: charging on surplus with the grid at about 0 W is mostly solar."""
    good = {
        checks.SOLAR_SHARE: state("95.0"),
        checks.PAC_GRID: state("-120"),
        checks.DECISION: state("charging_surplus"),
    }
    assert checks.solar_share_problems(good) == []
    assert checks.solar_share_problems({**good, checks.SOLAR_SHARE: state("10.2")})
    assert checks.solar_share_problems({**good, checks.PAC_GRID: state("2500")})
    assert checks.solar_share_problems({**good, checks.DECISION: state("fast")})


def test_session_clock_check() -> None:
    """The charger's clock and Home Assistant's agree: a session started moments ago."""
    now = datetime(2026, 12, 2, 10, 40, tzinfo=UTC)
    plugged = {checks.SESSION_START: state("2026-12-02T10:39:00+00:00")}
    assert checks.session_clock_problems(plugged, now) == []
    # The symptom at 10x: "session start: 15 hours ago".
    hours_ago = {checks.SESSION_START: state("2026-12-01T19:40:00+00:00")}
    assert checks.session_clock_problems(hours_ago, now)
    assert checks.session_clock_problems({checks.SESSION_START: state("unknown")}, now)


# Languages ----------------------------------------------------------------------------


def _names(language: str) -> dict[str, dict[str, str]]:
    """platform → translation key → entity name, from the integration's translations."""
    data = json.loads((TRANSLATIONS / f"{language}.json").read_text(encoding="utf-8"))
    return {
        platform: {key: entry["name"] for key, entry in entries.items() if "name" in entry}
        for platform, entries in data["entity"].items()
    }


def translated_id(english: str, language: str) -> str:
    """The entity id Home Assistant makes in `language` for the one it makes in English.

    Home Assistant slugifies device name + entity name in the system language (German is
    one of its languages with native entity ids); the entity is found by its English name,
    placeholders ({phase}, {band}, ...) keep their (language-independent) values.
    """
    domain, object_id = english.split(".", 1)
    device = next(p for p in DEVICE_PREFIXES if object_id.startswith(f"{p}_"))
    rest = object_id[len(device) + 1 :]
    names, local = _names("en")[domain], _names(language)[domain]
    found = set()
    for key, name in names.items():
        placeholders = re.findall(r"{(\w+)}", name)

        def slug(text: str, placeholders: list[str] = placeholders) -> str:
            for placeholder in placeholders:
                text = text.replace(f"{{{placeholder}}}", f" qq{placeholder}qq ")
            return str(slugify(text))

        pattern = re.escape(slug(name))
        for placeholder in placeholders:
            pattern = pattern.replace(f"qq{placeholder}qq", f"(?P<{placeholder}>[a-z0-9_]+)")
        if match := re.fullmatch(pattern, rest):
            translated = slug(local[key])
            for placeholder in placeholders:
                translated = translated.replace(f"qq{placeholder}qq", match[placeholder])
            found.add(f"{domain}.{device}_{translated}")
    assert len(found) == 1, (english, found)
    return found.pop()


def test_translated_id() -> None:
    assert translated_id("number.amtron_current_limit", "de") == "number.amtron_stromgrenze"
    assert translated_id("switch.amtron_surplus_charging", "de") == "switch.amtron_uberschussladen"
    assert (
        translated_id("sensor.doepke_dctr_residual_current_dc", "de")
        == "sensor.doepke_dctr_differenzstrom_dc"
    )
    assert translated_id("sensor.pac2200_current_l1", "de") == "sensor.pac2200_strom_l1"
    assert translated_id("sensor.amtron_charging_power", "en") == "sensor.amtron_charging_power"


def test_localized_ids_follow_the_translations() -> None:
    """The checks' ids in German are the ones Home Assistant makes from de.json."""
    english = {
        value
        for name, value in vars(checks).items()
        if name.isupper() and isinstance(value, str) and "." in value and "/" not in value
    }
    assert {checks.PV, checks.LIMIT, checks.ACKNOWLEDGE, checks.EVCCID} <= english
    for language in checks.LANGUAGES:
        for entity in english:
            assert checks.localized(entity, language) == translated_id(entity, language)
        assert set(checks.LOCALIZED_IDS[language]) <= english


def test_checks_see_english_ids_in_any_language() -> None:
    pv, limit = checks.localized(checks.PV, "de"), checks.localized(checks.LIMIT, "de")
    german = {pv: state("7000"), limit: state("6"), checks.ALARM_A: state("off")}
    assert checks.in_english(german, "de") == {
        checks.PV: state("7000"),
        checks.LIMIT: state("6"),
        checks.ALARM_A: state("off"),
    }
    # An English id in a German instance does not count as the entity.
    assert checks.in_english({checks.PV: state("1")}, "de") == {}
    assert checks.in_english(german, "en") == german
    problem = checks.value_problems({checks.LIMIT: state("3")}, set())[2]
    assert checks.localized_text(problem, "de").startswith(f"{limit} is 3.0")
    assert checks.localized_text(f"{checks.PV}x", "de") == f"{checks.PV}x"


TEXT_KEYS = {"title", "heading", "name"}
SAME_IN_BOTH = {"Solar Wallbox", "PV", "Alarm A", "Alarm B", "Solar"}
"""Texts of the German dashboard that are the same words in English."""


def _same_cards(english: Any, german: Any, where: str, texts: list[tuple[str, str]]) -> None:
    """German is English with translated ids and texts; collects (English, German) texts."""
    if isinstance(english, dict):
        assert isinstance(german, dict), where
        assert german.keys() == english.keys(), where
        for key, value in english.items():
            if key in TEXT_KEYS and isinstance(value, str):
                assert isinstance(german[key], str), f"{where}.{key}"
                texts.append((value, german[key]))
            elif key == "content":
                _same_markdown(value, german[key])
            elif key == "entity":
                assert german[key] == translated_id(value, "de"), f"{where}.{key}"
            else:
                _same_cards(value, german[key], f"{where}.{key}", texts)
    elif isinstance(english, list):
        assert isinstance(german, list), where
        assert len(german) == len(english), where
        for i, (item, other) in enumerate(zip(english, german, strict=True)):
            _same_cards(item, other, f"{where}[{i}]", texts)
    else:
        assert german == english, where


def _same_markdown(english: str, german: str) -> None:
    """The same values (set lines, ids translated) and table rows; no English text left."""

    def sets(content: str) -> list[str]:
        return [line for line in content.splitlines() if line.startswith("{% set ")]

    translated = [
        re.sub(r"'([a-z_]+\.[a-z0-9_]+)'", lambda m: f"'{translated_id(m[1], 'de')}'", line)
        for line in sets(english)
    ]
    assert sets(german) == translated
    rows = [line for line in english.splitlines() if line.startswith("|")]
    assert len([line for line in german.splitlines() if line.startswith("|")]) == len(rows)
    neutral = {"%.2f", "", " ", " —", "unknown", "unavailable"}
    words = {
        literal
        for literal in re.findall(r"'([^']*)'", english)
        if literal not in neutral and not re.fullmatch(r"[a-z_]+\.[a-z0-9_]+", literal)
    }
    assert {"producing", " charging", " export"} <= words
    for literal in words:
        assert f"'{literal}'" not in german, literal
    for phrase in ("without the car", "**Battery**", "**House**", "**Car**", "**Grid**"):
        assert phrase in english
        assert phrase not in german


def test_german_dashboard_is_the_english_one_translated() -> None:
    """dashboard.de.yaml: the same cards and options, the German ids, German texts."""
    texts: list[tuple[str, str]] = []
    _same_cards(DASHBOARD, DASHBOARD_DE, "dashboard", texts)
    assert len(texts) > 50
    untranslated = {english for english, german in texts if english == german}
    assert untranslated <= SAME_IN_BOTH
    assert checks.dashboard_entities(DASHBOARD_DE) == {
        translated_id(entity, "de") for entity in checks.dashboard_entities(DASHBOARD)
    }


def test_demo_dashboard_shortens_every_history_graph() -> None:
    """The demo's copy: every history graph spans HISTORY_HOURS, nothing else changes."""
    assert 0 < HISTORY_HOURS < 1
    for text in DASHBOARD_TEXTS.values():
        original, written = yaml.safe_load(text), yaml.safe_load(demo_dashboard(text))
        graphs = [c for c in cards(original["views"]) if c["type"] == "history-graph"]
        assert graphs
        assert all("hours_to_show" in graph for graph in graphs)
        for graph in graphs:
            graph["hours_to_show"] = HISTORY_HOURS
        assert written == original
    with pytest.raises(ValueError, match="hours_to_show"):
        demo_dashboard("title: x\n")
