"""``python -m bench.plans``: departure plans on plan days (issue 18 §4, "Benchmark: plan days").

A *plan day* is a plug-in window with a departure and a target: the car (60 kWh, 30 % →
80 %, efficiency 0.9; its own charge limit is the target, so it stops there by itself)
must get 33.3 kWh at the wallbox meter by the departure. Prices and a PV forecast make it a
question of cost, not only of solar kWh.

**Simulation.** The site model (simulator/model.py `SiteModel`: PV with clouds, household
with appliances, the greedy lossless home battery) runs from the plug-in to the departure
in 1 s steps, also over the 61 h weekend (`SiteModel.step_weather` records the day once,
`SiteModel.replay` replays it with the car as in bench/closed_loop.py `Rig.run`). The
charger and car follow bench/closed_loop.py: the written limit is offered when it is at
least 6 A (nothing in the first 2 s after plug-in) and simulator/car.py `Car` follows with
its delay and ramp. Simplification against the closed-loop bench: every strategy reads the
exact values of its second (no meter noise or delay, `closed_loop.IDEAL`), and reads the
car's state of charge exactly (the manager reads it from a SoC entity).

**Forecast** (`forecast_slots`): hourly means of the day's true PV (or, on the days with a
wrong forecast, of another weather's PV) times ``exp(e_h)``, ``e_h`` a stationary AR(1)
log-error per hour (φ `FORECAST_PHI`, σ `FORECAST_SIGMA`, seeded); p10 = p50 ×
exp(−1.28 σ). It is issued once at plug-in and not updated.

**Prices** (`price_curve`): hourly day-ahead prices (night low, morning and evening peaks,
a midday dip on days the forecast calls sunny, lower weekend mornings, seeded noise),
0.15–0.45 €/kWh; the prices of day D+1 are published at 13:00 on day D (`known_prices`),
so a strategy only sees those. Feed-in: a fixed `FEED_IN` €/kWh.

**Strategies** (one run, the same day and seed):

- ``ours+plan``: `SurplusController` (bench/strategies.py `Ours`) with the departure
  planner (custom_components/solar_wallbox/charging/planner.py), as the manager will
  drive it: a plan at plug-in and every 15 min from the car's remaining need, and per
  decision the demand of `plan_demand`.
- ``evcc+plan``: evcc's planner: it ignores PV and reserves, for the whole remaining need
  at full power, the cheapest 15 min slots before the departure (re-planned every 15
  min; slots without a known price get the mean of the known ones, as our planner does);
  it charges at 16 A in them and in evcc's PV mode (`EvccLike`) outside them.
- ``optimum``: the perfect-foresight least cost (`optimum_cost`), an LP (HiGHS) over 60 s
  intervals with the car's power continuous in [0, max] and a relaxed home battery (as
  bench/optimum.py models it). It is a lower bound for every controller on the day.

**Cost** (€, all relative to the same window without the car, the reference household):
Δ(Σ import × price − Σ export × feed-in) + (stored energy of the home battery the
reference has more at the departure) × the window's mean price. *Grid kWh to the car* is
the closed-loop bench's extra import (Δimport + stored less); solar share = 1 − that ÷ car
energy. Gap = cost − the optimum's cost.
"""

from __future__ import annotations

import argparse
import importlib
import math
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from custom_components.solar_wallbox.charging.model import ChargeMode, Demand, Reason, Settings
from custom_components.solar_wallbox.charging.planner import (
    PV_WINDOW,
    SLOT,
    ForecastSlot,
    Plan,
    PlanRequest,
    PriceSlot,
    energy_needed,
    make_plan,
)
from custom_components.solar_wallbox.charging.planner import plan_demand as planner_demand
from simulator.car import Car, CarConfig, IecState
from simulator.model import BatteryConfig, HouseProfile, PvProfile, SiteModel

from .strategies import DAY0, VOLTAGE, EvccConfig, EvccLike, Ours, Reading, Strategy

HOUR = 3600
DAY = 86400
FEED_IN = 0.08  # €/kWh
PUBLISH_H = 13  # day-ahead prices of the next day are known from this hour on
MAX_A = 16
MIN_A = 6
PHASES = 3
MAX_POWER = MAX_A * VOLTAGE * PHASES  # W
MIN_POWER = MIN_A * VOLTAGE * PHASES  # W
PREPARING_S = 2  # bench/closed_loop.py PREPARING_S
REPLAN_S = 900
FORECAST_PHI = 0.8
FORECAST_SIGMA = 0.3
P10_Z = 1.28
LP_STEP_S = 60
RESULTS = Path(__file__).with_name("plan-results.md")
REGENERATE = "python -m bench.plans"


