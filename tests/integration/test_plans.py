"""Departure plans in Home Assistant (charging_plan.py, plan_*.py): options, entities,
actions, the Store, the forecast and the prices, the demand the controller gets, events.

The site (tests/integration/sites.py) has the simulated PAC2200 as grid meter. The car's
state of charge is a template sensor that follows an input number the test sets.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.components.device_automation import DeviceAutomationType
from homeassistant.core import HomeAssistant, ServiceCall, SupportsResponse
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_get_device_automations,
)

from custom_components.solar_wallbox.charging.model import PlanStatus, Reason
from custom_components.solar_wallbox.charging.planner import ForecastSlot
from custom_components.solar_wallbox.charging_plan import PlanMemory
from custom_components.solar_wallbox.const import (
    CONF_BATTERY_CAPACITY,
    CONF_CHARGING_EFFICIENCY,
    CONF_FIXED_PRICE,
    CONF_FORECAST_ENTRIES,
    CONF_LIMIT_SOC,
    CONF_MIN_SOC,
    CONF_PLAN_TARGET_SOC,
    CONF_PLAN_TIME,
    CONF_PLAN_WEEKDAYS,
    CONF_PRICE_ENTITY,
    CONF_VEHICLE_SOC_ENTITY,
    DOMAIN,
    EVENT_PLAN,
    WEEKDAYS,
)
from custom_components.solar_wallbox.logbook import async_load_translations, describe
from custom_components.solar_wallbox.plan_sources import (
    async_prices_from_action,
    forecast_from_wh_hours,
    merge_forecasts,
    parse_price_items,
    prices_from_state,
    solcast_low,
)
from simulator.car import CarConfig

from .sites import Site, W

SOC = "sensor.car_soc"
PRICES = "sensor.day_ahead"
VEHICLE = {
    CONF_BATTERY_CAPACITY: 60.0,
    CONF_CHARGING_EFFICIENCY: 90.0,
    CONF_VEHICLE_SOC_ENTITY: SOC,
    CONF_LIMIT_SOC: 100.0,
    CONF_MIN_SOC: 0.0,
}


async def _soc_sensor(hass: HomeAssistant, initial: float = 30.0) -> None:
    assert await async_setup_component(
        hass,
        "input_number",
        {"input_number": {"soc": {"min": 0, "max": 100, "step": 0.5, "initial": initial}}},
    )
    assert await async_setup_component(
        hass,
        "template",
        {
            "template": [
                {
                    "sensor": [
                        {
                            "name": "car_soc",
                            "state": "{{ states('input_number.soc') }}",
                            "unit_of_measurement": "%",
                            "device_class": "battery",
                        }
                    ]
                }
            ]
        },
    )
    await hass.async_block_till_done()


async def _set_soc(site: Site, value: float) -> None:
    await site.call("input_number", "set_value", "input_number.soc", value=value)
    await site.hass.async_block_till_done(wait_background_tasks=True)


async def _options(site: Site, **changes: Any) -> None:
    options = {k: v for k, v in {**site.wallbox.options, **changes}.items() if v is not None}
    site.hass.config_entries.async_update_entry(site.wallbox, options=options)
    await site.hass.async_block_till_done()


def _manager(site: Site) -> Any:
    return site.wallbox.runtime_data.charging


def _device_id(site: Site) -> str:
    device = dr.async_get(site.hass).async_get_device(
        identifiers={(DOMAIN, str(site.wallbox.unique_id))}
    )
    assert device is not None
    return device.id


async def _charging(site: Site, *, pv: float = 0.0) -> None:
    """No surplus (PV off), surplus charging on, a car plugged in (no initial phase)."""
    await _options(site, initial_current=0)
    site.model.pv_override = pv
    await site.call("switch", "turn_on", f"switch.{W}surplus_charging")
    site.charger.plug_in(CarConfig(tag=None))
    await site.run(10)


# -- options ---------------------------------------------------------------------------


async def test_options_pages(hass: HomeAssistant, site: Site) -> None:
    await _soc_sensor(hass)
    hass.states.async_set("sensor.not_a_price", "cheap", {})
    hass.states.async_set("sensor.text", "full", {})

    async def open_pages() -> str:
        result = await hass.config_entries.options.async_init(site.wallbox.entry_id)
        assert "vehicle_battery" in result["menu_options"]
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {"next_step_id": "vehicle_battery"}
        )
        assert result["step_id"] == "vehicle_battery"
        return str(result["flow_id"])

    flow = await open_pages()
    for user_input, field, error in (
        ({**VEHICLE, CONF_BATTERY_CAPACITY: 0}, CONF_BATTERY_CAPACITY, "soc_needs_capacity"),
        ({**VEHICLE, CONF_MIN_SOC: 90, CONF_LIMIT_SOC: 80}, CONF_MIN_SOC, "min_soc_above_limit"),
        (
            {**VEHICLE, CONF_VEHICLE_SOC_ENTITY: "sensor.text"},
            CONF_VEHICLE_SOC_ENTITY,
            "soc_entity_not_percent",
        ),
        ({**VEHICLE, CONF_BATTERY_CAPACITY: float("nan")}, CONF_BATTERY_CAPACITY, "invalid_number"),
    ):
        result = await hass.config_entries.options.async_configure(flow, user_input)
        assert result["errors"] == {field: error}, user_input
    result = await hass.config_entries.options.async_configure(flow, VEHICLE)
    assert result["step_id"] == "departure_plans"
    plan = {
        CONF_PLAN_WEEKDAYS: [],
        "plan_target_soc": 80,
        "plan_target_energy": 0,
        "feed_in_tariff": 0.08,
        "plan_house_load": 400,
    }
    for user_input, field, error in (
        ({**plan, CONF_PLAN_WEEKDAYS: ["mon"]}, CONF_PLAN_TIME, "plan_time_missing"),
        (
            {
                **plan,
                CONF_PLAN_WEEKDAYS: ["mon"],
                CONF_PLAN_TIME: "07:00:00",
                CONF_PLAN_TARGET_SOC: 0,
            },
            "base",
            "plan_target_missing",
        ),
        (
            {**plan, CONF_PRICE_ENTITY: "sensor.not_a_price"},
            CONF_PRICE_ENTITY,
            "price_entity_unusable",
        ),
    ):
        result = await hass.config_entries.options.async_configure(flow, user_input)
        assert result["errors"] == {field: error}, user_input
    result = await hass.config_entries.options.async_configure(
        flow,
        {
            **plan,
            CONF_PLAN_WEEKDAYS: ["mon", "fri"],
            CONF_PLAN_TIME: "07:00:00",
            CONF_FIXED_PRICE: 0.3,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    options = site.wallbox.options
    assert options[CONF_VEHICLE_SOC_ENTITY] == SOC
    assert options[CONF_PLAN_WEEKDAYS] == ["mon", "fri"]
    assert options[CONF_FIXED_PRICE] == 0.3
    keeper = _manager(site).plans
    assert keeper.options.weekdays == {0, 4}
    assert keeper.options.battery.capacity_wh == 60000
    # The repeating plan's next departure: a Monday or a Friday at 07:00 local time.
    target = keeper.target_for(dt_util.utcnow())
    assert target is not None
    assert target.repeating
    local = dt_util.as_local(target.departure)
    assert (WEEKDAYS[local.weekday()], local.hour, local.minute) in {("mon", 7, 0), ("fri", 7, 0)}
    # Left empty: removed (the fixed price), the rest stays.
    flow = await open_pages()
    await hass.config_entries.options.async_configure(flow, VEHICLE)
    result = await hass.config_entries.options.async_configure(flow, plan)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert CONF_FIXED_PRICE not in site.wallbox.options
    assert CONF_PLAN_WEEKDAYS not in site.wallbox.options


# -- the one-off plan and the demand -----------------------------------------------------


async def test_catch_up_reaches_the_target_and_the_events(hass: HomeAssistant, site: Site) -> None:
    """A target that needs full power from now on: charged at once from the grid (no
    surplus), status "charging now"; the SoC reaching it ends the plan's demand."""
    await _soc_sensor(hass, 30.0)
    await _options(site, **VEHICLE, **{CONF_FIXED_PRICE: 0.3})
    events = async_capture_events(hass, EVENT_PLAN)
    await _charging(site)
    assert site.state("decision") == "waiting_for_surplus"
    assert site.state("departure_plan") == "none"
    # 30 % → 40 % of 60 kWh at 90 %: 6.67 kWh, 36 min at 11 kW; the departure in 40 min.
    departure = site.clock.now + timedelta(minutes=40)
    await site.call("number", "set_value", f"number.{W}departure_target_soc", value=40)
    await site.call("datetime", "set_value", f"datetime.{W}departure", datetime=departure)
    assert [e.data["type"] for e in events] == ["set"]
    assert events[0].data["device_id"] == _device_id(site)
    assert events[0].data["need"] == pytest.approx(6667, abs=50)  # the new plan's figures
    await site.run(10)
    assert site.state("decision") == Reason.PLAN_CATCH_UP
    assert site.limit == 16
    assert site.state("departure_plan") == PlanStatus.CHARGING_NOW
    assert float(site.state("planned_grid_energy")) == pytest.approx(6.667, abs=0.05)
    assert float(site.state("expected_solar_share")) == 0
    assert float(site.state("expected_cost")) == pytest.approx(6.667 * 0.3, abs=0.02)
    attributes = hass.states.get(f"sensor.{W}departure_plan").attributes  # type: ignore[union-attr]
    assert attributes["target_soc"] == 40
    assert attributes["slots"]
    assert all(slot["grid_power"] > 0 for slot in attributes["slots"])
    # The SoC reaches the target: no demand (surplus rules: none, so the car pauses).
    await _set_soc(site, 40.0)
    await site.run(4)
    assert site.state("departure_plan") == PlanStatus.TARGET_REACHED
    assert [e.data["type"] for e in events] == ["set", "reached"]
    assert site.state("decision") != Reason.PLAN_CATCH_UP
    # The logbook line of the event.
    await async_load_translations(hass)
    assert "Departure plan target reached" in describe(hass, events[-1])["message"]
    # Its departure passed: no plan any more.
    site.clock.now = departure + timedelta(minutes=1)
    await site.run(2)
    assert site.state("departure_plan") == PlanStatus.NONE
    assert site.state(f"sensor.{W}next_planned_grid_slot") == "unknown"


