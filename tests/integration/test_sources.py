"""Any Home Assistant entity as a source of surplus charging (README.md, "Using other meters
and inverters").

Real entities: template sensors (with a unit and a device class, like a meter's) whose
values come from ``input_number`` helpers the test sets, and a trigger-based template
sensor that writes every reading it gets, also an unchanged one (like a meter pushing its
readings). The wallbox and the E3DC are the simulators, over Modbus TCP. Time runs (so
that sockets and sleeps work) and the test moves it on in jumps (``freezer``, ticking):
the entities' ``last_reported``, the coordinators and the controller share that clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, State
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.solar_wallbox.charging_manager import ChargingManager
from custom_components.solar_wallbox.const import (
    CONF_BATTERY_ENTRY,
    CONF_BATTERY_POWER_ENTITY,
    CONF_BATTERY_POWER_SIGN,
    CONF_BATTERY_SOC_ENTITY,
    CONF_GRID_ENTRY,
    CONF_GRID_EXPORT_ENTITY,
    CONF_GRID_IMPORT_ENTITY,
    CONF_GRID_POWER_ENTITY,
    CONF_GRID_POWER_SIGN,
    CONF_MAX_CURRENT,
    CONF_PV_POWER_ENTITY,
)
from custom_components.solar_wallbox.diagnostics import async_get_config_entry_diagnostics
from custom_components.solar_wallbox.entity_readings import Quantity, read_state
from simulator.amtron import AmtronDevice, create_server
from simulator.car import CarConfig
from simulator.e3dc import E3dcDevice
from simulator.modbus_server import ModbusTcpServer
from simulator.model import SiteModel

from .sites import W, make_entry

# input_number helpers (the values the test sets) and the sensors made from them.
HELPERS = ("grid", "grid_kw", "grid_import", "grid_export", "battery", "soc", "pv")
SENSORS: dict[str, tuple[str, str, str]] = {  # sensor → (helper, unit, device class)
    "grid_w": ("grid", "W", "power"),
    "grid_kw": ("grid_kw", "kW", "power"),
    "grid_import": ("grid_import", "W", "power"),
    "grid_export": ("grid_export", "W", "power"),
    "battery_power": ("battery", "W", "power"),
    "battery_soc": ("soc", "%", "battery"),
    "pv_power": ("pv", "kW", "power"),
    "outdoor": ("pv", "°C", "temperature"),
}
METER_EVENT = "test_meter_reading"
METER = "sensor.meter"  # kW, written at every METER_EVENT (a meter pushing readings)
SWITCH = f"switch.{W}surplus_charging"

pytestmark = pytest.mark.freeze_time(tick=True)


def _now(at: Any) -> bool:
    """``at`` is now (time runs while the test waits for the loop: within a second)."""
    return abs((dt_util.utcnow() - at).total_seconds()) < 1


@dataclass
class Home:
    """The wallbox, the E3DC, the helpers and the sensors, on one frozen clock."""

    hass: HomeAssistant
    freezer: FrozenDateTimeFactory
    model: SiteModel
    charger: AmtronDevice
    e3dc: MockConfigEntry
    servers: list[ModbusTcpServer]
    wallbox: MockConfigEntry | None = None
    decisions: list[float] = field(default_factory=list)

    @property
    def manager(self) -> ChargingManager:
        assert self.wallbox is not None
        manager = self.wallbox.runtime_data.charging
        assert manager is not None
        return manager

    async def start(self, plug_in: bool = True, **options: Any) -> ChargingManager:
        """The wallbox entry with ``options``, surplus charging on, a car plugged in."""
        self.wallbox = await make_entry(
            "amtron", self.servers[0].port, 255, **{CONF_MAX_CURRENT: 16, **options}
        )
        self.wallbox.add_to_hass(self.hass)
        assert await self.hass.config_entries.async_setup(self.wallbox.entry_id)
        await self.hass.async_block_till_done()
        self.manager.add_listener(lambda: self.decisions.append(dt_util.utcnow().timestamp()))
        if plug_in:
            self.charger.plug_in(CarConfig(tag=None))
        await self.hass.services.async_call(
            "switch", "turn_on", {"entity_id": SWITCH}, blocking=True
        )
        await self.run(6, step=2)  # the wallbox's polls see the car, the tick decides
        return self.manager

    async def settle(self) -> None:
        await self.hass.async_block_till_done(wait_background_tasks=True)

    def tick(self, seconds: float) -> None:
        """Move the clock on (``freezer.tick`` of a ticking clock forgets the time run)."""
        self.freezer.move_to(dt_util.utcnow() + timedelta(seconds=seconds))

    async def set(self, **values: float) -> None:
        """Set helpers (the sensors made from them follow at once)."""
        for name, value in values.items():
            await self.hass.services.async_call(
                "input_number",
                "set_value",
                {"entity_id": f"input_number.{name}", "value": value},
                blocking=True,
            )
        await self.rendered()

    async def rendered(self) -> None:
        """The template sensors render right after what they follow changed (a timer of
        0 s, which async_block_till_done does not wait for); then the decision."""
        await self.settle()
        await asyncio.sleep(0.02)
        await self.settle()

    async def meter(self, kilowatts: float) -> None:
        """The pushing meter sends one reading (the same value again is a reading too)."""
        self.hass.bus.async_fire(METER_EVENT, {"power": kilowatts})
        await self.rendered()

    async def run(self, seconds: float, step: float = 1.0, each: Any = None) -> None:
        """Let ``seconds`` pass: the site steps, the devices are polled, ``each`` is awaited."""
        for _ in range(round(seconds / step)):
            self.tick(step)
            self.model.step(step)
            for entry in (self.e3dc, self.wallbox):
                if entry is not None and entry.state is ConfigEntryState.LOADED:
                    await entry.runtime_data.coordinator.async_refresh()
            if each is not None:
                await each()
            await self.settle()

    def site(self) -> dict[str, Any]:
        """The site input of the latest decision."""
        site = self.manager.history[-1]["site"]
        assert site is not None, self.manager.history[-1]
        return dict(site)

    @property
    def reason(self) -> str:
        assert self.manager.decision is not None
        return self.manager.decision.reason.value

    @property
    def limit(self) -> int:
        return int(self.charger.registers()[1000])


async def _entities(hass: HomeAssistant) -> None:
    helpers = {
        name: {"min": -50000, "max": 50000, "step": 0.001, "initial": 0, "mode": "box"}
        for name in HELPERS
    }
    assert await async_setup_component(hass, "input_number", {"input_number": helpers})
    assert await async_setup_component(
        hass,
        "input_boolean",
        {"input_boolean": {"meter_ok": {"initial": True}, "sensors_ok": {"initial": True}}},
    )
    sensors = [
        {
            "name": name,
            "unit_of_measurement": unit,
            "device_class": device_class,
            "state": f"{{{{ states('input_number.{helper}') }}}}",
            "availability": "{{ is_state('input_boolean.sensors_ok', 'on') }}",
        }
        for name, (helper, unit, device_class) in SENSORS.items()
    ]
    meter = {
        "trigger": {"platform": "event", "event_type": METER_EVENT},
        "sensor": [
            {
                "name": "meter",
                "unit_of_measurement": "kW",
                "device_class": "power",
                "state": "{{ trigger.event.data.power }}",
                "availability": "{{ is_state('input_boolean.meter_ok', 'on') }}",
            }
        ],
    }
    assert await async_setup_component(hass, "template", {"template": [{"sensor": sensors}, meter]})
    await hass.async_block_till_done()


@pytest.fixture
async def home(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> AsyncIterator[Home]:
    model = SiteModel.scenario("constant")
    model.pv_override = 9000.0
    model.house_override = 600.0
    model.battery_enabled = False
    model.soc_pct = 80.0
    charger = AmtronDevice(model)
    servers = [create_server(charger), ModbusTcpServer(E3dcDevice(model))]
    for server in servers:
        await server.start()
    await _entities(hass)
    e3dc = await make_entry("e3dc", servers[1].port)
    e3dc.add_to_hass(hass)
    assert await hass.config_entries.async_setup(e3dc.entry_id)
    home = Home(hass, freezer, model, charger, e3dc, servers)
    yield home
    for entry in (home.wallbox, e3dc):
        if entry is not None and hass.config_entries.async_get_entry(entry.entry_id):
            await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    for server in servers:
        await server.stop()


# -- reading: units, signs, pairs ------------------------------------------------------------


@pytest.mark.parametrize(
    ("entity", "helper", "value", "sign", "grid_power"),
    [
        ("sensor.grid_w", "grid", -3000, "import_positive", -3000.0),
        ("sensor.grid_w", "grid", 1200, "import_positive", 1200.0),
        ("sensor.grid_kw", "grid_kw", -3.25, "import_positive", -3250.0),
        ("sensor.grid_kw", "grid_kw", 3.25, "export_positive", -3250.0),
        ("sensor.grid_w", "grid", -800, "export_positive", 800.0),
    ],
)
async def test_grid_power_entity_units_and_signs(
    home: Home, entity: str, helper: str, value: float, sign: str, grid_power: float
) -> None:
    await home.start(**{CONF_GRID_POWER_ENTITY: entity, CONF_GRID_POWER_SIGN: sign})
    await home.set(**{helper: value})
    site = home.site()
    assert site["grid_power"] == pytest.approx(grid_power)  # W, + import
    assert site["battery_power"] is None
    assert _now(site["measured_at"])
    decision = home.manager.decision
    assert decision is not None
    # The car draws nothing yet: the available power is what the grid takes or gives.
    assert decision.available_power == pytest.approx(-grid_power)


async def test_import_and_export_entities(home: Home) -> None:
    await home.start(
        **{
            CONF_GRID_IMPORT_ENTITY: "sensor.grid_import",
            CONF_GRID_EXPORT_ENTITY: "sensor.grid_export",
        }
    )
    await home.set(grid_import=0, grid_export=2500)
    assert home.site()["grid_power"] == -2500.0
    # The pair is as fresh as its older half: import written now, export 3 s later.
    await home.set(grid_import=800)
    imported = home.hass.states.get("sensor.grid_import")
    assert imported is not None
    imported_at = imported.last_reported
    home.tick(3)
    await home.set(grid_export=0)
    site = home.site()
    assert site["grid_power"] == 800.0
    assert site["measured_at"] == imported_at
    # A negative half is a misconfigured entity, not a reading: the safe state.
    await home.set(grid_import=-100)
    assert home.manager.history[-1]["site"] is None
    assert home.reason == "site_stale"


async def test_a_meter_entity_drives_a_whole_session(home: Home) -> None:
    """The grid entity is the site's real grid power (car included): start, follow, pause."""
    await home.start(**{CONF_GRID_POWER_ENTITY: METER})

    async def meter() -> None:
        await home.meter(round(home.model.grid_w / 1000, 3))

    await home.run(150, step=2, each=meter)  # the minimum off time after the 0 A at setup
    # 9000 W PV − 600 W house: 8400 W → 12 A on three phases (11 A mid-ramp).
    assert home.reason == "charging_surplus"
    assert home.limit in (11, 12)
    assert abs(home.model.grid_w) < 700  # the car takes the surplus
    home.model.pv_override = 2000.0
    await home.run(4, each=meter)
    assert home.limit == 6  # reduced at once
    await home.run(400, step=5, each=meter)
    assert home.limit == 0  # paused after the stop energy
    assert home.reason in ("waiting_for_surplus", "min_off_time")


