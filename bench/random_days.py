"""Random days for the closed-loop benchmark, in addition to the named days.

`random_scenario(seed)` draws one day of a German household with a ~10 kWp roof from a
single ``random.Random(seed)``: the same seed always gives the same `Scenario`, another
seed another day. The site model's own seed (cloud and appliance timing) is drawn from it
as well. `random_day(seed)` also returns what was drawn; `random_scenarios(seed, count)`
gives the days ``seed`` … ``seed + count - 1``.

Command line (`parse_random_spec`): ``random:N`` is the day with seed N, ``random:A-B`` the
days with seeds A to B (inclusive), and items can be listed: ``random:1,5,10-12``. A day's
name ``random-N`` (as a report prints it) selects that day again. Any other text gives
None (not a random spec); a malformed spec raises `ScenarioError`. ``--seed`` on the
bench replaces only the model's seed (new cloud and appliance timing, same parameters).

What is drawn (U = uniform; p = probability):

=================  =========================================================================
day of year        U 1..365 (no year: 2025's calendar for the month names); clock with
                   CEST from day 88 to 300
sun                sunrise/sunset at 51° N, 10° E (declination, equation of time)
peak               roof U 9–11 kWp × season factor (0.44 at the winter solstice … 0.95 at
                   the summer solstice, cosine in between) × clarity U 0.92–1.08, at most
                   0.95 × roof: about 3.5–5 kW in winter, 8–10.5 kW in summer
weather            clear, cumulus (15–40 short clouds/h), mixed (4–12/h, minutes), overcast
                   (peak × 0.3–0.6, 3–8 long deep cuts/h), storm (1–3 deep cuts/h of
                   15–80 min from early afternoon to evening, clear before); weights by
                   season: winter 20/5/25/50/0 %, spring 25/30/25/15/5 %, summer
                   30/30/15/10/15 %, autumn 20/15/30/35/0 % (clear/cumulus/mixed/overcast/
                   storm)
house              base U 250–600 W, phase split a permutation of 45/35/20 %; kettle p 0.8
                   (1.8–2.2 kW, one phase), cooker p 0.85 (2–3.5 kW; from 11:00 on home
                   days, from 17:00 on commuter days), washing machine p 0.5 and
                   dishwasher p 0.6 (heating phase 1.8–2.2 kW, one phase), heat pump
                   p 0.45 from 12 Oct to 20 Apr (1.5–3.5 kW, 15–90 min, 0.3–0.8 starts/h,
                   all day) else a hot-water heat pump p 0.25 (0.8–1.5 kW), sauna p 0.05
                   (6–9 kW, 16:00–21:00)
home battery       none p 0.3 (no power: ``max_charge_w = max_discharge_w = 0``, the model
                   needs a capacity > 0); else U 4–15 kWh, charge/discharge power
                   0.35–0.7 C within 1.5–6 kW, minimum SoC 0–10 %, maximum 100 % (90 % at
                   p 0.15); SoC at midnight winter 5–30 %, spring/autumn 10–60 %, summer
                   20–80 %
car                3 phases p 0.7 else 1; own maximum 16 A p 0.7, 13 A p 0.15, 10 A p 0.15;
                   a minimum current of 8 A p 0.1; U 40–100 kWh; target 100 % p 0.5, 90 %
                   p 0.15, 80 % p 0.35; start SoC 2–12 kWh below the target p 0.3 (gets
                   full during the day), else U 10–70 %; taper (targets ≥ 90 % only, p 0.6)
                   from 3–12 points below the target down to 1.5–6 A; response delay
                   U 1–5 s (p 0.85) else 5–15 s; ramp U 1–5 s (p 0.85) else 5–12 s;
                   efficiency 0.86–0.94
plug window        commuter p 0.25 17:00 ±1 h → midnight; home office p 0.3 07:30–09:00 →
                   16:30–19:00; weekend outing p 0.2 at home 09:30–11:00 → 15:00–17:00;
                   afternoon p 0.15 12:00–15:00 → 19:00–22:00; all day p 0.1 00:00 → 24:00
=================  =========================================================================

A `Scenario` is one day with the car plugged in within it. The commuter's evening window
therefore ends at midnight: the departure next morning is on another day (and before the
sun rises), so nothing a PV-surplus strategy could do is cut off.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta

from simulator.model import SYMMETRIC, Appliance, BatteryConfig, HouseProfile, PvProfile

from .scenarios import HOUR, CarSpec, Scenario, ScenarioError

PREFIX = "random"
MAX_DAYS = 10_000
"""At most this many days in one spec."""

LATITUDE_DEG = 51.0
LONGITUDE_DEG = 10.0
DST_DAYS = (88, 300)
"""Days of the year (first, last) with summer time, about the last Sundays of March/October."""

SEASON_FACTOR = (0.44, 0.95)
"""Clear-sky peak per kWp at the winter and the summer solstice."""
ROOF_KWP = (9.0, 11.0)
HEATING_DAYS = (110, 285)
"""The heating season is outside (after 20 Apr … before 12 Oct)."""

WEATHER_WEIGHTS: dict[str, dict[str, float]] = {
    "winter": {"clear": 20, "cumulus": 5, "mixed": 25, "overcast": 50, "storm": 0},
    "spring": {"clear": 25, "cumulus": 30, "mixed": 25, "overcast": 15, "storm": 5},
    "summer": {"clear": 30, "cumulus": 30, "mixed": 15, "overcast": 10, "storm": 15},
    "autumn": {"clear": 20, "cumulus": 15, "mixed": 30, "overcast": 35, "storm": 0},
}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
PLUG_WEIGHTS: dict[str, float] = {
    "commuter": 25,
    "home office": 30,
    "weekend": 20,
    "afternoon": 15,
    "all day": 10,
}


@dataclass(frozen=True, slots=True)
class RandomDay:
    """A drawn day and the main choices behind it."""

    scenario: Scenario
    day_of_year: int
    season: str
    weather: str
    plug: str


def random_day(seed: int) -> RandomDay:
    """The day drawn from ``random.Random(seed)`` (see the module docstring)."""
    rng = random.Random(seed)
    doy = rng.randint(1, 365)
    day = date(2025, 1, 1) + timedelta(days=doy - 1)
    season = _season(day.month)
    weather = _weighted(rng, WEATHER_WEIGHTS[season])
    pv = _pv(rng, doy, weather)
    plug = _weighted(rng, PLUG_WEIGHTS)
    arrive_s, leave_s = _window(rng, plug)
    house = _house(rng, doy, plug)
    battery = _battery(rng)
    soc_pct = _battery_soc(rng, season, battery)
    car = _car(rng)
    model_seed = rng.randrange(1 << 31)
    name = f"{PREFIX}-{seed}"
    title = _title(seed, day, weather, pv, house, battery, car, plug, arrive_s, leave_s)
    scenario = Scenario(
        name,
        title,
        pv=pv,
        house=house,
        battery=battery,
        soc_pct=soc_pct,
        car=car,
        arrive_s=arrive_s,
        leave_s=leave_s,
        seed=model_seed,
    )
    return RandomDay(scenario, doy, season, weather, plug)


def random_scenario(seed: int) -> Scenario:
    """The scenario ``random-<seed>``."""
    return random_day(seed).scenario


def random_scenarios(seed: int, count: int) -> list[Scenario]:
    """The scenarios with seeds ``seed`` … ``seed + count - 1``."""
    return [random_scenario(seed + i) for i in range(count)]


def parse_random_spec(text: str) -> list[Scenario] | None:
    """``random:N``, ``random:A-B``, ``random:1,5,10-12`` or ``random-N`` → days; else None."""
    text = text.strip()
    if text.startswith(PREFIX + "-"):
        number = text.removeprefix(PREFIX + "-")
        if not number.isdigit():
            raise ScenarioError(f"{text}: expected {PREFIX}-N with a seed N")
        return [random_scenario(int(number))]
    if not text.startswith(PREFIX + ":"):
        return None
    seeds: list[int] = []
    for item in text.removeprefix(PREFIX + ":").split(","):
        first, sep, last = item.strip().partition("-")
        if not first.isdigit() or (sep and not last.isdigit()):
            raise ScenarioError(f"{text}: expected {PREFIX}:N, {PREFIX}:A-B or a list of them")
        low, high = int(first), int(last) if sep else int(first)
        if high < low:
            raise ScenarioError(f"{text}: {item.strip()} is an empty range")
        if len(seeds) + high - low + 1 > MAX_DAYS:
            raise ScenarioError(f"{text}: more than {MAX_DAYS} days")
        seeds += range(low, high + 1)
    return [random_scenario(seed) for seed in seeds]


# -- the sun and the weather ------------------------------------------------------------------


def sun_hours(day_of_year: int) -> tuple[float, float]:
    """Local clock hours of sunrise and sunset (CET, CEST in summer) at 51° N, 10° E."""
    angle = 2 * math.pi * (day_of_year - 81) / 364
    declination = math.radians(23.44) * math.sin(2 * math.pi * (284 + day_of_year) / 365)
    cos_h = -math.tan(math.radians(LATITUDE_DEG)) * math.tan(declination)
    half_day_h = math.degrees(math.acos(max(-1.0, min(1.0, cos_h)))) / 15.0
    equation_min = 9.87 * math.sin(2 * angle) - 7.53 * math.cos(angle) - 1.5 * math.sin(angle)
    noon = 12.0 + (15.0 - LONGITUDE_DEG) / 15.0 - equation_min / 60.0
    if DST_DAYS[0] <= day_of_year <= DST_DAYS[1]:
        noon += 1.0
    return noon - half_day_h, noon + half_day_h


def season_factor(day_of_year: int) -> float:
    """Clear-sky peak per kWp: lowest at the winter solstice (day 355), highest in June."""
    low, high = SEASON_FACTOR
    return low + (high - low) * (1 - math.cos(2 * math.pi * (day_of_year - 355) / 365)) / 2


def _season(month: int) -> str:
    return ("winter", "spring", "summer", "autumn")[month % 12 // 3]


def _pv(rng: random.Random, doy: int, weather: str) -> PvProfile:
    sunrise, sunset = sun_hours(doy)
    roof_w = rng.uniform(*ROOF_KWP) * 1000.0
    peak = min(roof_w * season_factor(doy) * rng.uniform(0.92, 1.08), 0.95 * roof_w)
    edge = 5.0
    hours = (0.0, 24.0)
    if weather == "clear":
        rate = rng.uniform(0.0, 1.0)
        duration = (10.0, 60.0)
        cut = (0.05, 0.25)
    elif weather == "cumulus":
        rate = rng.uniform(15.0, 40.0)
        duration = (rng.uniform(5.0, 20.0), rng.uniform(60.0, 240.0))
        cut = (rng.uniform(0.2, 0.4), rng.uniform(0.6, 0.85))
        edge = rng.uniform(2.0, 8.0)
    elif weather == "mixed":
        rate = rng.uniform(4.0, 12.0)
        duration = (rng.uniform(30.0, 120.0), rng.uniform(300.0, 900.0))
        cut = (rng.uniform(0.2, 0.4), rng.uniform(0.5, 0.8))
        edge = rng.uniform(5.0, 30.0)
    elif weather == "overcast":
        peak *= rng.uniform(0.3, 0.6)
        rate = rng.uniform(3.0, 8.0)
        duration = (rng.uniform(300.0, 600.0), rng.uniform(1200.0, 2700.0))
        cut = (rng.uniform(0.4, 0.6), rng.uniform(0.7, 0.9))
        edge = rng.uniform(30.0, 120.0)
    else:  # storm: clear until the early afternoon, then a few long deep cuts
        rate = rng.uniform(1.0, 3.0)
        duration = (rng.uniform(900.0, 1500.0), rng.uniform(2400.0, 4800.0))
        cut = (0.7, 0.95)
        edge = rng.uniform(60.0, 300.0)
        hours = (round(rng.uniform(12.5, 15.0), 2), round(rng.uniform(18.0, 20.5), 2))
    return PvProfile(
        peak_w=round(peak, -1),
        sunrise_h=round(sunrise, 3),
        sunset_h=round(sunset, 3),
        clouds_per_h=round(rate, 2),
        cloud_duration_s=(round(duration[0]), round(duration[1])),
        cloud_cut=(round(cut[0], 3), round(cut[1], 3)),
        cloud_edge_s=round(edge, 1),
        cloud_hours=hours,
    )


# -- the house --------------------------------------------------------------------------------


def _one_phase(rng: random.Random) -> tuple[float, float, float]:
    phase = rng.randrange(3)
    shares = [0.0, 0.0, 0.0]
    shares[phase] = 1.0
    return (shares[0], shares[1], shares[2])


def _house(rng: random.Random, doy: int, plug: str) -> HouseProfile:
    split = [0.45, 0.35, 0.20]
    rng.shuffle(split)
    at_home = plug != "commuter"
    heating = not HEATING_DAYS[0] <= doy <= HEATING_DAYS[1]
    appliances: list[Appliance] = []
    if rng.random() < 0.8:
        appliances.append(
            Appliance(
                "kettle",
                round(rng.uniform(1800.0, 2200.0), -1),
                (90.0, 240.0),
                rng.uniform(0.2, 0.6),
                _one_phase(rng),
                (6.0, 22.0),
            )
        )
    if rng.random() < 0.85:
        appliances.append(
            Appliance(
                "cooker",
                round(rng.uniform(2000.0, 3500.0), -1),
                (900.0, 2700.0),
                rng.uniform(0.08, 0.2),
                SYMMETRIC,
                (11.0, 20.0) if at_home else (17.0, 20.5),
            )
        )
    if rng.random() < 0.5:
        appliances.append(
            Appliance(
                "washing_machine",
                round(rng.uniform(1800.0, 2200.0), -1),
                (600.0, 1500.0),
                rng.uniform(0.1, 0.3),
                _one_phase(rng),
                (8.0, 20.0),
            )
        )
    if rng.random() < 0.6:
        appliances.append(
            Appliance(
                "dishwasher",
                round(rng.uniform(1800.0, 2200.0), -1),
                (900.0, 1800.0),
                rng.uniform(0.1, 0.25),
                _one_phase(rng),
                (12.0, 22.0),
            )
        )
    if heating and rng.random() < 0.45:
        appliances.append(
            Appliance(
                "heat_pump",
                round(rng.uniform(1500.0, 3500.0), -1),
                (rng.uniform(900.0, 1800.0), rng.uniform(2700.0, 5400.0)),
                rng.uniform(0.3, 0.8),
            )
        )
    elif not heating and rng.random() < 0.25:
        appliances.append(
            Appliance(
                "hot_water_heat_pump",
                round(rng.uniform(800.0, 1500.0), -1),
                (1200.0, 3600.0),
                rng.uniform(0.05, 0.15),
            )
        )
    if rng.random() < 0.05:
        appliances.append(
            Appliance(
                "sauna",
                round(rng.uniform(6000.0, 9000.0), -1),
                (3600.0, 7200.0),
                rng.uniform(0.1, 0.3),
                SYMMETRIC,
                (16.0, 21.0),
            )
        )
    return HouseProfile(
        base_w=round(rng.uniform(250.0, 600.0), -1),
        base_phases=(split[0], split[1], split[2]),
        appliances=tuple(appliances),
    )


# -- the home battery -------------------------------------------------------------------------

NO_BATTERY = BatteryConfig(capacity_wh=1000.0, max_charge_w=0.0, max_discharge_w=0.0)
"""No home battery: it can neither charge nor discharge (the model needs a capacity > 0)."""


def _battery(rng: random.Random) -> BatteryConfig:
    if rng.random() < 0.3:
        return NO_BATTERY
    capacity = round(rng.uniform(4000.0, 15000.0), -2)
    charge = min(max(capacity * rng.uniform(0.35, 0.7), 1500.0), 6000.0)
    discharge = min(max(charge * rng.uniform(0.9, 1.1), 1500.0), 6000.0)
    return BatteryConfig(
        capacity_wh=capacity,
        max_charge_w=round(charge, -2),
        max_discharge_w=round(discharge, -2),
        soc_min_pct=float(rng.randint(0, 10)),
        soc_max_pct=90.0 if rng.random() < 0.15 else 100.0,
        time_constant_s=round(rng.uniform(1.0, 4.0), 1),
    )


def _battery_soc(rng: random.Random, season: str, battery: BatteryConfig) -> float:
    low, high = {"winter": (5.0, 30.0), "summer": (20.0, 80.0)}.get(season, (10.0, 60.0))
    soc = round(rng.uniform(low, high))
    return float(min(max(soc, battery.soc_min_pct), battery.soc_max_pct))


# -- the car and its window -------------------------------------------------------------------


def _car(rng: random.Random) -> CarSpec:
    phases = 3 if rng.random() < 0.7 else 1
    max_current = float(_weighted(rng, {"16": 70, "13": 15, "10": 15}))
    min_current = 8.0 if rng.random() < 0.1 else 6.0
    capacity = float(round(rng.uniform(40.0, 100.0)))
    target = float(_weighted(rng, {"100": 50, "90": 15, "80": 35}))
    if rng.random() < 0.3:
        room_kwh = rng.uniform(2.0, 12.0)
        soc = max(5.0, target - room_kwh / capacity * 100.0)
    else:
        soc = min(rng.uniform(10.0, 70.0), target - 5.0)
    taper: float | None = None
    taper_min = 6.0
    if target >= 90.0 and rng.random() < 0.6:
        taper = round(target - rng.uniform(3.0, 12.0), 1)
        taper_min = round(rng.uniform(1.5, 6.0) * 2) / 2
    slow_reaction = rng.random() >= 0.85
    delay = rng.uniform(5.0, 15.0) if slow_reaction else rng.uniform(1.0, 5.0)
    slow_ramp = rng.random() >= 0.85
    ramp = rng.uniform(5.0, 12.0) if slow_ramp else rng.uniform(1.0, 5.0)
    return CarSpec(
        phases=phases,
        max_current_a=max_current,
        capacity_kwh=capacity,
        soc_pct=round(soc, 1),
        target_soc_pct=target,
        efficiency=round(rng.uniform(0.86, 0.94), 2),
        response_delay_s=round(delay, 1),
        ramp_s=round(ramp, 1),
        taper_soc_pct=taper,
        taper_min_a=taper_min,
        min_current_a=min_current,
    )


def _window(rng: random.Random, plug: str) -> tuple[float, float]:
    """Arrival and departure in seconds after midnight, on the minute."""

    def clock(low_h: float, high_h: float) -> float:
        return round(rng.uniform(low_h, high_h) * 60.0) * 60.0

    if plug == "commuter":
        return clock(16.0, 18.0), 24 * HOUR
    if plug == "home office":
        return clock(7.5, 9.0), clock(16.5, 19.0)
    if plug == "weekend":
        return clock(9.5, 11.0), clock(15.0, 17.0)
    if plug == "afternoon":
        return clock(12.0, 15.0), clock(19.0, 22.0)
    return 0.0, 24 * HOUR


# -- helpers ----------------------------------------------------------------------------------


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    names = list(weights)
    return rng.choices(names, weights=[weights[n] for n in names])[0]


def _hhmm(seconds: float) -> str:
    minutes = round(seconds / 60.0)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _title(
    seed: int,
    day: date,
    weather: str,
    pv: PvProfile,
    house: HouseProfile,
    battery: BatteryConfig,
    car: CarSpec,
    plug: str,
    arrive_s: float,
    leave_s: float,
) -> str:
    loads = [a.name.replace("_", " ") for a in house.appliances if a.name not in ("kettle",)]
    store = (
        "no battery"
        if battery.max_charge_w <= 0 and battery.max_discharge_w <= 0
        else f"{battery.capacity_wh / 1000:g} kWh battery"
    )
    extras = []
    if car.taper_soc_pct is not None:
        extras.append(f"taper from {car.taper_soc_pct:g} %")
    if car.min_current_a > 6.0:
        extras.append(f"needs {car.min_current_a:g} A")
    car_text = (
        f"{car.phases}-phase {car.max_current_a:g} A car, {car.capacity_kwh:g} kWh "
        f"{car.soc_pct:g}→{car.target_soc_pct:g} %" + (f" ({', '.join(extras)})" if extras else "")
    )
    parts = [
        f"{day.day} {MONTHS[day.month - 1]}",
        f"{weather} ({pv.peak_w / 1000:.1f} kW peak)",
        f"house {house.base_w:g} W" + (" + " + ", ".join(loads) if loads else ""),
        store,
        car_text,
        f"{plug} {_hhmm(arrive_s)}–{_hhmm(leave_s)}",
    ]
    return f"random {seed}: " + ", ".join(parts)
