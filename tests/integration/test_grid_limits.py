"""Grid connection limits in Home Assistant (charging_limits.py): the inputs, the options
step, the events, the logbook lines and the repair issues.

The site (tests/integration/sites.py) links the simulated PAC2200 as grid meter and the
simulated E3DC as home battery. Phase currents, the §14a signal and the curtailment signal
come from real entities: template sensors and binary sensors that follow input helpers the
test sets.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from homeassistant.components import automation
from homeassistant.components.device_automation import DeviceAutomationType
from homeassistant.core import Event, HomeAssistant, ServiceCall
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    async_capture_events,
    async_get_device_automations,
)

from custom_components.solar_wallbox.charging.model import Decision, Reason, SiteInput
from custom_components.solar_wallbox.charging_limits import (
    ISSUE_DIMMING_UNAVAILABLE,
    ISSUE_FUSE_WITHOUT_PHASE_CURRENTS,
    GridLimits,
)
from custom_components.solar_wallbox.charging_manager import settings_from_options
from custom_components.solar_wallbox.const import (
    CONF_BATTERY_ENTRY,
    CONF_CURTAILMENT_ENTITY,
    CONF_DIMMING_ENTITY,
    CONF_DIMMING_POWER,
    CONF_FUSE_CURRENT,
    CONF_FUSE_MARGIN,
    CONF_GRID_ENTRY,
    CONF_PHASE_CURRENT_ENTITIES,
    DOMAIN,
    EVENT_FUSE_LIMIT,
    EVENT_GRID_DIMMING,
)
from custom_components.solar_wallbox.logbook import async_load_translations, describe
from simulator.car import CarConfig
from simulator.e3dc import E3dcDevice
from simulator.pac2200 import CURRENT, Pac2200Device

from .sites import Site, W

PHASES_A = ("sensor.grid_l1", "sensor.grid_l2", "sensor.grid_l3")
PHASES_MA = ("sensor.grid_l1_ma", "sensor.grid_l2_ma", "sensor.grid_l3_ma")
DIMMING = "binary_sensor.control_box"  # §14a relay contact, unavailable while the box is off
CURTAILMENT = "binary_sensor.inverter_curtailed"
POWER_SENSOR = "sensor.grid_power_w"


async def _helpers(hass: HomeAssistant) -> None:
    """Input helpers the test sets, and template entities that follow them."""
    assert await async_setup_component(
        hass,
        "input_number",
        {
            "input_number": {
                f"l{i}": {"min": 0, "max": 100000, "step": 0.1, "initial": 5} for i in (1, 2, 3)
            }
        },
    )
    assert await async_setup_component(
        hass,
        "input_boolean",
        {
            "input_boolean": {
                "relay": {"initial": False},
                "box_online": {"initial": True},
                "curtailed": {"initial": False},
            }
        },
    )
    current = {"device_class": "current", "state_class": "measurement"}
    sensors: list[dict[str, Any]] = [
        {
            "name": f"grid_l{i}",
            "state": f"{{{{ states('input_number.l{i}') }}}}",
            "unit_of_measurement": "A",
            **current,
        }
        for i in (1, 2, 3)
    ]
    sensors += [
        {
            "name": f"grid_l{i}_ma",
            "state": f"{{{{ states('input_number.l{i}') | float * 1000 }}}}",
            "unit_of_measurement": "mA",
            **current,
        }
        for i in (1, 2, 3)
    ]
    sensors.append(
        {
            "name": "grid_power_w",
            "state": "100",
            "unit_of_measurement": "W",
            "device_class": "power",
        }
    )
    binary_sensors = [
        {
            "name": "control_box",
            "state": "{{ is_state('input_boolean.relay', 'on') }}",
            "availability": "{{ is_state('input_boolean.box_online', 'on') }}",
        },
        {"name": "inverter_curtailed", "state": "{{ is_state('input_boolean.curtailed', 'on') }}"},
    ]
    assert await async_setup_component(
        hass, "template", {"template": [{"sensor": sensors, "binary_sensor": binary_sensors}]}
    )
    await hass.async_block_till_done()


async def _currents(hass: HomeAssistant, l1: float, l2: float, l3: float) -> None:
    for i, value in enumerate((l1, l2, l3), start=1):
        await hass.services.async_call(
            "input_number", "set_value", {"entity_id": f"input_number.l{i}", "value": value}
        )
    await hass.async_block_till_done()


async def _options(site: Site, **changes: Any) -> None:
    """Change the wallbox's options (the update listener reloads it)."""
    options = {k: v for k, v in {**site.wallbox.options, **changes}.items() if v is not None}
    site.hass.config_entries.async_update_entry(site.wallbox, options=options)
    await site.hass.async_block_till_done()