@pytest.mark.parametrize(
    ("value", "unit", "quantity", "reading"),
    [
        ("1.5", "kW", Quantity.POWER, 1500.0),
        ("-250", "W", Quantity.POWER, -250.0),
        ("2", "MW", Quantity.POWER, 2e6),
        ("61", "%", Quantity.SOC, 61.0),
        ("61", "W", Quantity.SOC, None),
        ("600", "A", Quantity.POWER, None),
        ("600", None, Quantity.POWER, None),
        ("abc", "W", Quantity.POWER, None),
        ("nan", "W", Quantity.POWER, None),
        ("inf", "W", Quantity.POWER, None),
        ("unknown", "W", Quantity.POWER, None),
        ("unavailable", "W", Quantity.POWER, None),
    ],
)
def test_states_as_readings(
    value: str, unit: str | None, quantity: Quantity, reading: float | None
) -> None:
    attributes = {"unit_of_measurement": unit} if unit else {}
    result = read_state(State("sensor.x", value, attributes), quantity)
    assert (result.value if result is not None else None) == reading


async def test_a_state_no_sensor_writes_is_refused_and_logged_once(
    home: Home, caplog: pytest.LogCaptureFixture
) -> None:
    """A text with a unit, or a unit that changed: states a sensor entity of Home Assistant
    refuses to write, but another kind of entity (or a state set through the REST API)
    may have; set as such here."""
    manager = await home.start(**{CONF_GRID_POWER_ENTITY: "sensor.rest_meter"})
    for _ in range(3):
        home.hass.states.async_set("sensor.rest_meter", "n/a", {"unit_of_measurement": "W"})
        await home.settle()
        assert manager.history[-1]["site"] is None
    assert caplog.text.count("Surplus charging cannot read sensor.rest_meter") == 1
    home.hass.states.async_set("sensor.rest_meter", "-700", {"unit_of_measurement": "W"})
    await home.settle()
    assert home.site()["grid_power"] == -700.0


