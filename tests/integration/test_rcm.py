"""Residual current monitor in Home Assistant: edges, events, device triggers, link loss."""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from homeassistant.components import automation
from homeassistant.components.device_automation import DeviceAutomationType
from homeassistant.const import CONF_HOST, CONF_PORT, STATE_UNAVAILABLE
from homeassistant.core import Event, HomeAssistant, ServiceCall
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_get_device_automations,
)

from custom_components.solar_wallbox.const import (
    CONF_DEVICE_TYPE,
    CONF_SCAN_INTERVAL,
    CONF_UNIT_ID,
    DOMAIN,
    EVENT_RCM_ALARM,
    EVENT_RCM_LINK,
)
from custom_components.solar_wallbox.drivers.dctr import BANDS, DctrData
from custom_components.solar_wallbox.rcm import RcmEdgeDetector

from ..conftest import SimulatedDevice
from ..harness import setup_entry
from .sites import record_into

B = "binary_sensor.doepke_dctr_"
S = "sensor.doepke_dctr_"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _data(alarm_a: int = 0, alarm_b: int = 0) -> DctrData:
    return DctrData(
        validity=1,
        residual_current=(0,) * 8,
        alarm_a_raw=alarm_a,
        alarm_b_raw=alarm_b,
        thresholds_a=(30,) * 8,
        thresholds_b=(100,) * 8,
        enabled_a_raw=0xFF,
        enabled_b_raw=0xFF,
        alarm_delay=0,
    )


def test_edges_fire_once() -> None:
    det = RcmEdgeDetector()
    assert det.update(_data(), NOW) == []
    events = det.update(_data(alarm_a=0x80), NOW)
    assert [(e.event_type, e.data) for e in events] == [
        (EVENT_RCM_ALARM, {"alarm": "A", "state": "raised", "bands": ["dc"]})
    ]
    assert det.update(_data(alarm_a=0x80), NOW) == []  # the alarm stays: nothing repeated
    assert det.state().alarm is True
    events = det.update(_data(), NOW)
    assert [e.data for e in events] == [{"alarm": "A", "state": "cleared", "bands": ["dc"]}]


def test_link_loss_is_its_own_state() -> None:
    det = RcmEdgeDetector()
    assert det.lost(NOW) == []  # never connected: nothing to lose
    det.update(_data(alarm_b=0x01), NOW)
    lost = det.lost(NOW)
    assert [(e.event_type, e.data) for e in lost] == [(EVENT_RCM_LINK, {"state": "lost"})]
    assert det.lost(NOW) == []
    state = det.state()
    assert state.link_ok is False
    assert state.alarm_b is True  # kept, never taken for "no alarm"
    # Back with the same alarm: only "restored", no new alarm edge.
    events = det.update(_data(alarm_b=0x01), NOW)
    assert [e.data for e in events] == [{"state": "restored"}]
    assert det.state().bands == ("ac_gt10khz",)


def dctr_entry(port: int) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Doepke DCTR",
        unique_id=f"127.0.0.1:{port}:1",
        data={CONF_DEVICE_TYPE: "dctr", CONF_HOST: "127.0.0.1", CONF_PORT: port, CONF_UNIT_ID: 1},
        options={CONF_SCAN_INTERVAL: 2},
    )


async def _poll(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    await entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()


async def test_alarm_episode_fires_one_raised_and_one_cleared(
    hass: HomeAssistant, dctr_sim: SimulatedDevice
) -> None:
    entry = dctr_entry(dctr_sim.port)
    await setup_entry(hass, entry)
    events: list[Event] = []
    hass.bus.async_listen(EVENT_RCM_ALARM, record_into(events))
    assert hass.states.get(B + "alarm_a").state == "off"
    assert hass.states.get(B + "rcm_link").state == "on"
    dctr_sim.device.force_alarm("dc", 12)
    for _ in range(3):
        await _poll(hass, entry)
    state = hass.states.get(B + "alarm_a")
    assert state.state == "on"
    assert state.attributes["bands"] == ["dc"]
    assert hass.states.get(S + "residual_current_dc").state == "12"
    dctr_sim.device.clear()
    for _ in range(3):
        await _poll(hass, entry)
    assert hass.states.get(B + "alarm_a").state == "off"
    device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, entry.unique_id)})
    assert device is not None
    # 12 mA DC is above alarm A's threshold (6 mA) only, below B (20 mA):
    # exactly one raised and one cleared.
    assert [(e.data["alarm"], e.data["state"]) for e in events] == [
        ("A", "raised"),
        ("A", "cleared"),
    ]
    assert events[0].data["bands"] == ["dc"]
    assert all(e.data["device_id"] == device.id for e in events)


