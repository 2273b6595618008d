"""Surplus charging end to end: four simulated devices on one site, Home Assistant, the car."""

from __future__ import annotations

import json
import re

import pytest
from homeassistant.const import STATE_ON
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util

from custom_components.solar_wallbox.charging.model import SiteInput, WallboxInput
from custom_components.solar_wallbox.charging_manager import solar_fraction
from custom_components.solar_wallbox.const import (
    CONF_BATTERY_ENTRY,
    CONF_GRID_ENTRY,
    DOMAIN,
    EVENT_CHARGING_STARTED,
    EVENT_CHARGING_STOPPED,
)
from simulator.car import CarConfig

from .sites import MARIA_TAG, Site, W, record_into


async def test_a_day_with_maria(hass: HomeAssistant, site: Site) -> None:
    events: list[Event] = []
    hass.bus.async_listen(EVENT_CHARGING_STARTED, record_into(events))
    hass.bus.async_listen(EVENT_CHARGING_STOPPED, record_into(events))
    switch = f"switch.{W}surplus_charging"
    assert site.state(switch) == "off"
    assert site.state("decision") == "surplus_off"
    await site.call("switch", "turn_on", switch)
    await site.run(4)
    assert site.state("decision") == "no_vehicle"
    assert site.limit == 0  # idle current 0: a car does not start at full power

    # Maria plugs in: the initial phase signals 8 A regardless of the surplus.
    site.charger.plug_in(CarConfig(tag=MARIA_TAG))
    await site.run(10)
    assert site.state("active_vehicle") == "Maria"
    assert site.state("rfid_tag") == "Maria"
    assert site.state("decision") == "initial_phase"
    assert site.limit == 8

    # After 180 s: surplus charging, 9000 W PV − 600 W house = 8400 W → 12 A on three
    # phases (11 A when the readings at the last step up were taken mid-ramp).
    await site.run(200)
    assert site.state("decision") == "charging_surplus"
    assert site.limit in (11, 12)
    assert float(site.state("charging_power")) > 7000
    assert float(site.state("session_solar_energy")) > 0
    # On pure surplus (grid about 0) nearly all the metered session energy is solar.
    assert float(site.state("session_solar_share")) > 80

    # Clouds: the current drops at once, then charging pauses after the deficit energy.
    site.model.pv_override = 2500.0
    await site.run(4)
    assert site.limit == 6
    assert site.state("decision") == "holding_min"
    # The second start of the day: Stop energy 80 Wh × 20 / 19 starts left = 84 Wh, at
    # 4140 − 1900 − 1000 W battery support = 1240 W short that is about 245 s.
    await site.run(200)
    assert site.limit == 6
    await site.run(100)
    assert site.limit == 0
    assert site.state("decision") in {"waiting_for_surplus", "min_off_time"}

    # The sun is back: a start after the surplus energy and the minimum off time.
    site.model.pv_override = 9000.0
    await site.run(200)
    assert site.limit >= 6
    assert [e.event_type for e in events] == [
        EVENT_CHARGING_STARTED,
        EVENT_CHARGING_STOPPED,
        EVENT_CHARGING_STARTED,
    ]
    assert events[1].data["reason"] == "stopping"
    assert site.state("starts_today") == "2"


async def test_rcm_alarm_stops_until_acknowledged(hass: HomeAssistant, site: Site) -> None:
    await site.call("switch", "turn_on", f"switch.{W}surplus_charging")
    await site.call("select", "select_option", f"select.{W}charge_mode", option="fast")
    site.charger.plug_in(CarConfig(tag=MARIA_TAG))
    await site.run(10)
    assert site.limit == 16
    button = f"button.{W}acknowledge_rcm_alarm"
    with pytest.raises(ServiceValidationError) as nothing:
        await site.call("button", "press", button)
    assert nothing.value.translation_key == "rcm_nothing_to_acknowledge"
    site.dctr.force_alarm("dc", 12)
    await site.run(2)
    assert site.limit == 0
    assert site.state("decision") == "rcm_alarm"
    # Pressed while the monitor still reports the alarm: refused, and it says why.
    with pytest.raises(ServiceValidationError) as active:
        await site.call("button", "press", button)
    assert active.value.translation_key == "rcm_alarm_still_active"
    await site.run(2)
    assert site.limit == 0
    site.dctr.clear()
    await site.run(6)
    assert site.limit == 0
    assert site.state("decision") == "rcm_latched"
    await site.call("button", "press", button)
    await site.run(2)
    assert site.limit == 16
    assert site.state("decision") == "fast"