async def _turn(site: Site, service: str, entity_id: str) -> None:
    """Switch an input boolean and wait for the decision it gives (a background task)."""
    await site.call("input_boolean", service, entity_id)
    await site.hass.async_block_till_done(wait_background_tasks=True)


def _limits(site: Site) -> GridLimits:
    return site.wallbox.runtime_data.charging.sources.limits


def _site(site: Site) -> SiteInput:
    found = site.wallbox.runtime_data.charging.sources.site()
    assert found is not None
    return found


def _pac2200(site: Site) -> Pac2200Device:
    device = site.servers["pac2200"].device
    assert isinstance(device, Pac2200Device)
    return device


def _e3dc(site: Site) -> E3dcDevice:
    device = site.servers["e3dc"].device
    assert isinstance(device, E3dcDevice)
    return device


def _issue(hass: HomeAssistant, site: Site, key: str) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, f"{key}_{site.wallbox.entry_id}")


# -- the options step -------------------------------------------------------------------


async def test_options_step(hass: HomeAssistant, site: Site) -> None:
    await _helpers(hass)

    async def open_step() -> str:
        result = await hass.config_entries.options.async_init(site.wallbox.entry_id)
        assert result["type"] is FlowResultType.MENU
        assert "grid_connection" in result["menu_options"]
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {"next_step_id": "grid_connection"}
        )
        assert result["type"] is FlowResultType.FORM
        assert result["step_id"] == "grid_connection"
        return str(result["flow_id"])

    valid = {CONF_FUSE_CURRENT: 35, CONF_FUSE_MARGIN: 2, CONF_DIMMING_POWER: 4200}
    errors = [
        ({**valid, CONF_FUSE_MARGIN: 35}, CONF_FUSE_MARGIN, "margin_not_below_fuse"),
        (
            {**valid, CONF_PHASE_CURRENT_ENTITIES: list(PHASES_A[:2])},
            CONF_PHASE_CURRENT_ENTITIES,
            "three_phase_entities",
        ),
        (
            {**valid, CONF_PHASE_CURRENT_ENTITIES: [PHASES_A[0], PHASES_A[0], PHASES_A[1]]},
            CONF_PHASE_CURRENT_ENTITIES,
            "three_phase_entities",
        ),
        (
            {**valid, CONF_PHASE_CURRENT_ENTITIES: [*PHASES_A[:2], POWER_SENSOR]},
            CONF_PHASE_CURRENT_ENTITIES,
            "phase_entity_not_current",
        ),
        ({**valid, CONF_FUSE_CURRENT: float("nan")}, CONF_FUSE_CURRENT, "invalid_number"),
    ]
    flow_id = await open_step()
    for user_input, field, error in errors:
        result = await hass.config_entries.options.async_configure(flow_id, user_input)
        assert result["type"] is FlowResultType.FORM, user_input
        assert result["errors"] == {field: error}, user_input
    # Entities of another domain: the selector refuses them.
    with pytest.raises(InvalidData):
        await hass.config_entries.options.async_configure(
            flow_id, {**valid, CONF_DIMMING_ENTITY: POWER_SENSOR}
        )
    flow_id = await open_step()
    result = await hass.config_entries.options.async_configure(
        flow_id,
        {
            **valid,
            CONF_PHASE_CURRENT_ENTITIES: list(PHASES_MA),
            CONF_DIMMING_ENTITY: DIMMING,
            CONF_CURTAILMENT_ENTITY: CURTAILMENT,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    options = site.wallbox.options
    assert options[CONF_FUSE_CURRENT] == 35.0
    assert options[CONF_PHASE_CURRENT_ENTITIES] == list(PHASES_MA)
    assert options[CONF_DIMMING_ENTITY] == DIMMING
    assert options[CONF_GRID_ENTRY] == site.entries["pac2200"].entry_id  # untouched
    settings = site.wallbox.runtime_data.charging.settings
    assert (settings.fuse_current, settings.fuse_margin, settings.dimming_power) == (35, 2, 4200)
    # Entities left empty are removed; the numbers stay.
    flow_id = await open_step()
    result = await hass.config_entries.options.async_configure(flow_id, {**valid})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert CONF_DIMMING_ENTITY not in site.wallbox.options
    assert CONF_PHASE_CURRENT_ENTITIES not in site.wallbox.options
    assert site.wallbox.options[CONF_FUSE_MARGIN] == 2.0


def test_settings_from_options() -> None:
    settings = settings_from_options(
        {CONF_FUSE_CURRENT: 25, CONF_FUSE_MARGIN: 1.5, CONF_DIMMING_POWER: 5000}
    )
    assert (settings.fuse_current, settings.fuse_margin, settings.dimming_power) == (25, 1.5, 5000)
    assert settings_from_options({}).dimming_power == 4200


# -- inputs ----------------------------------------------------------------------------------


async def test_phase_currents_from_the_pac2200(hass: HomeAssistant, site: Site) -> None:
    """The meter's own L1..L3, as the simulator computes them; entities are not used."""
    site.model.pv_override = 0.0
    site.model.loads["cooker"] = (4000.0, 0.0, 1500.0)
    await _helpers(hass)
    await _options(site, **{CONF_PHASE_CURRENT_ENTITIES: list(PHASES_A)})
    await site.run(2)
    expected = _pac2200(site).values()
    currents = _site(site).phase_currents
    assert currents is not None
    assert currents == pytest.approx([expected[address] for address in CURRENT], rel=1e-5)
    assert currents[0] > currents[1] + 15  # the cooker's phase (the entities say 5 A)
    assert _limits(site).meter_has_phase_currents()
    # The meter cannot read one phase: the entities stand in; without them, none.
    _pac2200(site).nan_registers = {CURRENT[1]}
    await site.run(2)
    assert _site(site).phase_currents == (5.0, 5.0, 5.0)
    await _options(site, **{CONF_PHASE_CURRENT_ENTITIES: None})
    await site.run(2)
    assert _site(site).phase_currents is None


async def test_phase_currents_from_the_pac2200_are_signed(hass: HomeAssistant, site: Site) -> None:
    """A phase that feeds PV into the grid has a negative current (the sign of its power),
    so the fuse leaves the car more room there (README.md, "Grid connection settings")."""
    site.model.pv_override = 9000.0
    site.model.loads["cooker"] = (4000.0, 0.0, 0.0)
    await site.run(2)
    phases = site.model.grid_phase_w()
    assert phases[0] > 0 > phases[1]  # the cooker's phase imports, the others export
    expected = _pac2200(site).values()
    currents = _site(site).phase_currents
    assert currents is not None
    magnitudes = [expected[address] for address in CURRENT]
    signed = [m if p >= 0 else -m for m, p in zip(magnitudes, phases, strict=True)]
    assert currents == pytest.approx(signed, rel=1e-5)
    assert currents[0] > 0 > currents[1]


@pytest.mark.parametrize("entities", [PHASES_A, PHASES_MA])
async def test_phase_currents_from_entities(
    hass: HomeAssistant, site: Site, entities: tuple[str, ...]
) -> None:
    """An E3DC as grid meter gives no phase currents: three sensors do, in A or mA."""
    await _helpers(hass)
    await _options(
        site,
        **{
            CONF_GRID_ENTRY: site.entries["e3dc"].entry_id,
            CONF_PHASE_CURRENT_ENTITIES: list(entities),
            CONF_FUSE_CURRENT: 25,
        },
    )
    await _currents(hass, 12.5, 3.25, 20)
    await site.run(2)
    assert _site(site).phase_currents == pytest.approx((12.5, 3.25, 20))
    assert not _limits(site).meter_has_phase_currents()
    # One phase not numeric: none at all.
    hass.states.async_set(entities[2], "unavailable", {"unit_of_measurement": "A"})
    assert _site(site).phase_currents is None
    await _currents(hass, 12.5, 3.25, 21)
    assert _site(site).phase_currents == pytest.approx((12.5, 3.25, 21))
    # Last reported longer ago than the stale timeout (15 s): none.
    state = hass.states.get(entities[0])
    assert state is not None
    hass.states.async_set(entities[0], state.state, state.attributes, timestamp=time.time() - 16)
    assert _site(site).phase_currents is None
    hass.states.async_set(entities[0], state.state, state.attributes, timestamp=time.time() - 14)
    assert _site(site).phase_currents == pytest.approx((12.5, 3.25, 21))


async def test_dimming_signal(hass: HomeAssistant, site: Site) -> None:
    """On → dimmed; off → not; unavailable → dimmed (fail-safe) and a repair issue."""
    await _helpers(hass)
    assert _site(site).dimmed is None  # no signal linked
    await _options(site, **{CONF_DIMMING_ENTITY: DIMMING})
    await site.call("switch", "turn_on", f"switch.{W}surplus_charging")
    events = async_capture_events(hass, EVENT_GRID_DIMMING)
    await site.run(2)
    assert _site(site).dimmed is False
    assert events == []
    # The relay closes: a decision at once, without waiting for the next meter reading.
    decisions = len(site.wallbox.runtime_data.charging.history)
    await _turn(site, "turn_on", "input_boolean.relay")
    assert _site(site).dimmed is True
    assert [e.data["state"] for e in events] == ["started"]
    assert events[0].data["signal"] == "on"
    assert events[0].data["dimming_power"] == 4200
    assert len(site.wallbox.runtime_data.charging.history) > decisions
    await _turn(site, "turn_off", "input_boolean.relay")
    assert _site(site).dimmed is False
    assert [e.data["state"] for e in events] == ["started", "ended"]
    # The control box goes offline: dimmed to be safe, said in the event, then a repair.
    await _turn(site, "turn_off", "input_boolean.box_online")
    assert hass.states.get(DIMMING).state == "unavailable"
    assert _site(site).dimmed is True
    assert events[-1].data == {**events[-1].data, "state": "started", "signal": "unavailable"}
    assert _issue(hass, site, ISSUE_DIMMING_UNAVAILABLE) is None  # not at once
    await site.run(62)
    issue = _issue(hass, site, ISSUE_DIMMING_UNAVAILABLE)
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["entity"] == DIMMING
    assert len(events) == 3  # no new event while it stays lost
    await _turn(site, "turn_on", "input_boolean.box_online")
    await site.run(2)
    assert _issue(hass, site, ISSUE_DIMMING_UNAVAILABLE) is None
    assert [e.data["state"] for e in events][-1] == "ended"
    # The entity is removed altogether: dimmed as well.
    hass.states.async_remove(DIMMING)
    assert _site(site).dimmed is True


async def test_dimming_signal_loading_after_the_wallbox(hass: HomeAssistant, site: Site) -> None:
    """Not loaded yet at a start: capped (dimmed) without an event; loaded off: not dimmed."""
    await _options(site, **{CONF_DIMMING_ENTITY: DIMMING})
    events = async_capture_events(hass, EVENT_GRID_DIMMING)
    await site.call("switch", "turn_on", f"switch.{W}surplus_charging")
    await site.run(4)
    assert hass.states.get(DIMMING) is None
    assert _site(site).dimmed is True
    await _helpers(hass)
    await site.run(2)
    assert _site(site).dimmed is False
    assert events == []
    assert _issue(hass, site, ISSUE_DIMMING_UNAVAILABLE) is None


async def test_curtailment_from_the_e3dc_and_an_entity(hass: HomeAssistant, site: Site) -> None:
    """The E3DC's EMS bit 4 (linked as home battery here); else the binary sensor."""
    await _helpers(hass)
    await _options(site, **{CONF_CURTAILMENT_ENTITY: CURTAILMENT})
    await site.run(2)
    assert _site(site).curtailed is False
    _e3dc(site).ems_status |= 1 << 4
    await site.run(2)
    assert _site(site).curtailed is True
    sensor = [s for s in hass.states.async_all() if s.entity_id.endswith("curtailment_active")]
    assert [s.state for s in sensor] == ["on"]  # the E3DC's own binary sensor agrees
    # The E3DC says it: the entity does not count while the E3DC is linked.
    await _turn(site, "turn_on", "input_boolean.curtailed")
    _e3dc(site).ems_status &= ~(1 << 4)
    await site.run(2)
    assert _site(site).curtailed is False
    # Without the E3DC the binary sensor says it.
    await _options(site, **{CONF_BATTERY_ENTRY: None})
    await site.run(2)
    assert _site(site).curtailed is True
    await _turn(site, "turn_off", "input_boolean.curtailed")
    assert _site(site).curtailed is False
    await _options(site, **{CONF_CURTAILMENT_ENTITY: None})
    assert _site(site).curtailed is None


# -- events, logbook, device triggers, repairs ----------------------------------------------


async def test_fuse_limit_events_and_logbook(hass: HomeAssistant, site: Site) -> None:
    """Transitions of the reason FUSE_LIMIT (decisions made here: see the module docstring
    of charging_limits.py; the end-to-end test below has the controller make them)."""
    await async_load_translations(hass)
    limits = _limits(site)
    events = async_capture_events(hass, EVENT_FUSE_LIMIT)
    now = dt_util.utcnow()
    site_input = SiteInput(measured_at=now, grid_power=500, phase_currents=(22.5, 9, 9))
    for reason, cap in [
        (Reason.CHARGING_SURPLUS, 16),
        (Reason.FUSE_LIMIT, 10),
        (Reason.FUSE_LIMIT, 9),
        (Reason.CHARGING_SURPLUS, 16),
    ]:
        decision = Decision(current=min(cap, 16), reason=reason, write=False, fuse_cap=cap)
        limits.after_decision(now, decision, site_input)
    assert [e.data["state"] for e in events] == ["started", "ended"]
    assert events[0].data["cap"] == 10
    assert events[0].data["phase_currents"] == [22.5, 9, 9]
    device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, site.wallbox.unique_id)})
    assert device is not None
    assert events[0].data["device_id"] == device.id
    line = describe(hass, events[0])
    assert line["name"] == "Surplus charging"
    assert line["message"] == "Main fuse limit started (10 A, ≤ 10 A, 22.5 / 9.0 / 9.0 A)"
    assert describe(hass, events[1])["message"].startswith("Main fuse limit ended (16 A")
    dimming = Event(
        EVENT_GRID_DIMMING,
        {
            "state": "started",
            "current": 6,
            "cap": 6,
            "dimming_power": 4200.0,
            "signal": "unavailable",
        },
    )
    assert describe(hass, dimming)["message"] == (
        "Grid operator dimming started (§14a) (6 A, ≤ 6 A, 4200 W, unavailable)"
    )
    hass.config.language = "de"
    await async_load_translations(hass)
    assert describe(hass, events[0])["message"].startswith(
        "Begrenzung durch die Hauptsicherung begonnen"
    )


