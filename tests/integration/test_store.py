"""The controller's memory in a Store: safety state that survives every restart.

Real Home Assistant harness: the store is HA's own ``Store`` on the harness's storage
backend (``hass_storage``), the entities are real, the devices are simulators on 127.0.0.1.
"""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers import restore_state
from homeassistant.util import dt as dt_util

from custom_components.solar_wallbox.charging.controller import SurplusController
from custom_components.solar_wallbox.charging.model import (
    LOCKOUT_STATE_UNREADABLE,
    Lockout,
    RcmInput,
    Settings,
    WallboxInput,
)
from custom_components.solar_wallbox.const import DOMAIN
from custom_components.solar_wallbox.diagnostics import async_get_config_entry_diagnostics
from custom_components.solar_wallbox.store import (
    ChargingMemory,
    SessionMemory,
    storage_key,
)
from simulator.car import CarConfig

from .sites import MARIA_TAG, Site, W

LIMIT = 1000  # register of the charging current limit


def _key(site: Site) -> str:
    return storage_key(site.wallbox.entry_id)


def _manager(site: Site) -> Any:
    return site.wallbox.runtime_data.charging


async def _latch(site: Site) -> None:
    """Fast charging, then an alarm that has cleared again: the lockout holds."""
    await site.call("switch", "turn_on", f"switch.{W}surplus_charging")
    await site.call("select", "select_option", f"select.{W}charge_mode", option="fast")
    site.charger.plug_in(CarConfig(tag=MARIA_TAG))
    await site.run(20)
    assert site.limit == 16
    site.dctr.force_alarm("dc", 12)
    await site.run(4)
    site.dctr.clear()
    await site.run(4)
    assert site.state("decision") == "rcm_latched"
    assert site.limit == 0


async def _acknowledge_by_repair(hass: HomeAssistant, site: Site) -> None:
    """The fix flow of the lockout's repair issue (works without any entity)."""
    from homeassistant.components.repairs import repairs_flow_manager  # noqa: PLC0415
    from homeassistant.setup import async_setup_component  # noqa: PLC0415

    assert await async_setup_component(hass, "repairs", {})
    manager = repairs_flow_manager(hass)
    assert manager is not None
    result = await manager.async_init(
        DOMAIN, data={"issue_id": f"rcm_lockout_{site.wallbox.entry_id}"}
    )
    assert result["step_id"] == "confirm"
    await manager.async_configure(result["flow_id"], {})
    await hass.async_block_till_done()