async def test_cheapest_grid_slot_with_prices_from_a_sensor(
    hass: HomeAssistant, site: Site
) -> None:
    """Prices in an EPEX Spot-style list: the energy is reserved in the cheapest hour and
    charged there at the planned power; before it, the status says it is planned."""
    now = dt_util.utcnow()
    start = now.replace(minute=0, second=0, microsecond=0)
    prices = [0.40, 0.35, 0.10, 0.38, 0.41, 0.42, 0.43, 0.44]
    hass.states.async_set(
        PRICES,
        "0.40",
        {
            "unit_of_measurement": "€/kWh",
            "data": [
                {
                    "start_time": (start + timedelta(hours=i)).isoformat(),
                    "end_time": (start + timedelta(hours=i + 1)).isoformat(),
                    "price_per_kwh": price,
                }
                for i, price in enumerate(prices)
            ],
        },
    )
    await _options(site, **{CONF_PRICE_ENTITY: PRICES})
    await _charging(site)
    departure = start + timedelta(hours=7)
    await hass.services.async_call(
        DOMAIN,
        "set_plan",
        {"device_id": _device_id(site), "departure": departure, "target_energy": 5},
        blocking=True,
    )
    await site.run(2)
    keeper = _manager(site).plans
    assert keeper.prices
    assert keeper.prices[2].price == 0.10
    assert site.state("departure_plan") == PlanStatus.CHARGING_PLANNED
    # The cheapest hour's quarters cost the same: the later ones first (a better sun may
    # still make them unneeded): 19:45 at full power, 19:30 for the rest.
    slot = start + timedelta(hours=2, minutes=30)
    assert dt_util.parse_datetime(site.state("next_planned_grid_slot")) == slot
    assert float(site.state("expected_cost")) == pytest.approx(0.5, abs=0.01)
    assert site.limit == 0
    # In the slot, re-planned (15 min passed): 5 − 2.76 kWh in the 14 min left of this
    # quarter → 9.6 kW → 14 A (the least current that gives it).
    site.clock.now = slot + timedelta(minutes=1)
    await site.run(4)
    assert site.state("decision") == Reason.PLAN_GRID
    assert site.limit == 14
    assert site.state("departure_plan") == PlanStatus.CHARGING_NOW