async def test_device_triggers_of_the_wallbox(hass: HomeAssistant, site: Site) -> None:
    await _helpers(hass)
    await _options(site, **{CONF_DIMMING_ENTITY: DIMMING})
    device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, site.wallbox.unique_id)})
    assert device is not None
    triggers = await async_get_device_automations(hass, DeviceAutomationType.TRIGGER, device.id)
    assert {t["type"] for t in triggers if t["domain"] == DOMAIN} == {
        "grid_dimming_started",
        "grid_dimming_ended",
        "fuse_limit_started",
        "fuse_limit_ended",
        "plan_set",  # departure plans (tests/integration/test_plans.py)
        "plan_impossible",
        "plan_reached",
    }
    calls: list[ServiceCall] = []
    hass.services.async_register("test", "record", calls.append)
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: [
                {
                    "trigger": {
                        "platform": "device",
                        "domain": DOMAIN,
                        "device_id": device.id,
                        "type": kind,
                    },
                    "action": {"service": "test.record", "data": {"kind": kind}},
                }
                for kind in ("grid_dimming_started", "grid_dimming_ended")
            ]
        },
    )
    await site.call("switch", "turn_on", f"switch.{W}surplus_charging")
    await site.run(2)
    await _turn(site, "turn_on", "input_boolean.relay")
    await _turn(site, "turn_off", "input_boolean.relay")
    assert [c.data["kind"] for c in calls] == ["grid_dimming_started", "grid_dimming_ended"]