async def test_link_loss_never_fires_an_alarm(
    hass: HomeAssistant, dctr_sim: SimulatedDevice
) -> None:
    entry = dctr_entry(dctr_sim.port)
    await setup_entry(hass, entry)
    alarms: list[Event] = []
    links: list[Event] = []
    hass.bus.async_listen(EVENT_RCM_ALARM, record_into(alarms))
    hass.bus.async_listen(EVENT_RCM_LINK, record_into(links))
    await dctr_sim.server.stop()
    for _ in range(3):
        await _poll(hass, entry)
    assert hass.states.get(B + "alarm_a").state == STATE_UNAVAILABLE
    assert hass.states.get(B + "rcm_link").state == "off"
    assert entry.runtime_data.rcm.state.link_ok is False
    await dctr_sim.restart()
    await asyncio.sleep(entry.runtime_data.coordinator.client.connection.retry_in)
    await _poll(hass, entry)
    assert hass.states.get(B + "rcm_link").state == "on"
    assert alarms == []
    assert [e.data["state"] for e in links] == ["lost", "restored"]


async def test_device_triggers(hass: HomeAssistant, dctr_sim: SimulatedDevice) -> None:
    entry = dctr_entry(dctr_sim.port)
    await setup_entry(hass, entry)
    device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, entry.unique_id)})
    assert device is not None
    triggers = await async_get_device_automations(hass, DeviceAutomationType.TRIGGER, device.id)
    types = {t["type"] for t in triggers if t["domain"] == DOMAIN}
    assert types == {
        "alarm_a_raised",
        "alarm_b_raised",
        "alarm_cleared",
        "link_lost",
        "link_restored",
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
                for kind in ("alarm_a_raised", "alarm_cleared")
            ]
        },
    )
    dctr_sim.device.force_alarm("dc", 12)
    await _poll(hass, entry)
    await _poll(hass, entry)
    dctr_sim.device.clear()
    await _poll(hass, entry)
    kinds = [c.data["kind"] for c in calls]
    assert kinds.count("alarm_a_raised") == 1
    assert "alarm_cleared" in kinds


async def test_no_triggers_for_other_devices(
    hass: HomeAssistant, e3dc_sim: SimulatedDevice
) -> None:
    from ..conftest import E3DC_SERIAL  # noqa: PLC0415
    from ..harness import e3dc_entry  # noqa: PLC0415

    await setup_entry(hass, e3dc_entry(e3dc_sim.port))
    device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, E3DC_SERIAL)})
    triggers = await async_get_device_automations(hass, DeviceAutomationType.TRIGGER, device.id)
    assert [t for t in triggers if t["domain"] == DOMAIN] == []


def test_band_order() -> None:
    assert BANDS[0] == "dc"
    assert _data(alarm_a=0x01).alarm_a_bands == ("ac_gt10khz",)