async def test_limit_and_minimum_soc(hass: HomeAssistant, site: Site) -> None:
    await _soc_sensor(hass, 10.0)
    await _options(site, **{**VEHICLE, CONF_MIN_SOC: 20.0, CONF_LIMIT_SOC: 80.0})
    await _charging(site)
    assert site.state("decision") == Reason.MIN_SOC
    assert site.limit == 16
    await _set_soc(site, 25.0)
    await site.run(4)
    assert site.state("decision") != Reason.MIN_SOC
    # The limit SoC stops in every mode, Fast included.
    await site.call("select", "select_option", f"select.{W}charge_mode", option="fast")
    await site.run(4)
    assert site.limit == 16
    await _set_soc(site, 80.0)
    await site.run(4)
    assert site.state("decision") == Reason.SOC_LIMIT
    assert site.limit == 0


async def test_a_soc_from_before_the_plug_in_does_not_stop(hass: HomeAssistant, site: Site) -> None:
    """A car that reports no SoC while it sleeps: its level from before the plug-in does
    not stop it at the limit; the first SoC written after the plug-in does."""
    await _soc_sensor(hass, 85.0)
    await _options(site, **{**VEHICLE, CONF_LIMIT_SOC: 80.0}, initial_current=0)
    await site.call("select", "select_option", f"select.{W}charge_mode", option="fast")
    await site.call("switch", "turn_on", f"switch.{W}surplus_charging")
    await site.run(2)
    site.charger.plug_in(CarConfig(tag=None))
    await site.run(6)
    assert site.state("decision") == Reason.FAST
    assert site.limit == 16
    await _set_soc(site, 86.0)
    await site.run(4)
    assert site.state("decision") == Reason.SOC_LIMIT