async def test_repair_without_phase_currents(hass: HomeAssistant, site: Site) -> None:
    """A fuse with an E3DC as grid meter and no phase sensors: a repair issue at once."""
    await _helpers(hass)
    await _options(site, **{CONF_GRID_ENTRY: site.entries["e3dc"].entry_id, CONF_FUSE_CURRENT: 35})
    await site.call("switch", "turn_on", f"switch.{W}surplus_charging")
    await site.run(2)
    issue = _issue(hass, site, ISSUE_FUSE_WITHOUT_PHASE_CURRENTS)
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["fuse"] == "35"
    # Three sensors: the issue is gone.
    await _options(site, **{CONF_PHASE_CURRENT_ENTITIES: list(PHASES_A)})
    await site.run(2)
    assert _issue(hass, site, ISSUE_FUSE_WITHOUT_PHASE_CURRENTS) is None
    # The PAC2200 gives them: no issue either, and none without a fuse.
    await _options(site, **{CONF_GRID_ENTRY: site.entries["pac2200"].entry_id})
    await site.run(2)
    assert _issue(hass, site, ISSUE_FUSE_WITHOUT_PHASE_CURRENTS) is None


async def test_diagnostics(hass: HomeAssistant, site: Site) -> None:
    from custom_components.solar_wallbox.diagnostics import (  # noqa: PLC0415
        async_get_config_entry_diagnostics,
    )

    await _helpers(hass)
    await _options(site, **{CONF_DIMMING_ENTITY: DIMMING, CONF_FUSE_CURRENT: 35})
    await site.call("switch", "turn_on", f"switch.{W}surplus_charging")
    await site.run(2)
    diag = await async_get_config_entry_diagnostics(hass, site.wallbox)
    surplus = diag["surplus_charging"]
    assert surplus["settings"]["fuse_current"] == 35
    limits = surplus["grid_limits"]
    assert limits["dimming_entity"] == DIMMING
    assert limits["dimming_signal"] == "off"
    assert limits["meter_has_phase_currents"] is True
    assert len(limits["phase_currents"]) == 3
    assert len(surplus["decisions"][-1]["site"]["phase_currents"]) == 3
    assert surplus["units"]["site.phase_currents"] == "A per phase"