async def test_modes_and_switch(hass: HomeAssistant, site: Site) -> None:
    site.charger.plug_in(CarConfig(tag=None))
    await site.run(200)  # past the initial phase
    # Surplus charging off: nothing is written, the number is the user's.
    await site.call("number", "set_value", f"number.{W}current_limit", value=10)
    await site.run(10)
    assert site.limit == 10
    await site.call("switch", "turn_on", f"switch.{W}surplus_charging")
    await site.call("select", "select_option", f"select.{W}charge_mode", option="off")
    await site.run(2)
    assert site.limit == 0
    assert site.state("decision") == "mode_off"
    await site.call("select", "select_option", f"select.{W}charge_mode", option="min_pv")
    site.model.pv_override = 0.0
    await site.run(4)
    assert site.limit == 6  # never below the minimum, grid tops up
    await site.call("number", "set_value", f"number.{W}min_current", value=8)
    await site.run(2)
    assert site.limit == 8


async def test_current_limit_by_hand(
    hass: HomeAssistant, site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    """Refused while surplus charging is on; the user's own values never look foreign."""
    number = f"number.{W}current_limit"
    switch = f"switch.{W}surplus_charging"
    site.charger.plug_in(CarConfig(tag=None))
    await site.call("switch", "turn_on", switch)
    await site.call("select", "select_option", f"select.{W}charge_mode", option="fast")
    await site.run(4)
    assert site.limit == 16
    written = len(site.charger.writes)
    with pytest.raises(ServiceValidationError) as refused:
        await site.call("number", "set_value", number, value=10)
    assert refused.value.translation_key == "surplus_charging_on"
    assert len(site.charger.writes) == written  # nothing was sent
    # Off, set by hand, on again, three times within minutes: no repair blames anyone.
    for amps in (10, 8, 12):
        await site.call("switch", "turn_off", switch)
        await site.call("number", "set_value", number, value=amps)
        await site.run(4)
        assert site.limit == amps
        await site.call("switch", "turn_on", switch)
        await site.run(4)
        assert site.limit == 16
    issue_id = f"current_limit_overwritten_{site.wallbox.entry_id}"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    assert "another energy manager" not in caplog.text  # not even a warning in the log


async def test_stale_grid_meter_gives_the_safe_state(hass: HomeAssistant, site: Site) -> None:
    await site.call("switch", "turn_on", f"switch.{W}surplus_charging")
    await site.call("select", "select_option", f"select.{W}charge_mode", option="fast")
    site.charger.plug_in(CarConfig(tag=None))
    await site.run(4)
    await site.call("select", "select_option", f"select.{W}charge_mode", option="pv")
    await site.run(300)
    assert site.limit > 0
    await site.servers["pac2200"].stop()
    await site.run(20)
    assert site.limit == 0
    assert site.state("decision") == "site_stale"


async def test_restart_mid_session_without_a_stop(hass: HomeAssistant, site: Site) -> None:
    await site.call("switch", "turn_on", f"switch.{W}surplus_charging")
    site.charger.plug_in(CarConfig(tag=None))
    await site.run(300)
    before = site.limit
    assert before in (11, 12)  # 8400 W surplus, at the edge of one ampere
    starts = site.state("starts_today")
    solar = float(site.state("session_solar_energy"))
    assert solar > 0
    # Home Assistant restarts: the wallbox entry is reloaded, the switch restored.
    assert await hass.config_entries.async_reload(site.wallbox.entry_id)
    await hass.async_block_till_done()
    assert site.state(f"switch.{W}surplus_charging") == STATE_ON
    await site.run(6)
    assert site.limit == before  # continued, not paused and started again
    assert site.state("decision") == "charging_surplus"
    assert float(site.state("session_solar_energy")) > solar  # the count continues
    assert int(site.state("starts_today")) <= int(starts)


async def test_rcm_lockout_survives_a_restart(hass: HomeAssistant, site: Site) -> None:
    await site.call("switch", "turn_on", f"switch.{W}surplus_charging")
    await site.call("select", "select_option", f"select.{W}charge_mode", option="fast")
    site.charger.plug_in(CarConfig(tag=None))
    site.dctr.force_alarm("dc", 12)
    await site.run(4)
    site.dctr.clear()
    await site.run(4)
    assert site.state("decision") == "rcm_latched"
    assert await hass.config_entries.async_reload(site.wallbox.entry_id)
    await hass.async_block_till_done()
    await site.run(4)
    assert site.limit == 0
    assert site.state("decision") == "rcm_latched"  # still needs the acknowledgement


async def test_session_limit_for_a_profiled_vehicle(hass: HomeAssistant, site: Site) -> None:
    await site.call("switch", "turn_on", f"switch.{W}surplus_charging")
    await site.call("select", "select_option", f"select.{W}charge_mode", option="fast")
    site.charger.plug_in(CarConfig(tag="04 a1 b2 c3 d4 e5 f6"))  # spaces and case differ
    await site.run(60)
    assert site.state("active_vehicle") == "Maria"
    assert site.limit == 16
    await site.call(
        "number", "set_value", f"number.{W}energy_limit", value=0.5
    )  # kWh, for the running session
    await site.run(120)
    assert site.limit == 0
    assert site.state("decision") == "session_limit"


async def test_repairs_and_diagnostics(hass: HomeAssistant, site: Site) -> None:
    from homeassistant.helpers import issue_registry as ir  # noqa: PLC0415

    from custom_components.solar_wallbox.diagnostics import (  # noqa: PLC0415
        async_get_config_entry_diagnostics,
    )

    registry = ir.async_get(hass)
    wallbox_id = site.wallbox.entry_id
    await site.call("switch", "turn_on", f"switch.{W}surplus_charging")
    site.charger.plug_in(CarConfig(tag=MARIA_TAG))
    await site.run(200)  # past the initial phase
    # The grid meter stops answering: safe state at once, a repair issue after 2 minutes.
    await site.servers["pac2200"].stop()
    await site.run(60)
    assert registry.async_get_issue(DOMAIN, f"site_data_stale_{wallbox_id}") is None
    await site.run(80)
    assert registry.async_get_issue(DOMAIN, f"site_data_stale_{wallbox_id}") is not None
    # The charger stops answering while surplus charging is on.
    await site.servers["amtron"].stop()
    await site.run(4)
    assert registry.async_get_issue(DOMAIN, f"charger_unreachable_{wallbox_id}") is not None
    await site.call("switch", "turn_off", f"switch.{W}surplus_charging")
    assert registry.async_get_issue(DOMAIN, f"charger_unreachable_{wallbox_id}") is None
    diag = await async_get_config_entry_diagnostics(hass, site.wallbox)
    decisions = diag["surplus_charging"]["decisions"]
    assert decisions
    assert decisions[-1]["reason"] == "site_stale"
    # Every change of reason is kept, also those long out of the last 50 decisions.
    changes = [c["reason"] for c in diag["surplus_charging"]["changes"]]
    assert changes[:2] == ["no_vehicle", "initial_phase"]
    assert "site_stale" in changes
    assert len(decisions) == 50
    assert decisions[0]["at"] > diag["surplus_charging"]["changes"][0]["at"]
    state = diag["surplus_charging"]["state"]
    assert state["active_vehicle"] == "Maria"
    assert state["starts_today"] >= 1
    assert state["lockout"] == {
        "latched": False,
        "since": None,
        "alarm": None,
        "acknowledged": False,
    }
    assert {"start_energy", "stop_energy", "session_solar_energy"} <= state.keys()
    assert diag["surplus_charging"]["units"]["state.start_energy"] == "Wh"
    assert "frozenset" not in json.dumps(diag, default=repr)  # plain JSON values only
    assert MARIA_TAG not in repr(diag)
    assert diag["surplus_charging"]["settings"]["vehicles"][0]["name"] == "Maria"


async def test_e3dc_as_grid_meter_and_missing_links(hass: HomeAssistant, site: Site) -> None:
    """The E3DC can be the grid meter; a linked RCM that is not loaded means no charging."""
    options = dict(site.wallbox.options)
    options[CONF_GRID_ENTRY] = site.entries["e3dc"].entry_id
    options.pop(CONF_BATTERY_ENTRY)
    options["unknown_tag"] = "block"
    hass.config_entries.async_update_entry(site.wallbox, options=options)
    await hass.async_block_till_done()
    await site.call("switch", "turn_on", f"switch.{W}surplus_charging")
    site.charger.plug_in(CarConfig(tag="CAFE"))
    await site.run(6)
    assert site.state("decision") == "vehicle_blocked"
    site.charger.unplug()
    await site.run(6)
    site.charger.plug_in(CarConfig(tag=MARIA_TAG))
    await site.run(200)
    assert site.state("decision") == "charging_surplus"
    assert float(site.state("available_power")) > 4000
    assert await hass.config_entries.async_unload(site.entries["dctr"].entry_id)
    await site.run(4)
    assert site.limit == 0
    assert site.state("decision") == "rcm_stale"


async def test_rcm_lockout_repair_issue_and_fix_flow(hass: HomeAssistant, site: Site) -> None:
    """The lockout is a fixable repair issue; fixing it acknowledges once the alarm is gone."""
    from homeassistant.components.repairs import repairs_flow_manager  # noqa: PLC0415
    from homeassistant.data_entry_flow import FlowResultType  # noqa: PLC0415
    from homeassistant.helpers import issue_registry as ir  # noqa: PLC0415
    from homeassistant.setup import async_setup_component  # noqa: PLC0415

    assert await async_setup_component(hass, "repairs", {})
    registry = ir.async_get(hass)
    issue_id = f"rcm_lockout_{site.wallbox.entry_id}"
    await site.call("switch", "turn_on", f"switch.{W}surplus_charging")
    await site.call("select", "select_option", f"select.{W}charge_mode", option="fast")
    site.charger.plug_in(CarConfig(tag=None))
    await site.run(4)
    assert registry.async_get_issue(DOMAIN, issue_id) is None
    site.dctr.force_alarm("dc", 12)
    await site.run(4)
    issue = registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.is_fixable
    assert issue.severity is ir.IssueSeverity.CRITICAL
    # It names the monitor, the alarm and what it measured, and when.
    placeholders = issue.translation_placeholders or {}
    title = site.entries["dctr"].title
    assert re.fullmatch(rf"{re.escape(title)}: alarm A(\+B)?, DC \d+ mA", placeholders["alarm"])
    assert int(placeholders["alarm"].split("DC ")[1].split(" ")[0]) >= 12
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", placeholders["since"])
    manager = repairs_flow_manager(hass)
    assert manager is not None
    # While the alarm is active it cannot be acknowledged.
    result = await manager.async_init(DOMAIN, data={"issue_id": issue_id})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "alarm_active"
    site.dctr.clear()
    await site.run(4)
    assert site.state("decision") == "rcm_latched"
    assert registry.async_get_issue(DOMAIN, issue_id) is not None
    result = await manager.async_init(DOMAIN, data={"issue_id": issue_id})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "confirm"
    result = await manager.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await site.run(4)
    assert site.state("decision") == "fast"
    assert site.limit == 16
    assert registry.async_get_issue(DOMAIN, issue_id) is None


async def test_rcm_lockout_fix_flow_without_a_loaded_wallbox(
    hass: HomeAssistant, site: Site
) -> None:
    from homeassistant.data_entry_flow import FlowResultType  # noqa: PLC0415

    from custom_components.solar_wallbox.repairs import async_create_fix_flow  # noqa: PLC0415

    flow = await async_create_fix_flow(hass, "rcm_lockout_x", {"entry_id": "missing"})
    flow.hass = hass
    result = await flow.async_step_init()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "entry_not_loaded"
    # A loaded entry of another kind has no charging manager.
    flow = await async_create_fix_flow(hass, "x", {"entry_id": site.entries["dctr"].entry_id})
    flow.hass = hass
    result = await flow.async_step_init()
    assert result["reason"] == "entry_not_loaded"


async def test_another_energy_manager_overwriting_the_limit(
    hass: HomeAssistant, site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    """Three overwrites of register 1000 within 10 minutes raise a repair issue; it goes
    once nothing has overwritten the limit for 10 minutes."""
    from homeassistant.helpers import issue_registry as ir  # noqa: PLC0415

    registry = ir.async_get(hass)
    issue_id = f"current_limit_overwritten_{site.wallbox.entry_id}"
    await site.call("switch", "turn_on", f"switch.{W}surplus_charging")
    await site.call("select", "select_option", f"select.{W}charge_mode", option="fast")
    site.charger.plug_in(CarConfig(tag=None))
    await site.run(10)
    assert site.limit == 16
    for round_ in range(3):
        site.charger.write_registers(1000, [7])  # someone else writes 7 A
        await site.run(4)
        assert site.limit == 16  # written back
        issue = registry.async_get_issue(DOMAIN, issue_id)
        assert (issue is not None) == (round_ == 2)
    assert issue is not None
    assert issue.translation_placeholders == {"title": "amtron", "found": "7", "written": "16"}
    assert "not the 16 A written last" in caplog.text
    await site.run(9 * 60)
    assert registry.async_get_issue(DOMAIN, issue_id) is not None
    await site.run(90)
    assert registry.async_get_issue(DOMAIN, issue_id) is None


async def test_decision_history_has_no_copies(hass: HomeAssistant, site: Site) -> None:
    """The RCM poll right after the grid poll does not add a copy of the same decision."""
    manager = site.wallbox.runtime_data.charging
    await site.call("switch", "turn_on", f"switch.{W}surplus_charging")
    site.charger.plug_in(CarConfig(tag=None))
    await site.run(20)
    history = list(manager.history)
    assert 5 <= len(history) <= 12  # one per step (10 steps), not two or three
    keys = [(h["site"], h["wallbox"], h["current"], h["reason"]) for h in history]
    assert len(set(map(repr, keys))) == len(keys)


@pytest.mark.parametrize(
    ("grid", "battery", "power", "expected"),
    [
        (-500.0, 0.0, 4000.0, 1.0),  # export: all of the car's power is surplus
        (1000.0, 0.0, 4000.0, 0.75),  # 1 kW from the grid
        (1000.0, -1000.0, 4000.0, 0.5),  # and 1 kW from the home battery
        (0.0, 2000.0, 4000.0, 1.0),  # the battery charging takes nothing from the car
        (5000.0, 0.0, 4000.0, 0.0),  # more import than the car draws
        (0.0, 0.0, 0.0, 0.0),  # not charging
    ],
)
def test_solar_fraction(grid: float, battery: float, power: float, expected: float) -> None:
    """The share of the car's power that is surplus, which each meter increment gets."""
    now = dt_util.utcnow()
    site_input = SiteInput(
        measured_at=now, grid_power=grid, battery_power=battery, battery_soc=50, pv_power=None
    )
    wallbox = WallboxInput(
        measured_at=now,
        connected=True,
        power=power,
        currents=(0.0, 0.0, 0.0),
        current_limit=16,
        session_energy=0.0,
        session_duration=0.0,
        rfid_tag=None,
        device_min_current=6,
        device_max_current=16,
    )
    assert solar_fraction(site_input, wallbox) == pytest.approx(expected)
    assert solar_fraction(None, wallbox) is None