async def test_full_power_of_a_one_phase_car(hass: HomeAssistant, site: Site) -> None:
    """Seen drawing on one phase, the car's full power stays a 1-phase one when it pauses."""
    await _options(site, initial_current=0)
    await site.call("select", "select_option", f"select.{W}charge_mode", option="fast")
    await site.call("switch", "turn_on", f"switch.{W}surplus_charging")
    site.charger.plug_in(CarConfig(tag=None, phases=1))
    await site.run(30)
    keeper = _manager(site).plans
    assert keeper.max_power == pytest.approx(16 * 230)
    await site.call("select", "select_option", f"select.{W}charge_mode", option="off")
    await site.run(30)
    assert site.limit == 0
    assert float(site.state("charging_power")) == 0
    assert keeper.max_power == pytest.approx(16 * 230)  # not three phases while it pauses


async def test_impossible_is_said_at_once(hass: HomeAssistant, site: Site) -> None:
    await _soc_sensor(hass, 10.0)
    await _options(site, **VEHICLE)
    events = async_capture_events(hass, EVENT_PLAN)
    await _charging(site)
    await hass.services.async_call(
        DOMAIN,
        "set_plan",
        {
            "device_id": _device_id(site),
            "departure": site.clock.now + timedelta(hours=1),
            "target_soc": 90,
        },
        blocking=True,
    )
    await site.run(4)
    assert site.state("departure_plan") == PlanStatus.TARGET_IMPOSSIBLE
    assert site.limit == 16  # as much as it can
    assert [e.data["type"] for e in events] == ["set", "impossible"]
    await site.run(4)
    assert len(events) == 2  # said once
    # … and not again after a restart (the Store keeps what was said).
    assert await hass.config_entries.async_reload(site.wallbox.entry_id)
    await hass.async_block_till_done()
    await site.run(4)
    assert site.state("departure_plan") == PlanStatus.TARGET_IMPOSSIBLE
    assert len(events) == 2