# -- end to end (they need the controller's grid limits: charging/controller.py) -------------


async def test_fuse_limit_end_to_end(hass: HomeAssistant, site: Site) -> None:
    """An evening: a cooker on L1 next to a car at 16 A on a 25 A fuse; the car gives way.

    No PV: the phase currents are magnitudes, so an exporting phase would look loaded.
    """
    site.model.pv_override = 0.0
    await _options(site, **{CONF_FUSE_CURRENT: 25, CONF_FUSE_MARGIN: 2})
    events = async_capture_events(hass, EVENT_FUSE_LIMIT)
    await site.call("switch", "turn_on", f"switch.{W}surplus_charging")
    await site.call("select", "select_option", f"select.{W}charge_mode", option="fast")
    site.charger.plug_in(CarConfig(tag=None))
    await site.run(20)
    assert site.limit == 16
    events.clear()
    site.model.loads["cooker"] = (3000.0, 0.0, 0.0)  # 3270 W on L1 with the house: 14 A
    await site.run(20)
    assert site.limit <= 8  # 23 A − 14.2 A leaves 8 A for the car
    currents = _site(site).phase_currents
    assert currents is not None
    assert max(currents) <= 23
    assert site.state("decision") == "fuse_limit"
    assert events[0].data["state"] == "started"
    del site.model.loads["cooker"]
    await site.run(60)
    assert site.limit == 16
    states = [e.data["state"] for e in events]
    assert states[-1] == "ended"
    assert states == ["started", "ended"] * (len(states) // 2)  # each start has its end


async def test_dimming_end_to_end(hass: HomeAssistant, site: Site) -> None:
    """§14a in Fast mode: at most 4200 W (6 A on three phases) while dimmed."""
    await _helpers(hass)
    await _options(site, **{CONF_DIMMING_ENTITY: DIMMING})
    await site.call("switch", "turn_on", f"switch.{W}surplus_charging")
    await site.call("select", "select_option", f"select.{W}charge_mode", option="fast")
    site.charger.plug_in(CarConfig(tag=None))
    await site.run(20)
    assert site.limit == 16
    await _turn(site, "turn_on", "input_boolean.relay")
    await site.run(2)
    assert site.limit == 6
    assert site.state("decision") == "grid_dimmed"
    await _turn(site, "turn_off", "input_boolean.relay")
    await site.run(20)
    assert site.limit == 16