# -- the plan days --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlanDay:
    """A plug-in window (s after midnight of day 0, whole hours) with a target."""

    name: str
    title: str
    arrive_s: int
    depart_s: int
    pv: PvProfile  # the real weather
    forecast_pv: PvProfile | None = None  # the weather the forecast expects (None: the real)
    house: HouseProfile = field(default_factory=HouseProfile)
    battery: BatteryConfig = field(default_factory=BatteryConfig)
    battery_soc_pct: float = 50.0  # home battery at plug-in
    weekend: tuple[int, ...] = ()  # day indices with weekend prices
    capacity_kwh: float = 60.0
    soc_pct: float = 30.0
    target_soc_pct: float = 80.0
    efficiency: float = 0.9

    @property
    def need_wh(self) -> float:
        """Energy at the wallbox meter from the car's SoC to the target."""
        room = (self.target_soc_pct - self.soc_pct) / 100.0 * self.capacity_kwh * 1000.0
        return room / self.efficiency

    @property
    def seconds(self) -> int:
        return self.depart_s - self.arrive_s


AUTUMN = PvProfile(peak_w=5000.0, sunrise_h=7.5, sunset_h=17.0, clouds_per_h=4.0)
SUMMER = PvProfile(peak_w=8000.0, sunrise_h=5.5, sunset_h=21.0, clouds_per_h=6.0)
SPRING = PvProfile(peak_w=8000.0, sunrise_h=6.0, sunset_h=20.5, clouds_per_h=8.0)
CLEAR = PvProfile(peak_w=8000.0, sunrise_h=5.5, sunset_h=21.0)
OVERCAST = PvProfile(
    peak_w=2500.0,
    sunrise_h=5.5,
    sunset_h=21.0,
    clouds_per_h=10.0,
    cloud_duration_s=(300.0, 1800.0),
    cloud_cut=(0.3, 0.7),
    cloud_edge_s=60.0,
)

DAYS: dict[str, PlanDay] = {
    d.name: d
    for d in (
        PlanDay("night", "18:00 → 07:00, no sun in the window", 18 * HOUR, 31 * HOUR, AUTUMN),
        PlanDay("day", "09:00 → 17:00, sun and grid", 9 * HOUR, 17 * HOUR, SUMMER, None,
                battery_soc_pct=30.0),
        PlanDay("weekend", "Friday 18:00 → Monday 07:00 (61 h)", 18 * HOUR, 79 * HOUR, SPRING,
                weekend=(1, 2)),
        PlanDay("wrong_sunny", "09:00 → 17:00, sunny forecast, overcast reality", 9 * HOUR,
                17 * HOUR, OVERCAST, CLEAR, battery_soc_pct=30.0),
        PlanDay("wrong_overcast", "09:00 → 17:00, overcast forecast, sunny reality",
                9 * HOUR, 17 * HOUR, CLEAR, OVERCAST, battery_soc_pct=30.0),
    )
}  # fmt: skip


# -- weather, forecast, prices ----------------------------------------------------------


def _model(day: PlanDay, pv: PvProfile, seed: int) -> SiteModel:
    return SiteModel(
        pv,
        day.house,
        day.battery,
        seed=seed,
        start_s=float(day.arrive_s % DAY),
        soc_pct=day.battery_soc_pct,
        day_start=DAY0.timestamp(),
    )


def weather(day: PlanDay, pv: PvProfile, seed: int) -> tuple[list[float], list[float]]:
    """PV (available) and household per second of the window (as closed_loop.exogenous_day)."""
    model = _model(day, pv, seed)
    pv_w, house_w = [model.pv_available_w], [model.household_w]
    for _ in range(day.seconds - 1):
        model.step_weather(1.0)
        pv_w.append(model.pv_available_w)
        house_w.append(model.household_w)
    return pv_w, house_w


def hourly_means(values: Sequence[float]) -> list[float]:
    """Means over each whole hour of a per-second series."""
    return [
        sum(values[i : i + HOUR]) / len(values[i : i + HOUR]) for i in range(0, len(values), HOUR)
    ]