def _write_damaged(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"version": 1, "data": {"lockout": {"latched": tr')


def _writes_above_zero(site: Site, since: int) -> list[int]:
    return [v for a, v in site.charger.writes[since:] if a == LIMIT and v > 0]


async def test_restart_with_every_entity_disabled(
    hass: HomeAssistant, site: Site, hass_storage: dict[str, Any]
) -> None:
    """Disabled entities own nothing: lockout, starts and session solar energy survive."""
    await _latch(site)
    manager = _manager(site)
    starts, solar = manager.controller.starts_today, manager.session_solar_energy
    assert starts == 1
    assert solar > 0
    registry = er.async_get(hass)
    for entity in er.async_entries_for_config_entry(registry, site.wallbox.entry_id):
        registry.async_update_entity(entity.entity_id, disabled_by=er.RegistryEntryDisabler.USER)
    written = len(site.charger.writes)
    assert await hass.config_entries.async_reload(site.wallbox.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(f"switch.{W}surplus_charging") is None  # really no entity
    manager = _manager(site)
    assert manager.controller.rcm_latched
    assert manager.enabled
    await site.run(10)
    assert site.limit == 0
    assert not _writes_above_zero(site, written)
    assert manager.decision.reason == "rcm_latched"
    assert manager.controller.starts_today == starts
    assert manager.session_solar_energy >= round(solar, 3)  # continues (stored to 1 mWh)
    assert hass_storage[_key(site)]["data"]["lockout"]["latched"] is True
    # The acknowledgement still works (the repair issue needs no entity).
    await _acknowledge_by_repair(hass, site)
    await site.run(10)
    assert not manager.controller.rcm_latched
    assert site.limit == 16
    assert hass_storage[_key(site)]["data"]["lockout"]["latched"] is False


async def test_grid_reading_before_any_entity_is_added(
    hass: HomeAssistant, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A grid reading decided while the platforms are still loading writes no current."""
    await _latch(site)
    await hass.config_entries.async_unload(site.wallbox.entry_id)
    await hass.async_block_till_done()
    written = len(site.charger.writes)
    forward = hass.config_entries.async_forward_entry_setups
    decided: list[Any] = []

    async def readings_first(entry: Any, platforms: Any) -> None:
        # Before any entity exists: the meters deliver and the manager decides.
        if entry.entry_id == site.wallbox.entry_id:
            await site.run(6)
            decided.append(entry.runtime_data.charging.decision)
        await forward(entry, platforms)

    monkeypatch.setattr(hass.config_entries, "async_forward_entry_setups", readings_first)
    assert await hass.config_entries.async_setup(site.wallbox.entry_id)
    await hass.async_block_till_done()
    assert decided
    assert decided[0] is not None
    assert decided[0].reason == "rcm_latched"
    assert decided[0].current == 0
    await site.run(6)
    assert not _writes_above_zero(site, written)
    assert site.state("decision") == "rcm_latched"


@pytest.mark.parametrize("damage", ["undecodable_file", "unexpected_content", "newer_version"])
async def test_unreadable_store_fails_safe(
    hass: HomeAssistant,
    site: Site,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
    damage: str,
) -> None:
    """A damaged file: the entry loads, latched, with a repair issue; acknowledging clears it."""
    await site.call("switch", "turn_on", f"switch.{W}surplus_charging")
    await site.run(4)
    await hass.config_entries.async_unload(site.wallbox.entry_id)
    await hass.async_block_till_done()
    key = _key(site)
    path = Path(hass.config.path(".storage", key))
    if damage == "undecodable_file":
        # Home Assistant moves an undecodable file aside and reports "nothing stored".
        hass_storage.pop(key)
        await hass.async_add_executor_job(_write_damaged, path)
    elif damage == "unexpected_content":
        hass_storage[key]["data"]["lockout"] = "latched?"
    else:
        hass_storage[key]["version"] = 99
    caplog.clear()
    try:
        assert await hass.config_entries.async_setup(site.wallbox.entry_id)
        await hass.async_block_till_done()
    finally:
        await hass.async_add_executor_job(path.unlink, True)
    assert site.wallbox.state is ConfigEntryState.LOADED
    errors = [r for r in caplog.records if "could not be read" in r.getMessage()]
    assert len(errors) == 1  # logged once
    manager = _manager(site)
    assert manager.controller.lockout.alarm == LOCKOUT_STATE_UNREADABLE
    assert not manager.enabled  # the other values start from their defaults
    # The fail-safe state was written at once: a good file with the lockout latched.
    assert hass_storage[key]["version"] == 1
    assert hass_storage[key]["data"]["lockout"]["latched"] is True
    await site.call("switch", "turn_on", f"switch.{W}surplus_charging")
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"rcm_lockout_{site.wallbox.entry_id}")
    assert issue is not None
    assert issue.translation_key == "rcm_lockout_state_unreadable"
    assert issue.is_fixable
    await site.call("select", "select_option", f"select.{W}charge_mode", option="fast")
    site.charger.plug_in(CarConfig(tag=None))
    await site.run(10)
    assert site.limit == 0
    assert site.state("decision") == "rcm_latched"
    await site.call("button", "press", f"button.{W}acknowledge_rcm_alarm")
    await site.run(10)
    assert site.limit == 16
    assert (
        ir.async_get(hass).async_get_issue(DOMAIN, f"rcm_lockout_{site.wallbox.entry_id}") is None
    )


async def test_unreadable_store_without_a_monitor_does_not_lock(
    hass: HomeAssistant, site: Site, hass_storage: dict[str, Any]
) -> None:
    """Without a residual current monitor linked there is no lockout to keep."""
    await hass.config_entries.async_unload(site.wallbox.entry_id)
    hass.config_entries.async_update_entry(
        site.wallbox, options={k: v for k, v in site.wallbox.options.items() if k != "rcm_entry"}
    )
    hass_storage[_key(site)] = {"version": 1, "minor_version": 1, "key": _key(site), "data": []}
    assert await hass.config_entries.async_setup(site.wallbox.entry_id)
    await hass.async_block_till_done()
    assert not _manager(site).controller.rcm_latched


async def test_values_of_version_0_1_0_are_taken_over_once(
    hass: HomeAssistant, site: Site, hass_storage: dict[str, Any]
) -> None:
    """No store yet: the restore states of 0.1.0's entities give the memory, once."""
    await hass.config_entries.async_unload(site.wallbox.entry_id)
    await hass.async_block_till_done()
    hass_storage.pop(_key(site))
    site.charger.plug_in(CarConfig(tag=None))
    now = dt_util.utcnow()
    old = [
        (State(f"switch.{W}surplus_charging", STATE_ON), None),
        (State(f"select.{W}charge_mode", "fast"), None),
        (State(f"sensor.{W}decision", "rcm_latched", last_changed=now), None),
        (State(f"sensor.{W}starts_today", "3", last_changed=now), None),
        (State(f"sensor.{W}session_solar_energy", "1.25"), None),
        (State(f"number.{W}grid_target", "-200"), {"native_value": -200.0}),
        (State(f"number.{W}energy_limit", "12"), {"native_value": 12.0}),
    ]
    # What Home Assistant restored of 0.1.0's entities (added to the live restore data: the
    # other entries' entities are registered there).
    last_states = restore_state.async_get(hass).last_states
    for state, extra in old:
        last_states[state.entity_id] = restore_state.StoredState.from_dict(
            {"state": state.as_dict(), "extra_data": extra, "last_seen": now}
        )
    assert await hass.config_entries.async_setup(site.wallbox.entry_id)
    await hass.async_block_till_done()
    manager = _manager(site)
    assert manager.enabled
    assert manager.settings.mode == "fast"
    assert manager.controller.rcm_latched
    assert manager.controller.starts_today == 3
    assert manager.session_solar_energy == pytest.approx(1250)
    assert manager.settings.grid_target == -200
    assert manager.settings.session_energy_limit == 12000
    assert site.state(f"switch.{W}surplus_charging") == STATE_ON
    stored = hass_storage[_key(site)]["data"]
    assert stored["enabled"] is True
    assert stored["settings"] == {"grid_target": -200.0, "session_energy_limit": 12000.0}
    # From now on the store is the only source: old restore states no longer count.
    await site.call("switch", "turn_off", f"switch.{W}surplus_charging")
    assert await hass.config_entries.async_reload(site.wallbox.entry_id)
    await hass.async_block_till_done()
    assert site.state(f"switch.{W}surplus_charging") == STATE_OFF
    assert _manager(site).controller.rcm_latched


async def test_settings_mode_and_switch_are_stored(
    hass: HomeAssistant, site: Site, hass_storage: dict[str, Any]
) -> None:
    await site.call("switch", "turn_on", f"switch.{W}surplus_charging")
    await site.call("select", "select_option", f"select.{W}charge_mode", option="min_pv")
    await site.call("number", "set_value", f"number.{W}grid_target", value=150)
    await site.call("number", "set_value", f"number.{W}energy_limit", value=7.5)
    assert await hass.config_entries.async_reload(site.wallbox.entry_id)
    await hass.async_block_till_done()
    settings = _manager(site).settings
    assert (settings.mode, settings.grid_target, settings.session_energy_limit) == (
        "min_pv",
        150,
        7500,
    )
    assert site.state(f"number.{W}energy_limit") == "7.5"
    data = hass_storage[_key(site)]["data"]
    assert data["mode"] == "min_pv"
    assert data["enabled"] is True


async def test_a_new_session_during_the_restart_starts_from_zero(
    hass: HomeAssistant, site: Site
) -> None:
    """The remembered solar energy belongs to one session: another one starts at 0."""
    await site.call("switch", "turn_on", f"switch.{W}surplus_charging")
    site.charger.plug_in(CarConfig(tag=MARIA_TAG))
    await site.run(240)
    assert _manager(site).session_solar_energy > 0
    await hass.config_entries.async_unload(site.wallbox.entry_id)
    await hass.async_block_till_done()
    site.charger.unplug()
    site.model.step(2)
    site.charger.step(2)
    site.clock.now += timedelta(minutes=5)
    site.charger.plug_in(CarConfig(tag="0000FFFF"))
    assert await hass.config_entries.async_setup(site.wallbox.entry_id)
    await hass.async_block_till_done()
    await site.run(2)
    assert _manager(site).session_solar_energy < 10


async def test_store_removed_with_the_entry(
    hass: HomeAssistant, site: Site, hass_storage: dict[str, Any]
) -> None:
    await site.call("switch", "turn_on", f"switch.{W}surplus_charging")
    await site.run(2)
    await hass.config_entries.async_unload(site.wallbox.entry_id)
    assert _key(site) in hass_storage
    await hass.config_entries.async_remove(site.wallbox.entry_id)
    assert _key(site) not in hass_storage


async def test_diagnostics_include_the_stored_state(hass: HomeAssistant, site: Site) -> None:
    await _latch(site)
    diagnostics = await async_get_config_entry_diagnostics(hass, site.wallbox)
    stored = diagnostics["surplus_charging"]["stored_state"]
    assert stored["lockout"]["latched"] is True
    assert stored["lockout"]["alarm"] == "dctr: alarm A, DC 12 mA"  # the DCTR entry's title
    assert stored["session"]["tag"] == "**REDACTED**"
    assert MARIA_TAG not in json.dumps(diagnostics, default=str)


async def test_random_restarts_alarms_and_acknowledgements(hass: HomeAssistant, site: Site) -> None:
    """Property: the lockout is never lost and never clears without an acknowledgement
    given after the alarm ended, over random sequences of restarts, alarms, acks and
    readings (a reference model tracks what must hold)."""
    await site.call("switch", "turn_on", f"switch.{W}surplus_charging")
    await site.call("select", "select_option", f"select.{W}charge_mode", option="fast")
    site.charger.plug_in(CarConfig(tag=None))
    await site.run(4)
    alarm = False  # what the simulated monitor raises
    seen = False  # what the last poll saw
    latched = False
    for seed in range(5):
        rng = random.Random(seed)
        for step in range(40):
            action = rng.choice(["read", "read", "alarm", "clear", "ack", "restart"])
            where = f"seed {seed}, step {step}: {action}"
            if action == "alarm":
                site.dctr.force_alarm(rng.choice(["dc", "ac_total"]), 50)
                alarm = True
            elif action == "clear":
                site.dctr.clear()
                alarm = False
            elif action == "ack":
                await _manager(site).async_acknowledge_rcm()
                await hass.async_block_till_done()
                if not seen:  # an acknowledgement counts only while no alarm is seen
                    latched = False
            elif action == "restart":
                assert await hass.config_entries.async_reload(site.wallbox.entry_id)
                await hass.async_block_till_done()
                _manager(site).clock = site.clock
            else:
                await site.run(4)
                seen = alarm
                latched = latched or alarm
                assert site.limit == (0 if latched else 16), where
            assert _manager(site).controller.rcm_latched == latched, where


def _wallbox(now: Any) -> WallboxInput:
    return WallboxInput(
        measured_at=now, connected=True, power=0.0, currents=(0, 0, 0), current_limit=0
    )


def test_memory_round_trip_keeps_the_lockout() -> None:
    """Pure: a controller restored from the stored JSON decides as the one before."""
    now = dt_util.utcnow()
    controller = SurplusController(Settings())
    alarm = RcmInput(measured_at=now, alarm=True, link_ok=True, detail="A: dc")
    controller.decide(now, None, _wallbox(now), alarm)
    memory = ChargingMemory(
        lockout=controller.lockout,
        starts_today=2,
        starts_date=now.date(),
        session=SessionMemory(solar_energy=10.0, start="10:00:00", tag="ab", metered=500.0),
    )
    restored = ChargingMemory.from_json(json.loads(json.dumps(memory.to_json())))
    assert restored == memory
    again = SurplusController(Settings())
    again.restore_lockout(restored.lockout)
    quiet = RcmInput(measured_at=now, alarm=False, link_ok=True)
    assert again.decide(now, None, _wallbox(now), quiet).reason == "rcm_latched"
    again.acknowledge_rcm()
    assert again.lockout == Lockout(
        latched=True, since=memory.lockout.since, alarm="A: dc", acknowledged=True
    )
    assert again.decide(now, None, _wallbox(now), quiet).reason != "rcm_latched"
    assert again.lockout == Lockout()


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {"lockout": []},
        {"lockout": {"latched": "yes"}},
        {"lockout": {"since": "yesterday"}},
        {"lockout": {"since": "2026-01-01T00:00:00"}},  # no time zone
        {"starts_today": {"count": -1}},
        {"starts_today": {"count": True}},
        {"starts_today": {"date": "01.01.2026"}},
        {"session": {"solar_energy": float("nan")}},
        {"session": {"solar_energy": -1}},
        {"session": {"solar_energy": 1, "start": 5}},
        {"settings": {"grid_target": "high"}},
        {"mode": "turbo"},
        {"enabled": 1},
    ],
)
def test_unexpected_content_is_refused(data: Any) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 (which field, is in the message)
        ChargingMemory.from_json(data)


def test_sessions_are_told_apart() -> None:
    remembered = SessionMemory(solar_energy=100, start="10:00:00", tag="ab", metered=2000)
    assert remembered.continues("10:00:00", "ab", 2500)
    assert remembered.continues(None, None, None)  # a value missing for one poll
    assert not remembered.continues("11:00:00", "ab", 2500)
    assert not remembered.continues("10:00:00", "cd", 2500)
    assert not remembered.continues("10:00:00", "ab", 100)
    assert SessionMemory(solar_energy=100).continues("12:00:00", "ef", 5)  # 0.1.0's value