# -- event-driven ----------------------------------------------------------------------------


async def test_a_state_change_decides_without_the_tick(home: Home) -> None:
    manager = await home.start(**{CONF_GRID_POWER_ENTITY: "sensor.grid_w"})
    await home.run(5, step=5)  # the 5 s tick has just decided: the next one is 5 s away
    before = len(home.decisions)
    at = dt_util.utcnow()
    await home.set(grid=-4321)  # no poll, no tick
    assert (dt_util.utcnow() - at).total_seconds() < 2
    assert len(home.decisions) == before + 1
    assert home.site()["grid_power"] == -4321.0
    assert manager.decision is not None
    assert manager.decision.available_power == 4321.0


async def test_a_meter_sending_the_same_value_stays_fresh(home: Home) -> None:
    if not hasattr(State(METER, "0"), "last_reported"):
        pytest.skip("this Home Assistant release has no State.last_reported")
    await home.start(**{CONF_GRID_POWER_ENTITY: METER})
    assert home.reason == "site_stale"  # never reported yet: unknown

    async def same_reading() -> None:
        await home.meter(-9.0)

    await home.run(240, step=5, each=same_reading)
    assert home.reason == "charging_surplus"
    # 60 s more of the same value, every 5 s: fresh all along (stale after 15 s).
    reasons = []
    for _ in range(12):
        await home.run(5, step=5, each=same_reading)
        reasons.append(home.reason)
        assert _now(home.site()["measured_at"])
    assert set(reasons) == {"charging_surplus"}
    assert home.limit > 0
    # The meter goes silent: after the stale time (the 5 s tick decides), the safe state.
    await home.run(20, step=5)
    assert home.reason == "site_stale"
    assert home.limit == 0