def forecast_errors(seed: int, hours: int) -> list[float]:
    """The forecast's log-error per hour: stationary AR(1), deterministic per seed."""
    rng = np.random.default_rng(seed * 104729 + 5)
    shocks = rng.normal(0.0, 1.0, hours)
    e = FORECAST_SIGMA * float(shocks[0])
    out = [e]
    spread = FORECAST_SIGMA * math.sqrt(1.0 - FORECAST_PHI**2)
    for shock in shocks[1:]:
        e = FORECAST_PHI * e + spread * float(shock)
        out.append(e)
    return out


def forecast_slots(start_s: int, base_w: Sequence[float], seed: int) -> tuple[ForecastSlot, ...]:
    """Hourly forecast slots from ``start_s`` (see the module docstring)."""
    errors = forecast_errors(seed, len(base_w))
    low = math.exp(-P10_Z * FORECAST_SIGMA)
    slots = []
    for h, (base, e) in enumerate(zip(base_w, errors, strict=True)):
        begin = DAY0 + timedelta(seconds=start_s + h * HOUR)
        p50 = base * math.exp(e)
        slots.append(ForecastSlot(begin, begin + timedelta(hours=1), p50, p50 * low))
    return tuple(slots)


def _bump(h: float, centre: float, width: float) -> float:
    return math.exp(-0.5 * ((h - centre) / width) ** 2)


def price_curve(
    seed: int, days: int, sunny: Sequence[float], weekend: Sequence[int] = ()
) -> list[float]:
    """Hourly prices (€/kWh) for ``days`` days from midnight of day 0; ``sunny`` (0..1 per
    day) deepens the midday dip. Deterministic per seed."""
    rng = np.random.default_rng(seed * 7907 + 11)
    noise = rng.normal(0.0, 0.012, days * 24)
    prices = []
    for d in range(days):
        morning = 0.035 if d in weekend else 0.07
        level = 0.25 - (0.015 if d in weekend else 0.0)
        for h in range(24):
            p = (
                level
                - 0.035 * _bump(h, 3.0, 2.5)
                + morning * _bump(h, 8.0, 1.5)
                + 0.12 * _bump(h, 19.0, 2.0)
                - 0.09 * sunny[d] * _bump(h, 13.0, 2.5)
                + float(noise[d * 24 + h])
            )
            prices.append(round(min(max(p, 0.15), 0.45), 4))
    return prices


