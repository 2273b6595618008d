"""The departure planner: which part of a target the sun is expected to bring, and which
grid slots to reserve for the rest (pure; no I/O, no clock). README.md, "Departure plans".

The time from now to the departure is cut into 15-minute slots (the first and the last
one partial). Per slot:

- **Expected surplus** = the PV forecast less the expected household load, counted with a
  safety margin: ``p50 − k × (p50 − p10)``, where p10 is the forecast's own low estimate
  (Solcast) or ``DEFAULT_LOW_SHARE`` of p50 without one, and ``k`` grows from
  ``MARGIN_FAR`` (deadline ``MARGIN_HORIZON`` or more away: later re-plans can still buy
  what the sun does not bring) to 1 at the deadline (no time left to correct an error).
  A surplus below the car's minimum power counts as none (surplus charging pauses).
- **Grid**: what the counted surplus leaves of the target is reserved in the cheapest slots
  (ties: the later slot, so that a better sun can still make it unneeded), each up to the
  car's maximum power less the slot's counted surplus.

The plan is only a reservation: the controller keeps charging from every real surplus and
the manager re-plans at every forecast or price change, every 15 minutes and at plug-in.
The guarantee does not rely on the forecast: :func:`must_charge_now` says when only full
power from now on reaches the target.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime, timedelta

from .model import Demand, Reason

SLOT = timedelta(minutes=15)
MAX_HORIZON = timedelta(days=8)  # slots are made this far ahead at most (a departure
# further away is refused by the entities and the action; this bounds the work anyway)
MARGIN_FAR = 0.25  # share of the forecast spread discounted far from the deadline
MARGIN_HORIZON = timedelta(hours=24)
DEFAULT_LOW_SHARE = 0.5  # p10 ≈ half the p50 when the forecast gives no low estimate
CATCH_UP_SLACK = timedelta(minutes=10)  # full power starts this much before the last moment
PV_WINDOW = timedelta(minutes=30)  # the measured PV compared with the forecast
CORRECTION_FADE = timedelta(hours=4)  # a measured shortfall of PV fades out over this
CORRECTION_MIN_W = 300.0  # … and is only taken from a forecast of at least this much
CATCH_UP_SHARE = 0.1  # … or this share of the time full power needs, whichever is longer


@dataclass(frozen=True, slots=True)
class ForecastSlot:
    """Expected PV power (W, mean over [start, end)): p50 and, if known, p10."""

    start: datetime
    end: datetime
    pv_w: float
    pv_low_w: float | None = None


@dataclass(frozen=True, slots=True)
class PriceSlot:
    """The grid price (per kWh, the user's currency) over [start, end)."""

    start: datetime
    end: datetime
    price: float


@dataclass(frozen=True, slots=True)
class PlanRequest:
    """Everything a plan is made from."""

    now: datetime
    departure: datetime
    need_wh: float  # energy still to deliver, at the wallbox meter
    max_power: float  # W the car can take (maximum current × voltage × phases)
    min_power: float  # W below which surplus charging pauses
    forecast: tuple[ForecastSlot, ...] = ()
    prices: tuple[PriceSlot, ...] = ()
    fixed_price: float | None = None  # per kWh, for slots no price slot covers
    house_w: float = 400.0  # expected household load the PV carries first
    feed_in_tariff: float = 0.0  # per kWh: what the sun's energy earns when exported
    # The PV measured recently: (from, to, mean W). Below the forecast for the same time,
    # the coming hours' forecast is scaled down by that ratio, fading out over
    # CORRECTION_FADE (a forecast that was too sunny so far is likely too sunny for a while).
    pv_measured: tuple[datetime, datetime, float] | None = None


@dataclass(frozen=True, slots=True)
class PlanSlot:
    """One slot of a plan: the surplus expected for the car and the grid power reserved."""

    start: datetime
    end: datetime
    solar_w: float
    grid_w: float
    price: float | None  # None: no price known
    price_estimated: bool = False  # no price slot covered it: the mean of the known ones

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600.0


@dataclass(frozen=True, slots=True)
class Plan:
    """A plan as made at ``made_at`` (energies in Wh, cost in the prices' currency)."""

    made_at: datetime
    departure: datetime
    need_wh: float
    feasible: bool  # the need fits into max power × time left
    slots: tuple[PlanSlot, ...]
    grid_wh: float
    solar_wh: float  # the surplus counted on (with the margin), at most the need
    cost: float | None  # of the reserved grid energy; None without any price
    finish_at: datetime | None  # when the need is expected to be met (None: not before)
    margin: float  # k of the safety margin when the plan was made
    solar_value: float = 0.0  # what the counted sun would earn exported (feed-in tariff)

    @property
    def solar_share(self) -> float | None:
        """The share (0..1) of the need expected from the sun."""
        return self.solar_wh / self.need_wh if self.need_wh > 0 else None

    def slot_at(self, when: datetime) -> PlanSlot | None:
        for slot in self.slots:
            if slot.start <= when < slot.end:
                return slot
        return None

    def grid_power_at(self, when: datetime) -> float:
        """The grid power (W) reserved at ``when``."""
        slot = self.slot_at(when)
        return slot.grid_w if slot is not None else 0.0

    def next_grid_slot(self, when: datetime) -> datetime | None:
        """The start of the next slot with reserved grid power (now, if one runs)."""
        for slot in self.slots:
            if slot.end > when and slot.grid_w > 0:
                return max(slot.start, when)
        return None


def margin_at(now: datetime, departure: datetime) -> float:
    """k of the safety margin: MARGIN_FAR at MARGIN_HORIZON or more, 1 at the deadline."""
    left = max((departure - now).total_seconds(), 0.0)
    closeness = 1.0 - min(left / MARGIN_HORIZON.total_seconds(), 1.0)
    return MARGIN_FAR + (1.0 - MARGIN_FAR) * closeness


def must_charge_now(
    need_wh: float,
    max_power: float,
    now: datetime,
    departure: datetime,
    *,
    catching_up: bool = False,
) -> bool:
    """Only full power from now on (less a slack) still reaches the target. Once catching
    up, it goes on until twice the slack is left over (a need that falls in whole-percent
    steps of the SoC, or a slack that shrinks with it, must not toggle it)."""
    if need_wh <= 0:
        return False
    if max_power <= 0:
        return True
    full = timedelta(hours=need_wh / max_power)
    slack = max(CATCH_UP_SLACK, full * CATCH_UP_SHARE)
    return now + full + slack * (2 if catching_up else 1) >= departure


def plan_demand(
    plan: Plan | None,
    need_wh: float | None,
    max_power: float,
    now: datetime,
    departure: datetime,
    *,
    catching_up: bool = False,
) -> Demand | None:
    """What a plan asks of one decision (the manager and the bench use this one rule):
    nothing once the need is met; full power when the target no longer fits or only full
    power still reaches it (the guarantee); in a slot with reserved grid power, at least
    the slot's planned power (the sun expected in it plus the grid reserved), so that a
    sun that does not come is made up from the grid and one that does costs nothing more.
    ``catching_up``: the previous decision was the catch-up (see :func:`must_charge_now`).
    """
    if need_wh is None or need_wh <= 0:
        return None
    if not feasible(need_wh, max_power, now, departure) or must_charge_now(
        need_wh, max_power, now, departure, catching_up=catching_up
    ):
        return Demand(power=max_power, reason=Reason.PLAN_CATCH_UP)
    slot = plan.slot_at(now) if plan is not None else None
    if slot is None or slot.grid_w <= 0:
        return None
    return Demand(power=slot.solar_w + slot.grid_w, reason=Reason.PLAN_GRID)


def feasible(need_wh: float, max_power: float, now: datetime, departure: datetime) -> bool:
    """The need fits into max power × time left (physically possible)."""
    if need_wh <= 0:
        return True
    hours = max((departure - now).total_seconds(), 0.0) / 3600.0
    return max_power * hours >= need_wh - 1e-6


def _boundaries(now: datetime, departure: datetime) -> list[tuple[datetime, datetime]]:
    """Slots from now to the departure on the quarter-hour grid (first and last partial)."""
    out: list[tuple[datetime, datetime]] = []
    start = now
    minute = now.minute - now.minute % 15
    edge = now.replace(minute=minute, second=0, microsecond=0) + SLOT
    while start < departure:
        end = min(edge, departure)
        if end > start:
            out.append((start, end))
        start, edge = end, edge + SLOT
    return out


class _Series:
    """Values over periods, for time-weighted means over slots (bisection, so that a long
    series costs log n per slot: a re-plan stays far below 50 ms, bench/planner_speed.py)."""

    def __init__(self, spans: list[tuple[datetime, datetime, float]]) -> None:
        self.spans = sorted(spans, key=lambda span: span[0])
        # The largest end so far, per span: a valid bisection key even if periods overlap.
        self.reach: list[datetime] = []
        for _, end, _ in self.spans:
            self.reach.append(max(end, self.reach[-1]) if self.reach else end)

    def mean(self, start: datetime, end: datetime) -> float | None:
        """The time-weighted mean over [start, end); None if nothing covers it."""
        total = covered = 0.0
        for s_start, s_end, value in self.spans[bisect_right(self.reach, start) :]:
            if s_start >= end:
                break
            lo, hi = max(start, s_start), min(end, s_end)
            if hi > lo:
                seconds = (hi - lo).total_seconds()
                total += value * seconds
                covered += seconds
        return total / covered if covered > 0 else None


def make_plan(req: PlanRequest) -> Plan:
    """The plan for ``req`` (see the module docstring)."""
    k = margin_at(req.now, req.departure)
    possible = feasible(req.need_wh, req.max_power, req.now, req.departure)
    if req.need_wh <= 0:
        return Plan(req.now, req.departure, 0.0, True, (), 0.0, 0.0, 0.0, req.now, k)
    bounds = _boundaries(req.now, min(req.departure, req.now + MAX_HORIZON))
    # Only what overlaps the horizon (a forecast may bring months of the past).
    ahead = [f for f in req.forecast if f.end > req.now and f.start < req.departure]
    pv = _Series([(f.start, f.end, f.pv_w) for f in ahead])
    low = _Series(
        [
            (f.start, f.end, f.pv_low_w if f.pv_low_w is not None else f.pv_w * DEFAULT_LOW_SHARE)
            for f in ahead
        ]
    )
    prices = _Series(
        [
            (p.start, p.end, p.price)
            for p in req.prices
            if p.end > req.now and p.start < req.departure
        ]
    )
    known = [price for _, _, price in prices.spans]
    fallback = (
        req.fixed_price
        if req.fixed_price is not None
        else (sum(known) / len(known) if known else None)
    )
    solar: list[float] = []
    slot_prices: list[tuple[float | None, bool]] = []
    ratio = _measured_ratio(req)
    for start, end in bounds:
        fade = min((start - req.now) / CORRECTION_FADE, 1.0)
        scale = ratio + (1.0 - ratio) * fade
        mid = (pv.mean(start, end) or 0.0) * scale
        mid_low = (low.mean(start, end) or 0.0) * scale
        surplus = max(mid - req.house_w, 0.0)
        surplus_low = min(max(mid_low - req.house_w, 0.0), surplus)
        counted = surplus - k * (surplus - surplus_low)
        solar.append(min(counted, req.max_power) if counted >= req.min_power else 0.0)
        price = prices.mean(start, end)
        estimated = price is None and fallback is not None and req.fixed_price is None
        slot_prices.append((price if price is not None else fallback, estimated))

    # The surplus counted on, in time order, up to the need.
    left = req.need_wh
    for i, (start, end) in enumerate(bounds):
        hours = (end - start).total_seconds() / 3600.0
        take = min(solar[i] * hours, left)
        solar[i] = take / hours if hours > 0 else 0.0
        left -= take
    solar_wh = req.need_wh - left

    # The rest from the grid: cheapest slots first, ties the later one.
    grid = [0.0] * len(bounds)
    order = sorted(
        range(len(bounds)),
        key=lambda i: (slot_prices[i][0] if slot_prices[i][0] is not None else 0.0, -i),
    )
    for i in order:
        if left <= 1e-9:
            break
        start, end = bounds[i]
        hours = (end - start).total_seconds() / 3600.0
        room = max(req.max_power - solar[i], 0.0) * hours
        take = min(room, left)
        if take <= 0:
            continue
        grid[i] = take / hours
        left -= take
    slots = tuple(
        PlanSlot(start, end, solar[i], grid[i], slot_prices[i][0], slot_prices[i][1])
        for i, (start, end) in enumerate(bounds)
    )
    grid_wh = sum(slot.grid_w * slot.hours for slot in slots)
    priced = any(price is not None for price, _ in slot_prices)
    cost = (
        sum((slot.price or 0.0) * slot.grid_w * slot.hours / 1000.0 for slot in slots)
        if priced
        else None
    )
    return Plan(
        made_at=req.now,
        departure=req.departure,
        need_wh=req.need_wh,
        feasible=possible,
        slots=slots,
        grid_wh=grid_wh,
        solar_wh=solar_wh,
        cost=cost,
        finish_at=_finish_at(slots, req.need_wh),
        margin=k,
        solar_value=solar_wh / 1000.0 * req.feed_in_tariff,
    )


def _measured_ratio(req: PlanRequest) -> float:
    """Measured ÷ forecast PV over the recent window (at most 1: only a shortfall counts,
    a sunnier reality is left to the live surplus); 1 without a measurement."""
    if req.pv_measured is None:
        return 1.0
    start, end, measured = req.pv_measured
    expected = _Series([(f.start, f.end, f.pv_w) for f in req.forecast]).mean(start, end)
    if expected is None or expected < CORRECTION_MIN_W or end <= start:
        return 1.0
    return min(max(measured / expected, 0.0), 1.0)


def _finish_at(slots: tuple[PlanSlot, ...], need_wh: float) -> datetime | None:
    """When the slots' energy, in time order, adds up to the need (None: it does not)."""
    total = 0.0
    for slot in slots:
        power = slot.solar_w + slot.grid_w
        energy = power * slot.hours
        if power > 0 and total + energy >= need_wh - 1e-6:
            seconds = max(need_wh - total, 0.0) / power * 3600.0
            return slot.start + timedelta(seconds=seconds)
        total += energy
    return None


def energy_needed(
    *,
    soc: float | None,
    target_soc: float | None,
    capacity_wh: float,
    efficiency: float,
    target_wh: float | None,
    delivered_wh: float,
) -> float | None:
    """Energy (Wh, at the wallbox meter) still needed for a target; None: not computable.

    With a state of charge and a SoC target: (target − SoC) × capacity ÷ efficiency. A
    target in energy counts what the session delivered so far.
    """
    if target_soc is not None and soc is not None and capacity_wh > 0:
        if not (math.isfinite(soc) and math.isfinite(target_soc)):
            return None
        return max(target_soc - soc, 0.0) / 100.0 * capacity_wh / max(efficiency, 0.01)
    if target_wh is not None:
        return max(target_wh - delivered_wh, 0.0)
    return None