async def test_an_entity_not_written_goes_stale(home: Home) -> None:
    """A state not written again for the stale time is stale, whatever its value."""
    await home.start(**{CONF_GRID_POWER_ENTITY: "sensor.grid_w"})
    await home.set(grid=-9000)
    await home.run(10)
    assert home.reason != "site_stale"
    await home.run(10)  # 20 s since the last write, 15 s stale time; the tick decides
    assert home.reason == "site_stale"
    assert home.limit == 0


async def test_unavailable_gives_the_safe_state_at_once(home: Home) -> None:
    await home.start(**{CONF_GRID_POWER_ENTITY: METER})

    async def reading() -> None:
        await home.meter(round(home.model.grid_w / 1000, 3))

    await home.run(150, step=2, each=reading)
    assert home.limit > 0
    await home.hass.services.async_call(
        "input_boolean", "turn_off", {"entity_id": "input_boolean.meter_ok"}, blocking=True
    )
    await reading()  # the meter reports that it has no value
    assert home.hass.states.get(METER).state == "unavailable"  # type: ignore[union-attr]
    assert home.manager.history[-1]["site"] is None
    assert home.reason == "site_stale"  # at once, not after the stale time
    assert home.limit == 0


async def test_unknown_meter_in_min_pv_gives_the_minimum(home: Home) -> None:
    await home.start(**{CONF_GRID_POWER_ENTITY: METER})
    await home.hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": f"select.{W}charge_mode", "option": "min_pv"},
        blocking=True,
    )
    await home.run(4)
    assert home.hass.states.get(METER).state == "unknown"  # type: ignore[union-attr]
    assert home.reason == "site_stale"
    assert home.limit == 6