async def test_set_plan_errors_and_the_store(hass: HomeAssistant, site: Site) -> None:
    device_id = _device_id(site)
    ahead = dt_util.utcnow() + timedelta(hours=5)

    async def call(**data: Any) -> None:
        await hass.services.async_call(
            DOMAIN, "set_plan", {"device_id": device_id, "departure": ahead, **data}, blocking=True
        )

    for data, key in (
        ({}, "plan_no_target"),
        ({"target_soc": 80}, "plan_soc_without_entity"),  # no SoC entity configured
        (
            {"target_energy": 5, "departure": dt_util.utcnow() - timedelta(minutes=1)},
            "departure_in_past",
        ),
        ({"target_energy": 5, "device_id": "nope"}, "plan_not_a_wallbox"),
        (
            {"target_energy": 5, "departure": dt_util.utcnow() + timedelta(days=9)},
            "departure_too_far",
        ),
    ):
        with pytest.raises(ServiceValidationError) as caught:
            await call(**data)
        assert caught.value.translation_key == key, data
    await call(target_energy=12.5)
    memory = _manager(site).plans.memory
    assert memory == PlanMemory(
        departure=ahead.replace(microsecond=0),  # to the second, as the entity shows it
        target_soc=None,
        target_energy=12500.0,
    )
    assert float(site.state(f"number.{W}departure_energy_to_add")) == 12.5
    # Kept across a reload (the Store), and cleared by the button.
    assert await hass.config_entries.async_reload(site.wallbox.entry_id)
    await hass.async_block_till_done()
    assert _manager(site).plans.memory.departure == memory.departure
    assert dt_util.parse_datetime(site.state(f"datetime.{W}departure")) == memory.departure
    await site.call("button", "press", f"button.{W}clear_departure")
    assert _manager(site).plans.memory.departure is None
    assert _manager(site).plans.memory.target_energy == 12500.0  # the target stays
    await hass.services.async_call(DOMAIN, "clear_plan", {"device_id": device_id}, blocking=True)
    # A file with a broken plan loses only the plan.
    assert PlanMemory.from_json({"departure": "soon", "target_soc": 300}) == PlanMemory()
    assert PlanMemory.from_json("garbage") == PlanMemory()
    said = PlanMemory(ahead, 80.0, None, ("reached", ahead))
    assert PlanMemory.from_json(said.to_json()) == said
    assert PlanMemory.from_json({**said.to_json(), "announced": ["boom", "x"]}).announced is None


async def test_device_triggers(hass: HomeAssistant, site: Site) -> None:
    triggers = await async_get_device_automations(
        hass, DeviceAutomationType.TRIGGER, _device_id(site)
    )
    kinds = {t["type"] for t in triggers if t["domain"] == DOMAIN}
    assert {"plan_set", "plan_impossible", "plan_reached"} <= kinds


# -- the forecast and the prices ---------------------------------------------------------


async def test_forecast_from_an_energy_platform(hass: HomeAssistant, site: Site) -> None:
    """A forecast entry chosen in the options: its wh_hours (Forecast.Solar: each key ends
    its hour) become the plan's sun, and a plan counts on it."""
    forecast_entry = MockConfigEntry(domain="forecast_solar", title="Roof")
    forecast_entry.add_to_hass(hass)
    start = dt_util.utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    wh = {(start + timedelta(hours=i + 1)).isoformat(): 9000 for i in range(4)}
    calls: list[str] = []

    async def solar(_hass: HomeAssistant, entry_id: str) -> dict[str, Any]:
        calls.append(entry_id)
        return {"wh_hours": wh}

    with patch(
        "homeassistant.components.energy.websocket_api.async_get_energy_platforms",
        return_value={"forecast_solar": solar},
    ):
        await _options(site, **{CONF_FORECAST_ENTRIES: [forecast_entry.entry_id]})
        await _charging(site)
        await _manager(site).plans.async_refresh_inputs(site.clock.now, force=True)
    keeper = _manager(site).plans
    assert calls
    assert calls[-1] == forecast_entry.entry_id
    assert keeper.forecast[0].start == start
    assert keeper.forecast[0].pv_w == 9000
    await hass.services.async_call(
        DOMAIN,
        "set_plan",
        {
            "device_id": _device_id(site),
            "departure": start + timedelta(hours=6),
            "target_energy": 10,
        },
        blocking=True,
    )
    await site.run(2)
    assert keeper.plan is not None
    assert keeper.plan.solar_wh > 5000  # most of it from the sun
    assert float(site.state("expected_solar_share")) > 50


def test_price_shapes() -> None:
    """The shapes of docs/departure-plans.md, each in its unit."""
    t = datetime(2026, 12, 3, 0, 0, tzinfo=dt_util.UTC)
    iso = t.isoformat()
    later = (t + timedelta(minutes=15)).isoformat()
    epex = parse_price_items([{"start_time": iso, "end_time": later, "price_per_kwh": 0.081}])
    assert (epex[0].price, epex[0].end - epex[0].start) == (0.081, timedelta(minutes=15))
    old_epex = parse_price_items([{"start_time": iso, "end_time": later, "price_eur_per_mwh": 81}])
    assert old_epex[0].price == pytest.approx(0.081)
    ct = parse_price_items([{"start_time": iso, "end_time": later, "price_ct_per_kwh": 8.1}])
    assert ct[0].price == pytest.approx(0.081)
    # Nordpool custom: datetimes, a "c/kWh" unit.
    nordpool = parse_price_items(
        [{"start": t, "end": t + timedelta(hours=1), "value": 21.5}], "c/kWh"
    )
    assert nordpool[0].price == pytest.approx(0.215)
    # Tibber's action: start times only (the next one ends a slot).
    tibber = parse_price_items(
        [
            {"start_time": "2026-12-03T00:00:00.000+01:00", "price": 0.3},
            {"start_time": "2026-12-03T00:15:00.000+01:00", "price": 0.2},
        ]
    )
    assert tibber[0].end - tibber[0].start == timedelta(minutes=15)
    assert tibber[1].end - tibber[1].start == timedelta(hours=1)
    # Octopus rates; junk is skipped.
    octopus = parse_price_items(
        [
            {"start": iso, "end": later, "value_inc_vat": 0.245},
            {"start": "x", "value": 1},
            "junk",
            {"start": iso, "price": float("nan")},
        ]
    )
    assert [p.price for p in octopus] == [0.245]