def known_until_s(now_s: float) -> int:
    """Prices are known up to this second: the end of tomorrow from 13:00, else of today."""
    day = int(now_s // DAY)
    published = now_s - day * DAY >= PUBLISH_H * HOUR
    return (day + (2 if published else 1)) * DAY


def known_prices(prices: Sequence[float], now_s: float, until_s: int) -> tuple[PriceSlot, ...]:
    """The hourly price slots published by ``now_s`` that overlap [now_s, until_s)."""
    end = min(known_until_s(now_s), until_s, len(prices) * HOUR)
    slots = []
    for h in range(int(now_s // HOUR), math.ceil(end / HOUR)):
        begin = DAY0 + timedelta(hours=h)
        slots.append(PriceSlot(begin, begin + timedelta(hours=1), prices[h]))
    return tuple(slots)


@dataclass(slots=True)
class DayData:
    """One plan day and seed: the truth and what the strategies are told."""

    day: PlanDay
    seed: int
    pv: list[float]
    house: list[float]
    forecast: tuple[ForecastSlot, ...]
    prices: list[float]  # hourly from midnight of day 0

    def price_at(self, t_s: int) -> float:
        return self.prices[t_s // HOUR]

    def mean_price(self) -> float:
        """The window's time-weighted mean price (what stored energy is worth)."""
        hours = range(self.day.arrive_s // HOUR, math.ceil(self.day.depart_s / HOUR))
        return sum(self.prices[h] for h in hours) / len(hours)


def day_data(day: PlanDay, seed: int) -> DayData:
    """The day's weather, forecast and prices for ``seed``."""
    pv, house = weather(day, day.pv, seed)
    if day.forecast_pv is None:
        base = pv
    else:
        base, _ = weather(day, day.forecast_pv, seed + 1000)
    forecast = forecast_slots(day.arrive_s, hourly_means(base), seed)
    days = math.ceil(day.depart_s / DAY)
    # How sunny the market expects each day: the forecast's daytime energy against a clear
    # 8 kW day (~68 kWh from CLEAR).
    energy = [0.0] * days
    for slot in forecast:
        energy[int((slot.start - DAY0).total_seconds() // DAY)] += slot.pv_w / 1000.0
    for d in range(days):
        if energy[d] == 0.0:  # no forecast for this day's daytime: its season's clear sky
            energy[d] = sum(day.pv.clear_sky_w(h * HOUR + 1800) for h in range(24)) / 1000.0
    sunny = [min(1.0, e / 60.0) for e in energy]
    prices = price_curve(seed, days, sunny, day.weekend)
    return DayData(day, seed, pv, house, forecast, prices)


# -- the strategies with a plan ----------------------------------------------------------


def plan_demand(
    plan: Plan | None,
    need_wh: float,
    max_power: float,
    now: datetime,
    departure: datetime,
    *,
    catching_up: bool = False,
) -> Demand | None:
    """The manager's demand per decision: the integration's own rule (planner.py
    `plan_demand`, which charging_plan.py uses too), so the bench cannot drift from it."""
    return planner_demand(plan, need_wh, max_power, now, departure, catching_up=catching_up)


class CarView:
    """The car's SoC as a strategy reads it (the manager's SoC entity), and the target."""

    def __init__(self, car: Car, day: PlanDay) -> None:
        self.car = car
        self.day = day

    def need_wh(self) -> float:
        need = energy_needed(
            soc=self.car.soc_pct,
            target_soc=self.day.target_soc_pct,
            capacity_wh=self.day.capacity_kwh * 1000.0,
            efficiency=self.day.efficiency,
            target_wh=None,
            delivered_wh=0.0,
        )
        return need if need is not None else 0.0


PV_WINDOW_S = PV_WINDOW.total_seconds()


class OursPlanned(Ours):
    """Ours with the departure planner, as the manager drives it (module docstring)."""

    def __init__(self, data: DayData, car: CarView) -> None:
        super().__init__(Settings(mode=ChargeMode.PV), label="ours+plan")
        self.data = data
        self.car = car
        self.departure = DAY0 + timedelta(seconds=data.day.depart_s)
        self.plan: Plan | None = None
        self.next_plan = -math.inf
        self.plans = 0
        self.pv: deque[tuple[float, float]] = deque()  # (t, W) of the last PV_WINDOW_S
        self.catching_up = False  # the last demand was the catch-up (as PlanKeeper keeps it)

    def pv_measured(self) -> tuple[datetime, datetime, float] | None:
        """As the manager's PlanKeeper.pv_measured (charging_plan.py)."""
        pv = self.pv
        if len(pv) < 2 or pv[-1][0] - pv[0][0] < PV_WINDOW_S / 2:
            return None
        mean = sum(value for _, value in pv) / len(pv)
        return DAY0 + timedelta(seconds=pv[0][0]), DAY0 + timedelta(seconds=pv[-1][0]), mean

    def demand(self, reading: Reading) -> Demand | None:
        now = DAY0 + timedelta(seconds=reading.t)
        self.pv.append((reading.t, max(reading.pv_w, 0.0)))
        while reading.t - self.pv[0][0] > PV_WINDOW_S:
            self.pv.popleft()
        need = self.car.need_wh()
        if reading.t >= self.next_plan:
            self.next_plan = reading.t + REPLAN_S
            self.plans += 1
            self.plan = make_plan(
                PlanRequest(
                    now=now,
                    departure=self.departure,
                    need_wh=need,
                    max_power=MAX_POWER,
                    min_power=MIN_POWER,
                    forecast=self.data.forecast,
                    prices=known_prices(self.data.prices, reading.t, self.data.day.depart_s),
                    pv_measured=self.pv_measured(),
                )
            )
        demand = plan_demand(
            self.plan, need, MAX_POWER, now, self.departure, catching_up=self.catching_up
        )
        self.catching_up = demand is not None and demand.reason is Reason.PLAN_CATCH_UP
        return demand


def evcc_slots(
    now_s: float, depart_s: int, need_wh: float, prices: Sequence[PriceSlot], max_power: float
) -> list[tuple[float, float]]:
    """evcc's plan: the cheapest 15 min slots (s, s) before the departure whose total
    time at ``max_power`` covers the need (ties: the later slot); PV is ignored. A slot
    without a known price gets the mean of the known ones."""
    if need_wh <= 0:
        return []
    spans = []
    start = now_s
    edge = (now_s // SLOT.total_seconds() + 1) * SLOT.total_seconds()
    while start < depart_s:
        end = min(edge, depart_s)
        spans.append((start, end))
        start, edge = end, edge + SLOT.total_seconds()
    known = {int((p.start - DAY0).total_seconds() // HOUR): p.price for p in prices}
    mean = sum(known.values()) / len(known) if known else 0.0
    priced = [(known.get(int(s // HOUR), mean), -i) for i, (s, _) in enumerate(spans)]
    order = sorted(range(len(spans)), key=lambda i: priced[i])
    left = need_wh / max_power * HOUR  # seconds at full power
    chosen = []
    for i in order:
        if left <= 0:
            break
        chosen.append(spans[i])
        left -= spans[i][1] - spans[i][0]
    return sorted(chosen)


class EvccPlanned(Strategy):
    """evcc's planner on top of its PV mode (module docstring), every 30 s."""

    poll_s = 30.0

    def __init__(self, data: DayData, car: CarView) -> None:
        super().__init__()
        self.name = "evcc+plan"
        self.data = data
        self.car = car
        self.pv = EvccLike(EvccConfig())
        self.slots: list[tuple[float, float]] = []
        self.next_plan = -math.inf

    def poll(self, reading: Reading) -> int | None:
        t = reading.t
        self.next_poll = t + self.poll_s
        if t >= self.next_plan:
            self.next_plan = t + REPLAN_S
            depart = self.data.day.depart_s
            self.slots = evcc_slots(
                t,
                depart,
                self.car.need_wh(),
                known_prices(self.data.prices, t, depart),
                MAX_POWER,
            )
        if any(a <= t < b for a, b in self.slots):
            pv = self.pv
            pv.reading = reading
            pv.connected = True
            pv.enabled = True  # charging in a plan slot: PV mode continues from it after
            pv.timer, pv.timer_elapsed = None, False
            return pv._set(float(MAX_A))
        return self.pv.poll(reading)


# -- one day ----------------------------------------------------------------------------


@dataclass(slots=True)
class RunResult:
    """One strategy on one plan day and seed."""

    strategy: str
    met: bool
    soc_end: float
    car_kwh: float
    cost_eur: float
    grid_kwh: float  # extra import (Δimport + stored less)
    solar_share: float | None
    gap_eur: float | None = None
    seconds: float = 0.0


@dataclass(slots=True)
class Ledger:
    """Import, export and their cost over a window, and the battery's stored energy."""

    import_wh: float = 0.0
    export_wh: float = 0.0
    cost_eur: float = 0.0
    stored_wh: float = 0.0


def _stored_wh(model: SiteModel) -> float:
    c = model.battery_config
    return max(0.0, model.soc_pct - c.soc_min_pct) / 100.0 * c.capacity_wh


def simulate(
    data: DayData, build: Callable[[DayData, CarView], Strategy] | None
) -> tuple[Ledger, Car | None]:
    """Replay the window with a strategy's car (None: the reference without a car)."""
    day = data.day
    model = _model(day, day.pv, data.seed)
    ledger = Ledger()
    arrive = day.arrive_s
    hourly = [data.price_at(arrive + i * HOUR) for i in range(math.ceil(day.seconds / HOUR))]

    def book(i: int, grid: float) -> None:
        price = hourly[i // HOUR]
        if grid > 0:
            ledger.import_wh += grid / 3600.0
            ledger.cost_eur += grid * price / 3.6e6
        else:
            ledger.export_wh -= grid / 3600.0
            ledger.cost_eur += grid * FEED_IN / 3.6e6

    if build is None:

        def no_car(i: int, _battery: float, _soc: float, grid: float) -> float:
            book(i, grid)
            return 0.0

        model.replay(data.pv, data.house, no_car)
        ledger.stored_wh = _stored_wh(model)
        return ledger, None

    car = Car(
        CarConfig(
            phases=PHASES,
            max_current_a=float(MAX_A),
            capacity_kwh=day.capacity_kwh,
            soc_pct=day.soc_pct,
            target_soc_pct=day.target_soc_pct,
            efficiency=day.efficiency,
        )
    )
    car.plug_in()
    strategy = build(data, CarView(car, day))
    state = {"limit": 0, "session_wh": 0.0}
    pv, house = data.pv, data.house

    def car_step(t: int) -> float:
        limit = state["limit"]
        offer = min(int(limit), MAX_A) if t - arrive >= PREPARING_S and limit >= MIN_A else 0
        state["session_wh"] += car.step(1.0, offer, VOLTAGE)
        return sum(car.phase_power(VOLTAGE))

    load = [car_step(arrive)]

    def after(i: int, battery: float, soc: float, grid: float) -> float:
        t = arrive + i
        book(i, grid)
        car_w = load[0]
        if t >= strategy.next_poll:
            reading = Reading(
                t=float(t),
                pv_w=pv[i],
                house_w=house[i] + car_w,
                grid_w=grid,
                battery_w=battery,
                soc_pct=round(soc, 0),
                plugged=True,
                charging=car.state in (IecState.C, IecState.D),
                car_w=car_w,
                currents=car.phase_currents,
                limit=int(state["limit"]),
                session_wh=state["session_wh"],
                session_s=float(t - arrive),
                tag=car.config.tag,
            )
            command = strategy.poll(reading)
            if command is not None and (command == 0 or MIN_A <= command <= 32):
                state["limit"] = command
        load[0] = car_step(t + 1)
        return load[0]

    model.replay(pv, house, after, load[0])
    ledger.stored_wh = _stored_wh(model)
    return ledger, car


def evaluate(
    name: str, data: DayData, ledger: Ledger, reference: Ledger, car: Car, seconds: float
) -> RunResult:
    """Cost and energies against the reference household (module docstring)."""
    stored_less = reference.stored_wh - ledger.stored_wh
    cost = ledger.cost_eur - reference.cost_eur + stored_less * data.mean_price() / 1000.0
    car_kwh = car.energy_wh / 1000.0
    grid = (ledger.import_wh - reference.import_wh + stored_less) / 1000.0
    return RunResult(
        strategy=name,
        met=car.soc_pct >= data.day.target_soc_pct - 0.05,
        soc_end=car.soc_pct,
        car_kwh=car_kwh,
        cost_eur=cost,
        grid_kwh=grid,
        solar_share=1.0 - grid / car_kwh if car_kwh > 0 else None,
        seconds=seconds,
    )


# -- the optimum -------------------------------------------------------------------------


@dataclass(slots=True)
class OptimumResult:
    """The LP's least cost (€, absolute over the window) and its energies."""

    cost_eur: float
    import_wh: float
    stored_wh: float
    car_wh: float
    solve_s: float


def optimum_cost(data: DayData, need_wh: float, step_s: int = LP_STEP_S) -> OptimumResult | None:
    """The least Σ import × price − export × feed-in − stored at the end × mean price over
    the window with a car that gets ``need_wh`` by the departure (None: infeasible).

    Per interval of ``step_s`` (PV and household as interval means): car power c ∈ [0,
    MAX_POWER] (continuous: a lower bound, no 6 A minimum, delays or on/off times); home
    battery charge ch ∈ [0, min(max charge, PV)] and discharge dis ∈ [0, max discharge],
    lossless, stored energy within the SoC limits at the interval ends (bench/optimum.py's
    relaxed battery); import, export ≥ 0 with import − export = house + c + ch − dis − PV.
    The interval means of every simulated run satisfy these constraints and give the same
    cost (the price is constant within an hour and the intervals align to it; the battery
    only charges from surplus, bench/optimum.py), so no controller costs less.
    """
    began = time.perf_counter()
    day = data.day
    n = math.ceil(day.seconds / step_s)
    pv = np.asarray(data.pv, dtype=np.float64)
    house = np.asarray(data.house, dtype=np.float64)
    pv_m = np.array([pv[k * step_s : (k + 1) * step_s].mean() for k in range(n)])
    house_m = np.array([house[k * step_s : (k + 1) * step_s].mean() for k in range(n)])
    hours = np.array([(min((k + 1) * step_s, day.seconds) - k * step_s) / HOUR for k in range(n)])
    price = np.array([data.price_at(day.arrive_s + k * step_s) for k in range(n)])
    value = data.mean_price()
    battery = day.battery
    span_wh = (battery.soc_max_pct - battery.soc_min_pct) / 100.0 * battery.capacity_wh
    s0 = max(0.0, day.battery_soc_pct - battery.soc_min_pct) / 100.0 * battery.capacity_wh
    # Variables: [c, ch, dis, imp, exp, s] × n, block-wise.
    c, ch, dis, imp, exp, st = (np.arange(n) + j * n for j in range(6))
    cost = np.zeros(6 * n)
    cost[imp] = price * hours / 1000.0
    cost[exp] = -FEED_IN * hours / 1000.0
    cost[st[-1]] = -value / 1000.0
    k = np.arange(n)
    ones = np.ones(n)
    # Power balance rows 0..n-1: imp − exp − c − ch + dis = house − pv; storage rows
    # n..2n-1: s_k − s_{k−1} − (ch − dis) × h = 0 (s_{−1} = s0).
    rows = np.concatenate([k, k, k, k, k, n + k, n + k[1:], n + k, n + k])
    cols = np.concatenate([imp, exp, c, ch, dis, st, st[:-1], ch, dis])
    vals = np.concatenate([ones, -ones, -ones, -ones, ones, ones, -ones[1:], -hours, hours])
    sparse: Any = importlib.import_module("scipy.sparse")
    optimize: Any = importlib.import_module("scipy.optimize")
    coo_matrix = sparse.coo_matrix
    a_eq = coo_matrix((vals, (rows, cols)), shape=(2 * n, 6 * n)).tocsr()
    b_eq = np.concatenate([house_m - pv_m, np.zeros(n)])
    b_eq[n] = s0
    a_ub = coo_matrix((-hours, (np.zeros(n, dtype=int), c)), shape=(1, 6 * n)).tocsr()
    b_ub = np.array([-need_wh])
    bounds = (
        [(0.0, MAX_POWER)] * n
        + [(0.0, float(min(battery.max_charge_w, p))) for p in pv_m]
        + [(0.0, battery.max_discharge_w)] * n
        + [(0.0, None)] * (2 * n)
        + [(0.0, span_wh)] * n
    )
    res = optimize.linprog(
        cost, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs"
    )
    if res.status != 0:
        return None
    x = res.x
    return OptimumResult(
        cost_eur=float(res.fun),
        import_wh=float((x[imp] * hours).sum()),
        stored_wh=float(x[st[-1]]),
        car_wh=float((x[c] * hours).sum()),
        solve_s=time.perf_counter() - began,
    )


# -- a day, the table, the CLI -----------------------------------------------------------

STRATEGIES: dict[str, Callable[[DayData, CarView], Strategy]] = {
    "ours+plan": OursPlanned,
    "evcc+plan": EvccPlanned,
}


@dataclass(slots=True)
class DayOutcome:
    """Every strategy and the optimum on one plan day and seed."""

    day: PlanDay
    seed: int
    runs: list[RunResult]
    optimum: RunResult | None
    seconds: float


def run_plan_day(
    day: PlanDay, seed: int, strategies: Sequence[str] = tuple(STRATEGIES)
) -> DayOutcome:
    """Simulate ``day`` for ``seed`` with each strategy; the optimum at the day's need."""
    began = time.perf_counter()
    data = day_data(day, seed)
    reference, _ = simulate(data, None)
    runs = []
    for name in strategies:
        start = time.perf_counter()
        ledger, car = simulate(data, STRATEGIES[name])
        assert car is not None
        runs.append(evaluate(name, data, ledger, reference, car, time.perf_counter() - start))
    best = optimum_cost(data, day.need_wh)
    optimum = None
    if best is not None:
        value = data.mean_price()
        base = reference.cost_eur - reference.stored_wh * value / 1000.0
        grid = (best.import_wh - reference.import_wh + reference.stored_wh - best.stored_wh) / 1000
        car_kwh = best.car_wh / 1000.0
        optimum = RunResult(
            strategy="optimum (LP bound)",
            met=True,
            soc_end=day.target_soc_pct,
            car_kwh=car_kwh,
            cost_eur=best.cost_eur - base,
            grid_kwh=grid,
            solar_share=1.0 - grid / car_kwh if car_kwh > 0 else None,
            seconds=best.solve_s,
        )
        for run in runs:
            run.gap_eur = run.cost_eur - optimum.cost_eur
    return DayOutcome(day, seed, runs, optimum, time.perf_counter() - began)


def _share(value: float | None) -> str:
    return f"{round(100 * value) + 0} %" if value is not None else "–"  # no "-0 %"


def _kwh(value: float) -> str:
    return f"{round(value, 1) + 0.0:.1f}"  # no "-0.0"


def summary(outcomes: Sequence[DayOutcome]) -> str:
    """Per day and strategy over the seeds: targets met, mean cost and mean gap."""
    lines = [
        "| day | strategy | targets met | mean cost € | mean grid kWh to the car "
        "| mean gap to the optimum € |",
        "|---|---|---|---|---|---|",
    ]
    groups: dict[tuple[str, str], list[RunResult]] = {}
    for o in outcomes:
        for r in [*o.runs, *([o.optimum] if o.optimum is not None else [])]:
            groups.setdefault((o.day.name, r.strategy), []).append(r)
    for (day, strategy), runs in groups.items():
        gaps = [r.gap_eur for r in runs if r.gap_eur is not None]
        gap = f"{sum(gaps) / len(gaps):+.2f}" if gaps else "–"
        lines.append(
            f"| {day} | {strategy} | {sum(r.met for r in runs)}/{len(runs)} "
            f"| {sum(r.cost_eur for r in runs) / len(runs):.2f} "
            f"| {_kwh(sum(r.grid_kwh for r in runs) / len(runs))} | {gap} |"
        )
    return "\n".join(lines)


def table(outcomes: Sequence[DayOutcome]) -> str:
    """The markdown results table (one row per day, seed and strategy)."""
    lines = [
        "| day | seed | strategy | target met | SoC at departure | car kWh | cost € "
        "| grid kWh to the car | solar share | gap to the optimum € |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        rows = [*o.runs, *([o.optimum] if o.optimum is not None else [])]
        for r in rows:
            gap = f"{r.gap_eur:+.2f}" if r.gap_eur is not None else "–"
            lines.append(
                f"| {o.day.name} | {o.seed} | {r.strategy} | {'yes' if r.met else '**no**'} "
                f"| {r.soc_end:.1f} % | {r.car_kwh:.1f} | {r.cost_eur:.2f} | {_kwh(r.grid_kwh)} "
                f"| {_share(r.solar_share)} | {gap} |"
            )
    return "\n".join(lines)


def report(outcomes: Sequence[DayOutcome], command: str, seconds: float) -> str:
    """The results file: how it was made, the days, the table."""
    days = {o.day.name: o.day for o in outcomes}
    listed = "\n".join(
        f"- **{d.name}**: {d.title}; need {d.need_wh / 1000:.1f} kWh "
        f"({d.soc_pct:.0f} → {d.target_soc_pct:.0f} % of {d.capacity_kwh:.0f} kWh, "
        f"efficiency {d.efficiency}), home battery {d.battery_soc_pct:.0f} % at plug-in."
        for d in days.values()
    )
    return (
        "# Plan days: departure plans against evcc's planner and the optimum\n\n"
        f"Made by `{command}` in {seconds:.0f} s (bench/plans.py explains the model, the "
        "forecast, the prices and the cost). Cost = extra cost of the window against the "
        f"same window without the car (import × price − export × {FEED_IN} €/kWh feed-in, "
        "the home battery's stored-energy difference at the departure at the window's mean "
        "price). The optimum is an LP lower bound (car power continuous, relaxed home "
        "battery): no controller can cost less.\n\n"
        f"{listed}\n\n## Over the seeds\n\n{summary(outcomes)}\n\n"
        f"## Per day and seed\n\n{table(outcomes)}\n"
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.plans", description=__doc__)
    parser.add_argument("--seeds", type=int, default=3, help="seeds per day (1, 2, …)")
    parser.add_argument("--days", default=",".join(DAYS), help="comma-separated plan days")
    parser.add_argument("--output", type=Path, default=RESULTS, help="markdown file to write")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the plan days, print the table and write it to ``--output``."""
    args = parse_args(argv)
    names = [n.strip() for n in args.days.split(",") if n.strip()]
    unknown = [n for n in names if n not in DAYS]
    if unknown:
        print(f"unknown plan days: {', '.join(unknown)}; known: {', '.join(DAYS)}")
        return 2
    began = time.perf_counter()
    outcomes = []
    for name in names:
        for seed in range(1, args.seeds + 1):
            outcome = run_plan_day(DAYS[name], seed)
            print(f"{name} seed {seed}: {outcome.seconds:.1f} s", file=sys.stderr)
            outcomes.append(outcome)
    argv_text = " ".join(sys.argv[1:]) if argv is None else " ".join(argv)
    command = f"{REGENERATE} {argv_text}".strip()
    text = report(outcomes, command, time.perf_counter() - began)
    args.output.write_text(text, encoding="utf-8")
    print(summary(outcomes))
    print()
    print(table(outcomes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