# -- home battery and PV, mixed setups -------------------------------------------------------


@pytest.mark.parametrize(
    ("sign", "value", "battery_power"),
    [
        ("charge_positive", -1500, -1500.0),
        ("discharge_positive", 1500, -1500.0),
        ("charge_positive", 700, 700.0),
        ("discharge_positive", -700, 700.0),
    ],
)
async def test_battery_entities_and_their_sign(
    home: Home, sign: str, value: float, battery_power: float
) -> None:
    await home.start(
        **{
            CONF_GRID_POWER_ENTITY: METER,
            CONF_BATTERY_POWER_ENTITY: "sensor.battery_power",
            CONF_BATTERY_POWER_SIGN: sign,
            CONF_BATTERY_SOC_ENTITY: "sensor.battery_soc",
            CONF_PV_POWER_ENTITY: "sensor.pv_power",
        },
    )
    await home.set(battery=value, soc=55.5, pv=6.5)
    await home.meter(-2.0)
    site = home.site()
    assert site["grid_power"] == -2000.0
    assert site["battery_power"] == battery_power
    assert site["battery_soc"] == 55.5
    assert site["pv_power"] == 6500.0  # kW → W, shown only
    decision = home.manager.decision
    assert decision is not None
    # Discharging counts against the car; charging is offered (SoC above Priority SoC 0 %).
    assert decision.available_power == pytest.approx(2000 + battery_power)
    # The battery entities without a reading, the grid fresh: the whole site is missing
    # (not a site without a battery, which would let the car drain it unseen).
    await home.hass.services.async_call(
        "input_boolean", "turn_off", {"entity_id": "input_boolean.sensors_ok"}, blocking=True
    )
    await home.rendered()
    await home.meter(-2.1)
    assert home.hass.states.get("sensor.battery_power").state == "unavailable"  # type: ignore[union-attr]
    assert home.manager.history[-1]["site"] is None
    assert home.reason == "site_stale"


async def test_grid_entity_with_the_e3dc_as_home_battery(home: Home) -> None:
    home.model.battery_enabled = True
    await home.start(
        **{CONF_GRID_POWER_ENTITY: "sensor.grid_w", CONF_BATTERY_ENTRY: home.e3dc.entry_id}
    )

    async def reading() -> None:
        await home.set(grid=-1234)

    await home.run(4, each=reading)
    e3dc = home.e3dc.runtime_data.battery()
    assert e3dc is not None
    site = home.site()
    assert site["grid_power"] == -1234.0  # from the entity
    assert site["battery_power"] == e3dc.power  # from the E3DC over Modbus
    assert site["battery_soc"] == e3dc.soc == pytest.approx(80.0, abs=1)
    assert site["pv_power"] == e3dc.pv_power


async def test_e3dc_as_grid_meter_with_battery_entities(home: Home) -> None:
    await home.start(
        **{
            CONF_GRID_ENTRY: home.e3dc.entry_id,
            CONF_BATTERY_POWER_ENTITY: "sensor.battery_power",
            CONF_BATTERY_SOC_ENTITY: "sensor.battery_soc",
        }
    )
    await home.set(battery=-400, soc=42)
    await home.run(4)
    grid = home.e3dc.runtime_data.grid_power()
    assert grid is not None
    site = home.site()
    assert site["grid_power"] == grid[0]  # from the E3DC
    assert site["battery_power"] == -400.0  # the entities, not the E3DC's own battery
    assert site["battery_soc"] == 42.0
    assert home.manager.sources.followed_entities() == []  # the E3DC's polls decide