async def test_logbook_lines(hass: HomeAssistant) -> None:
    """Reasons, alarms and bands in words, in the system language (English fallback)."""
    from homeassistant.core import Event as HaEvent  # noqa: PLC0415

    from custom_components.solar_wallbox.const import (  # noqa: PLC0415
        EVENT_CHARGING_STARTED,
        EVENT_CHARGING_STOPPED,
    )
    from custom_components.solar_wallbox.logbook import (  # noqa: PLC0415
        async_load_translations,
        describe,
    )

    await async_load_translations(hass)
    started = describe(
        hass,
        HaEvent(EVENT_CHARGING_STARTED, {"current": 8, "vehicle": "Maria", "reason": "starting"}),
    )
    assert started == {"name": "Surplus charging", "message": "▶ 8 A (Maria): Starting"}
    stopped = describe(hass, HaEvent(EVENT_CHARGING_STOPPED, {"current": 0, "reason": "rcm_alarm"}))
    assert stopped["message"] == "■ 0 A: Residual current alarm"  # not the raw key
    alarm = {"alarm": "A", "state": "raised", "bands": ["dc", "ac_50hz"]}
    line = describe(hass, HaEvent(EVENT_RCM_ALARM, alarm))
    assert line == {"name": "Doepke DCTR", "message": "Alarm A raised (A: DC, AC 50 Hz)"}
    cleared = describe(hass, HaEvent(EVENT_RCM_ALARM, {"alarm": "B", "state": "cleared"}))
    assert cleared["message"] == "Alarm cleared (B)"
    lost = describe(hass, HaEvent(EVENT_RCM_LINK, {"state": "lost"}))
    assert lost["message"] == "Link to the monitor lost"
    # German as the system language.
    hass.config.language = "de"
    await async_load_translations(hass)
    stopped = describe(hass, HaEvent(EVENT_CHARGING_STOPPED, {"current": 0, "reason": "rcm_alarm"}))
    assert stopped["name"] == "Überschussladen"
    assert stopped["message"] == "■ 0 A: Differenzstrom-Alarm"


BLUEPRINT = (
    Path(__file__).resolve().parents[2]
    / "blueprints"
    / "automation"
    / "solar_wallbox"
    / "rcm_alarm_notification.yaml"
)


async def test_alarm_notification_blueprint(hass: HomeAssistant, dctr_sim: SimulatedDevice) -> None:
    """The shipped blueprint notifies on a raised alarm of its monitor, once per alarm."""
    from homeassistant.components import persistent_notification  # noqa: PLC0415

    target = Path(hass.config.path("blueprints", "automation", "solar_wallbox"))
    await hass.async_add_executor_job(lambda: target.mkdir(parents=True, exist_ok=True))
    await hass.async_add_executor_job(shutil.copy, BLUEPRINT, target / BLUEPRINT.name)
    entry = dctr_entry(dctr_sim.port)
    await setup_entry(hass, entry)
    device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, entry.unique_id)})
    assert device is not None
    phone: list[ServiceCall] = []
    hass.services.async_register("notify", "test_phone", phone.append)
    notifications: dict[str, Any] = {}
    assert await async_setup_component(hass, "persistent_notification", {})
    persistent_notification.async_register_callback(
        hass, lambda _kind, changed: notifications.update(changed)
    )
    use = {
        "path": f"solar_wallbox/{BLUEPRINT.name}",
        "input": {"monitor": device.id, "notify_action": "notify.test_phone"},
    }
    assert await async_setup_component(
        hass, automation.DOMAIN, {automation.DOMAIN: [{"use_blueprint": use}]}
    )
    await hass.async_block_till_done()
    # Another device's alarm (a second monitor) is not this automation's.
    hass.bus.async_fire(EVENT_RCM_ALARM, {"device_id": "other", "alarm": "A", "state": "raised"})
    await hass.async_block_till_done()
    assert phone == []
    dctr_sim.device.force_alarm("dc", 12)
    await entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()
    assert len(phone) == 1
    assert "Residual current alarm A (DC) on Doepke DCTR." in phone[0].data["message"]
    assert phone[0].data["title"] == "Residual current alarm"
    assert any("Residual current alarm A" in n["message"] for n in notifications.values())
    # Cleared: no second message.
    dctr_sim.device.clear()
    await entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()
    assert len(phone) == 1


def test_the_blueprint_labels_every_band() -> None:
    """The blueprint's band labels are the integration's (drivers/dctr_bands.py)."""
    import yaml  # noqa: PLC0415

    from custom_components.solar_wallbox.drivers.dctr_bands import BAND_LABELS  # noqa: PLC0415

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("!input", lambda loader, node: loader.construct_scalar(node))
    blueprint = yaml.load(BLUEPRINT.read_text(encoding="utf-8"), Loader=Loader)
    assert blueprint["variables"]["labels"] == BAND_LABELS