def test_forecast_shapes(hass: HomeAssistant) -> None:
    t = datetime(2026, 6, 21, 10, 0, tzinfo=dt_util.UTC)
    keys = {(t + timedelta(hours=i)).isoformat(): 1000 * i for i in range(3)}
    starting = forecast_from_wh_hours(keys)
    assert [(s.start, s.pv_w) for s in starting] == [
        (t + timedelta(hours=i), 1000.0 * i) for i in range(3)
    ]
    ending = forecast_from_wh_hours(keys, ending=True)
    assert ending[1].start == t
    assert ending[1].end == t + timedelta(hours=1)
    assert ending[1].pv_w == 1000
    half = {t.isoformat(): 1000, (t + timedelta(minutes=30)).isoformat(): 1000}
    assert forecast_from_wh_hours(half)[0].pv_w == 2000  # 1 kWh in half an hour
    hass.states.async_set(
        "sensor.solcast_today",
        "30",
        {"detailedForecast": [{"period_start": t, "pv_estimate": 3.0, "pv_estimate10": 1.5}]},
    )
    low = solcast_low([hass.states.get("sensor.solcast_today")])  # type: ignore[list-item]
    assert low == {t: 1500.0}
    assert forecast_from_wh_hours({t.isoformat(): 3000}, low)[0].pv_low_w == 1500.0
    # Two arrays (hourly and half-hourly) add per half hour; p10 only where both have one.
    hour, half_hour = timedelta(hours=1), timedelta(minutes=30)
    roof = [ForecastSlot(t + i * hour, t + (i + 1) * hour, 1000.0, 500.0) for i in range(3)]
    garage = [ForecastSlot(t + i * half_hour, t + (i + 1) * half_hour, 200.0 * i) for i in range(4)]
    merged = merge_forecasts([roof, garage])
    assert [(s.start - t, s.pv_w, s.pv_low_w) for s in merged] == [
        (timedelta(0), 1000.0, None),
        (half_hour, 1200.0, None),
        (hour, 1400.0, None),
        (hour + half_hour, 1600.0, None),
        (2 * hour, 1000.0, 500.0),
    ]


async def test_prices_from_the_nord_pool_action(hass: HomeAssistant) -> None:
    """A Nord Pool sensor has no list: its action gives today and tomorrow (per MWh)."""
    entry = MockConfigEntry(domain="nordpool", title="Nord Pool")
    entry.add_to_hass(hass)
    er.async_get(hass).async_get_or_create(
        "sensor", "nordpool", "se3_price", config_entry=entry, suggested_object_id="se3_price"
    )
    asked: list[dict[str, Any]] = []
    t = dt_util.start_of_local_day()

    async def prices(call: ServiceCall) -> dict[str, Any]:
        asked.append(dict(call.data))
        if call.data["date"] != t.date().isoformat():
            raise ServiceValidationError("no data yet")  # tomorrow: not published
        return {
            "SE3": [
                {
                    "start": t.isoformat(),
                    "end": (t + timedelta(hours=1)).isoformat(),
                    "price": 215.0,
                }
            ]
        }

    hass.services.async_register(
        "nordpool", "get_prices_for_date", prices, supports_response=SupportsResponse.ONLY
    )
    found = await async_prices_from_action(hass, "sensor.se3_price")
    assert [(p.start, p.price) for p in found] == [(t, pytest.approx(0.215))]
    assert [a["config_entry"] for a in asked] == [entry.entry_id] * 2
    assert await async_prices_from_action(hass, "sensor.nothing") == []
    assert prices_from_state(None) == []