async def test_diagnostics_name_the_sources(home: Home) -> None:
    await home.start(
        **{
            CONF_GRID_POWER_ENTITY: "sensor.grid_kw",
            CONF_GRID_POWER_SIGN: "export_positive",
            CONF_BATTERY_ENTRY: home.e3dc.entry_id,
        }
    )
    await home.set(grid_kw=1.5)
    assert home.wallbox is not None
    diagnostics = await async_get_config_entry_diagnostics(home.hass, home.wallbox)
    sources = diagnostics["surplus_charging"]["sources"]
    assert sources["grid"] == {"entity": "sensor.grid_kw", "sign": "export_positive"}
    assert sources["battery"] == {"entry": home.e3dc.entry_id, "loaded": True}
    assert sources["followed_entities"] == ["sensor.grid_kw"]
    assert sources["entities"]["sensor.grid_kw"]["unit"] == "kW"
    assert sources["entities"]["sensor.grid_kw"]["state"] == "1.5"


async def test_diagnostics_name_entity_pairs_and_batteries(home: Home) -> None:
    await home.start(
        plug_in=False,
        **{
            CONF_GRID_IMPORT_ENTITY: "sensor.grid_import",
            CONF_GRID_EXPORT_ENTITY: "sensor.grid_export",
            CONF_BATTERY_POWER_ENTITY: "sensor.battery_power",
            CONF_BATTERY_SOC_ENTITY: "sensor.battery_soc",
            CONF_PV_POWER_ENTITY: "sensor.no_such_pv",
        },
    )
    sources = home.manager.diagnostics()["sources"]
    assert sources["grid"] == {
        "import_entity": "sensor.grid_import",
        "export_entity": "sensor.grid_export",
    }
    assert sources["battery"] == {
        "power_entity": "sensor.battery_power",
        "sign": "charge_positive",
        "soc_entity": "sensor.battery_soc",
    }
    assert sources["pv_power"] == {"entity": "sensor.no_such_pv"}
    assert sources["entities"]["sensor.no_such_pv"] is None
    assert sources["entities"]["sensor.battery_soc"]["unit"] == "%"


async def test_unload_stops_following(home: Home) -> None:
    manager = await home.start(**{CONF_GRID_POWER_ENTITY: "sensor.grid_w"})
    await home.set(grid=-100)
    task = manager._task  # the decision the last change started
    assert home.wallbox is not None
    assert await home.hass.config_entries.async_unload(home.wallbox.entry_id)
    await home.set(grid=-200)
    assert manager._task is task  # no decision was started


# -- the options flow ------------------------------------------------------------------------


async def _sources_page(home: Home) -> tuple[str, dict[str, Any]]:
    assert home.wallbox is not None
    flows = home.hass.config_entries.options
    result = await flows.async_init(home.wallbox.entry_id)
    result = await flows.async_configure(result["flow_id"], {"next_step_id": "surplus"})
    assert result["step_id"] == "surplus"
    defaults = {str(k): k.default() for k in result["data_schema"].schema if callable(k.default)}
    return result["flow_id"], defaults


@pytest.mark.parametrize(
    ("sources", "errors"),
    [
        (
            {CONF_GRID_ENTRY: "e3dc", CONF_GRID_POWER_ENTITY: "sensor.grid_w"},
            {CONF_GRID_POWER_ENTITY: "grid_source_twice"},
        ),
        (
            {
                CONF_GRID_POWER_ENTITY: "sensor.grid_w",
                CONF_GRID_IMPORT_ENTITY: "sensor.grid_import",
            },
            {CONF_GRID_IMPORT_ENTITY: "grid_entities_both"},
        ),
        (
            {CONF_GRID_IMPORT_ENTITY: "sensor.grid_import"},
            {CONF_GRID_EXPORT_ENTITY: "grid_pair_incomplete"},
        ),
        (
            {CONF_GRID_EXPORT_ENTITY: "sensor.grid_export"},
            {CONF_GRID_IMPORT_ENTITY: "grid_pair_incomplete"},
        ),
        ({CONF_GRID_POWER_ENTITY: "sensor.outdoor"}, {CONF_GRID_POWER_ENTITY: "not_power_unit"}),
        (
            {CONF_GRID_POWER_ENTITY: "sensor.no_such_meter"},
            {CONF_GRID_POWER_ENTITY: "entity_not_found"},
        ),
        (
            {
                CONF_BATTERY_POWER_ENTITY: "sensor.battery_power",
                CONF_BATTERY_SOC_ENTITY: "sensor.grid_w",
            },
            {CONF_BATTERY_SOC_ENTITY: "not_percent_unit"},
        ),
        (
            {CONF_BATTERY_POWER_ENTITY: "sensor.battery_power"},
            {CONF_BATTERY_SOC_ENTITY: "battery_incomplete"},
        ),
        (
            {CONF_BATTERY_SOC_ENTITY: "sensor.battery_soc"},
            {CONF_BATTERY_POWER_ENTITY: "battery_incomplete"},
        ),
        (
            {
                CONF_BATTERY_ENTRY: "e3dc",
                CONF_BATTERY_POWER_ENTITY: "sensor.battery_power",
                CONF_BATTERY_SOC_ENTITY: "sensor.battery_soc",
            },
            {CONF_BATTERY_POWER_ENTITY: "battery_source_twice"},
        ),
        (
            {CONF_GRID_POWER_ENTITY: "sensor.grid_w", CONF_PV_POWER_ENTITY: "sensor.grid_w"},
            {CONF_PV_POWER_ENTITY: "entity_used_twice"},
        ),
        ({CONF_PV_POWER_ENTITY: "sensor.battery_soc"}, {CONF_PV_POWER_ENTITY: "not_power_unit"}),
    ],
)
async def test_options_refuse_sources_that_do_not_fit(
    home: Home, sources: dict[str, str], errors: dict[str, str]
) -> None:
    await home.start(plug_in=False)
    flow_id, defaults = await _sources_page(home)
    chosen = {k: home.e3dc.entry_id if v == "e3dc" else v for k, v in sources.items()}
    result = await home.hass.config_entries.options.async_configure(flow_id, {**defaults, **chosen})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors


async def test_options_save_entity_sources_and_follow_them(home: Home) -> None:
    await home.start(plug_in=False, **{CONF_GRID_ENTRY: home.e3dc.entry_id})
    assert home.wallbox is not None
    flow_id, defaults = await _sources_page(home)
    flows = home.hass.config_entries.options
    page1 = {
        **defaults,
        CONF_GRID_IMPORT_ENTITY: "sensor.grid_import",
        CONF_GRID_EXPORT_ENTITY: "sensor.grid_export",
        CONF_BATTERY_POWER_ENTITY: "sensor.battery_power",
        CONF_BATTERY_POWER_SIGN: "discharge_positive",
        CONF_BATTERY_SOC_ENTITY: "sensor.battery_soc",
    }
    result = await flows.async_configure(flow_id, page1)  # the grid meter left empty
    assert result["step_id"] == "surplus_car"
    car = {str(k): k.default() for k in result["data_schema"].schema if callable(k.default)}
    result = await flows.async_configure(flow_id, car)
    assert result["step_id"] == "surplus_timing"
    timing = {str(k): k.default() for k in result["data_schema"].schema if callable(k.default)}
    result = await flows.async_configure(flow_id, timing)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await home.settle()
    options = home.wallbox.options
    assert CONF_GRID_ENTRY not in options  # removed: the entities replace it
    assert options[CONF_GRID_IMPORT_ENTITY] == "sensor.grid_import"
    assert options[CONF_BATTERY_POWER_SIGN] == "discharge_positive"
    # The entry reloaded with the new sources: the pair gives decisions now.
    manager = home.manager
    assert manager.sources.followed_entities() == ["sensor.grid_import", "sensor.grid_export"]
    await home.set(grid_import=0, grid_export=3000, battery=500, soc=60)
    site = home.site()
    assert site["grid_power"] == -3000.0
    assert site["battery_power"] == -500.0  # discharging 500 W
