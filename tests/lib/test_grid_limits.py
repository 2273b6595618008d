"""The grid connection limits of the surplus controller (README.md, "Grid connection
limits"): the main fuse per phase, §14a EnWG dimming, feed-in curtailment; rule by rule,
then properties over random house loads, car phase layouts and timings."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import example, given, settings
from hypothesis import strategies as st

from custom_components.solar_wallbox.charging.controller import (
    FUSE_RESUME_DELAY,
    PROBE_RETRY,
    PROBE_START_BACKOFF,
    PROBE_START_DELAY,
    SurplusController,
)
from custom_components.solar_wallbox.charging.model import (
    ChargeMode,
    Decision,
    RcmInput,
    Reason,
    Settings,
    SiteInput,
    WallboxInput,
)

T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
V = 230.0
ALL = (0, 1, 2)
FUSE = Settings(fuse_current=35.0, fuse_margin=2.0)  # 33 A per phase for house and car


class GridLoop:
    """A house with per-phase loads and a car that follows each new limit at once.

    ``house`` is A per phase without the car; ``surplus`` W of PV above the house (for
    PV and Min+PV). ``zero_export`` models an inverter that may not feed in: the grid
    shows no export and the site reports ``curtailed`` while PV is held back.
    """

    def __init__(self, settings: Settings, *, car_phases: tuple[int, ...] = ALL) -> None:
        self.ctl = SurplusController(replace(settings, settle_time=0.0))
        self.now = T0
        self.car_phases = car_phases
        self.limit = 0
        self.car_max = 16.0
        self.connected = True
        self.house: tuple[float, float, float] = (0.0, 0.0, 0.0)
        self.surplus = 0.0
        self.dimmed: bool | None = None
        self.curtailed: bool | None = None
        self.zero_export = False
        self.phase_currents = True
        self.session_duration = 0.0

    def car(self) -> tuple[float, float, float]:
        amps = min(float(self.limit), self.car_max) if self.connected else 0.0
        return tuple(amps if i in self.car_phases else 0.0 for i in ALL)  # type: ignore[return-value]

    def wallbox(self) -> WallboxInput:
        car = self.car()
        return WallboxInput(
            measured_at=self.now,
            connected=self.connected,
            power=sum(car) * V,
            currents=car,
            current_limit=self.limit,
            session_duration=self.session_duration,
            device_min_current=6,
            device_max_current=16,
        )

    def site(self, age: float = 0.0) -> SiteInput:
        car = self.car()
        car_power = sum(car) * V
        grid = car_power - self.surplus
        curtailed = self.curtailed
        if self.zero_export:
            curtailed = grid < 0
            grid = max(grid, 0.0)
        return SiteInput(
            measured_at=self.now - timedelta(seconds=age),
            grid_power=grid,
            phase_currents=(
                tuple(self.house[i] + car[i] for i in ALL)  # type: ignore[arg-type]
                if self.phase_currents
                else None
            ),
            dimmed=self.dimmed,
            curtailed=curtailed,
        )

    def step(
        self,
        *,
        seconds: float = 2.0,
        site_age: float = 0.0,
        no_site: bool = False,
        rcm: RcmInput | None = None,
    ) -> Decision:
        self.now += timedelta(seconds=seconds)
        self.session_duration += seconds
        site = None if no_site else self.site(site_age)
        decision = self.ctl.decide(self.now, site, self.wallbox(), rcm)
        if decision.write:
            self.ctl.record_write(self.now, decision.current)
        self.limit = decision.current
        return decision

    def run(self, seconds: float, **kw: object) -> Decision:
        decision = None
        for _ in range(int(seconds / 2)):
            decision = self.step(**kw)  # type: ignore[arg-type]
        assert decision is not None
        return decision


def fast(settings: Settings = FUSE, **kw: object) -> GridLoop:
    return GridLoop(replace(settings, mode=ChargeMode.FAST), **kw)  # type: ignore[arg-type]


# -- the main fuse ------------------------------------------------------------------------


def test_fuse_reduces_within_one_reading_in_fast_mode() -> None:
    loop = fast()
    d = loop.step()
    assert (d.current, d.reason, d.fuse_cap) == (16, Reason.FAST, 33)
    loop.house = (10.0, 25.0, 5.0)  # a cooker on L2: 33 − 25 = 8 A left there
    d = loop.step()
    assert (d.current, d.reason, d.fuse_cap) == (8, Reason.FUSE_LIMIT, 8)
    assert not d.stopped
    loop.house = (10.0, 20.0, 5.0)  # 13 A of room: up halfway per reading, to 12 A
    currents = [loop.step().current for _ in range(4)]
    assert currents == [10, 11, 12, 12]
    assert loop.step().reason is Reason.FUSE_LIMIT
    loop.house = (0.0, 0.0, 0.0)
    d = loop.step()
    assert (d.current, d.reason) == (16, Reason.FAST)


def test_an_exporting_phase_is_not_counted_as_load() -> None:
    """Phase currents are signed (+ import): PV fed in on a phase leaves the car the whole
    fuse there (counted as load, 12 A of export would leave 2 A and pause the car)."""
    loop = fast(Settings(fuse_current=16.0, fuse_margin=2.0))
    loop.house = (-12.0, -12.0, 3.0)
    d = loop.step()
    assert d.fuse_cap == 11  # L3: 14 − 3; L1 and L2 would allow 14
    loop.house = (-12.0, -12.0, -12.0)
    d = loop.step()
    assert d.fuse_cap == 14
    assert d.current > 6


def test_a_one_phase_car_is_capped_by_its_own_phase_only() -> None:
    loop = fast(car_phases=(1,))
    loop.step()  # the car draws on L2: seen
    loop.house = (30.0, 12.0, 30.0)  # L1 and L3 nearly full, L2 has room
    d = loop.step()
    assert (d.current, d.reason, d.fuse_cap) == (16, Reason.FAST, 21)
    loop.house = (0.0, 24.0, 0.0)
    d = loop.step()
    assert (d.current, d.reason, d.fuse_cap) == (9, Reason.FUSE_LIMIT, 9)


def test_before_the_car_draws_every_phase_counts() -> None:
    """A 1-phase setting does not say which phase: the most loaded one counts."""
    loop = fast(replace(FUSE, phases=1), car_phases=(2,))
    loop.connected = True
    loop.car_max = 0.0  # plugged in, not drawing yet
    loop.house = (5.0, 5.0, 14.0)
    d = loop.step()
    assert (d.current, d.reason, d.fuse_cap) == (9, Reason.FUSE_LIMIT, 19)  # half of 19 A


def test_fuse_pause_and_resume_with_hysteresis_is_not_a_start() -> None:
    loop = fast(replace(FUSE, min_off_time=600, daily_start_budget=1))
    d = loop.step()
    assert d.started
    assert d.starts_today == 1
    loop.house = (29.0, 0.0, 0.0)  # 4 A left: below the minimum of 6 A
    d = loop.step()
    assert (d.current, d.reason, d.fuse_cap) == (0, Reason.FUSE_LIMIT, 4)
    assert not d.stopped  # a protection, not a stop
    loop.house = (27.0, 0.0, 0.0)  # exactly the minimum: not enough to resume
    d = loop.run(60)
    assert (d.current, d.reason) == (0, Reason.FUSE_LIMIT)
    loop.house = (22.0, 0.0, 0.0)  # 11 A: minimum + 1 A, but half of it is below 6 A
    d = loop.run(60)
    assert (d.current, d.reason) == (0, Reason.FUSE_LIMIT)
    loop.house = (21.0, 0.0, 0.0)  # 12 A: twice the minimum
    loop.step()
    d = loop.run(FUSE_RESUME_DELAY - 4)
    assert d.current == 0  # the room must last
    loop.house = (29.0, 0.0, 0.0)  # the hob cycles on again: the wait starts over
    loop.step()
    loop.house = (21.0, 0.0, 0.0)
    d = loop.run(FUSE_RESUME_DELAY - 4)
    assert d.current == 0
    d = loop.run(6)
    # Resumed at half the room, neither blocked by the minimum off time (600 s) nor by
    # the used-up start budget, and not counted; then up to the room less one ampere.
    assert (d.current, d.reason) == (6, Reason.FUSE_LIMIT)
    assert not d.started
    assert d.starts_today == 1
    assert [loop.step().current for _ in range(4)] == [9, 10, 11, 11]


def test_pv_mode_keeps_its_period_through_a_fuse_pause() -> None:
    loop = GridLoop(replace(FUSE, start_energy=0.001, min_off_time=600))
    loop.surplus = 9000.0
    d = loop.run(10)
    assert d.current == 13
    assert d.starts_today == 1
    loop.house = (30.0, 0.0, 0.0)
    d = loop.step()
    assert (d.current, d.reason) == (0, Reason.FUSE_LIMIT)
    loop.house = (10.0, 0.0, 0.0)
    d = loop.run(FUSE_RESUME_DELAY + 4)
    assert d.current == 13
    assert d.reason is Reason.CHARGING_SURPLUS
    assert d.starts_today == 1


def test_pv_start_is_held_while_the_fuse_leaves_no_room() -> None:
    loop = GridLoop(replace(FUSE, start_energy=0.001))
    loop.house = (30.0, 0.0, 0.0)
    loop.surplus = 9000.0
    d = loop.run(10)
    assert (d.current, d.reason, d.starts_today) == (0, Reason.FUSE_LIMIT, 0)
    loop.house = (0.0, 0.0, 0.0)
    d = loop.run(FUSE_RESUME_DELAY + 4)
    assert d.current == 13
    assert d.starts_today == 1


def test_a_meter_without_phase_currents_gives_no_fuse_cap() -> None:
    loop = fast()
    loop.phase_currents = False
    loop.house = (40.0, 40.0, 40.0)
    d = loop.step()
    assert (d.current, d.reason, d.fuse_cap) == (16, Reason.FAST, None)
    d = loop.step(no_site=True)  # stale: nothing to hold, the meter never had them
    assert (d.current, d.reason, d.fuse_cap) == (16, Reason.FAST, None)


def test_fast_mode_holds_the_minimum_without_fresh_phase_currents() -> None:
    loop = fast()
    assert loop.step().current == 16
    d = loop.step(site_age=20)
    assert (d.current, d.reason, d.fuse_cap) == (6, Reason.SITE_STALE, 6)
    d = loop.step(no_site=True)
    assert (d.current, d.reason) == (6, Reason.SITE_STALE)
    assert loop.step().current == 16  # fresh again
    loop.house = (30.0, 0.0, 0.0)
    assert loop.step().current == 0
    d = loop.step(no_site=True)  # a fuse pause stays a pause without data
    assert (d.current, d.reason, d.fuse_cap) == (0, Reason.SITE_STALE, 0)
    # Without a fuse, Fast needs no site data (unchanged).
    plain = fast(Settings())
    plain.step()
    assert plain.step(no_site=True).current == 16


def test_the_car_share_is_not_over_estimated_when_it_ramped_up_after_the_grid_reading() -> None:
    ctl = SurplusController(replace(FUSE, mode=ChargeMode.FAST))
    box = WallboxInput(measured_at=T0, connected=True, power=0.0, currents=(0, 0, 0),
                       current_limit=0)  # fmt: skip
    ctl.decide(T0, SiteInput(measured_at=T0, grid_power=0, phase_currents=(10, 10, 10)), box)
    assert ctl.setpoint == 11  # half of the 23 A of room
    # The grid was read while the car still drew nothing (house 30 A on L1), the wallbox
    # a second later with the car at 11 A: subtracting it would leave 14 A of "room".
    t1 = T0 + timedelta(seconds=2)
    site = SiteInput(measured_at=t1, grid_power=0, phase_currents=(30, 10, 10))
    ramped = replace(box, measured_at=t1 + timedelta(seconds=1), power=7590,
                     currents=(11, 11, 11), current_limit=11)  # fmt: skip
    d = ctl.decide(t1 + timedelta(seconds=1), site, ramped)
    assert d.fuse_cap == 3
    assert (d.current, d.reason) == (0, Reason.FUSE_LIMIT)


def test_a_steady_car_is_subtracted_in_full() -> None:
    loop = fast()
    loop.house = (17.0, 17.0, 17.0)
    currents = []
    for _ in range(6):
        d = loop.step()
        assert d.fuse_cap == 16  # 33 − 17, whatever the car draws
        currents.append(d.current)
    assert currents == [8, 12, 14, 15, 15, 15]  # halfway each time: the room less 1 A


def test_idle_current_is_capped_too() -> None:
    loop = GridLoop(replace(FUSE, idle_current=16))
    loop.connected = False
    loop.house = (0.0, 24.0, 0.0)
    d = loop.step()
    assert (d.current, d.reason, d.fuse_cap) == (0, Reason.FUSE_LIMIT, 9)  # half: < 6 A
    loop.house = (0.0, 9.0, 0.0)
    d = loop.step()
    assert (d.current, d.reason, d.fuse_cap) == (12, Reason.FUSE_LIMIT, 24)


def test_initial_phase_is_capped() -> None:
    loop = GridLoop(replace(FUSE, initial_current=16, initial_duration=600))
    loop.house = (0.0, 0.0, 10.0)
    d = loop.step()
    assert (d.current, d.reason) == (11, Reason.FUSE_LIMIT)  # half of 23 A


def test_rcm_safety_comes_first() -> None:
    loop = fast(replace(FUSE, dimming_power=11000))
    loop.dimmed = True
    loop.step()
    d = loop.step(rcm=RcmInput(measured_at=loop.now + timedelta(seconds=2), alarm=True,
                               link_ok=True))  # fmt: skip
    assert (d.current, d.reason) == (0, Reason.RCM_ALARM)


# -- §14a EnWG dimming ---------------------------------------------------------------------


def test_dimming_caps_every_mode() -> None:
    for mode in (ChargeMode.FAST, ChargeMode.MIN_PV, ChargeMode.PV):
        loop = GridLoop(Settings(mode=mode, start_energy=0.001, dimming_power=6000))
        loop.surplus = 12000.0
        d = loop.run(10)
        assert d.current == 16
        assert d.dimming_cap is None
        loop.dimmed = True
        d = loop.step()
        assert (d.current, d.reason, d.dimming_cap) == (8, Reason.GRID_DIMMED, 8), mode
        loop.dimmed = False
        d = loop.step()
        assert d.current == 16
        assert d.dimming_cap is None


def test_dimming_counts_the_phases_in_use() -> None:
    loop = fast(Settings(dimming_power=4200), car_phases=(0,))
    loop.dimmed = True
    d = loop.step()
    assert (d.current, d.dimming_cap) == (6, 6)  # before it draws: the option's 3 phases
    d = loop.step()
    assert (d.current, d.reason, d.dimming_cap) == (16, Reason.FAST, 18)  # 1 phase seen


def test_dimming_below_the_minimum_pauses_and_the_end_resumes_without_a_start() -> None:
    loop = fast(Settings(dimming_power=3000, daily_start_budget=1, min_off_time=600))
    assert loop.step().starts_today == 1
    loop.dimmed = True
    d = loop.step()
    assert (d.current, d.reason, d.dimming_cap) == (0, Reason.GRID_DIMMED, 4)
    assert not d.stopped
    loop.dimmed = False
    d = loop.step()
    assert (d.current, d.reason, d.starts_today) == (16, Reason.FAST, 1)
    assert not d.started


def test_a_stale_site_does_not_lift_the_dimming() -> None:
    loop = fast(Settings(dimming_power=4200))
    loop.step()
    loop.dimmed = True
    assert loop.step().current == 6
    d = loop.step(no_site=True)
    assert (d.current, d.reason) == (6, Reason.GRID_DIMMED)
    loop.dimmed = False
    d = loop.step(site_age=30)  # a stale reading saying "not dimmed" does not end it
    assert (d.current, d.reason) == (6, Reason.GRID_DIMMED)
    assert loop.step().current == 16
    loop.dimmed = True
    d = loop.step(site_age=30)  # ... but a stale "dimmed" starts it (fail safe)
    assert d.current == 6


def test_the_smaller_cap_wins() -> None:
    loop = fast(replace(FUSE, dimming_power=6000))  # dimming: 8 A
    loop.dimmed = True
    assert loop.step().current == 8
    loop.house = (22.0, 0.0, 0.0)  # fuse: 11 A
    d = loop.step()
    assert (d.current, d.reason, d.fuse_cap, d.dimming_cap) == (8, Reason.GRID_DIMMED, 11, 8)
    loop.house = (26.0, 0.0, 0.0)  # fuse: 7 A
    d = loop.step()
    assert (d.current, d.reason) == (7, Reason.FUSE_LIMIT)


# -- feed-in curtailment -------------------------------------------------------------------


def test_curtailment_probes_upward_and_backs_off_on_import() -> None:
    loop = GridLoop(Settings(mode=ChargeMode.MIN_PV))
    loop.zero_export = True
    loop.surplus = 10.4 * 690  # the PV could carry 10.4 A, the meter never shows it
    currents = [loop.step().current for _ in range(8)]
    assert currents[0] == 6
    assert currents[1:5] == [7, 8, 9, 10]  # one ampere per reading (the car follows at once)
    d = loop.step()
    assert (d.current, d.reason) == (6 + 4, Reason.MIN_PV)  # 11 A imported: backed off
    assert currents[4] == 10
    d = loop.run(PROBE_RETRY - 6)
    assert d.current == 10  # waits before the next probe
    d = loop.run(8)
    assert d.current in (10, 11)


def test_curtailment_probe_reason_and_pv_mode() -> None:
    loop = GridLoop(Settings(start_energy=0.001))
    loop.surplus = 6000.0
    assert loop.run(6).current == 8
    loop.zero_export = True
    loop.surplus = 9000.0
    d = loop.step()
    assert (d.current, d.reason) == (9, Reason.CURTAILMENT_PROBE)
    d = loop.run(20)
    assert d.current == 13
    assert d.reason is not Reason.CURTAILMENT_PROBE


def test_no_probing_without_curtailment() -> None:
    loop = GridLoop(Settings(mode=ChargeMode.MIN_PV))
    loop.surplus = 6 * 690.0  # export 0 but not curtailed: nothing more to find
    loop.curtailed = False
    assert loop.run(20).current == 6


def test_paused_car_is_probed_with_a_start_that_backs_off_when_it_fails() -> None:
    loop = GridLoop(Settings(min_on_time=0, stop_energy=5, min_off_time=0))
    loop.zero_export = True
    loop.surplus = 1000.0  # curtailed, but far below the minimum power
    d = loop.run(PROBE_START_DELAY - 2)
    assert (d.current, d.reason) == (0, Reason.WAITING_FOR_SURPLUS)
    d = loop.run(4)
    assert (d.current, d.reason, d.starts_today) == (6, Reason.CURTAILMENT_PROBE, 1)
    d = loop.run(60)  # it imports: stops on energy as usual
    assert d.current == 0
    d = loop.run(PROBE_START_BACKOFF - 100)
    assert d.current == 0
    assert d.starts_today == 1
    loop.run(200)
    assert loop.ctl.starts_today == 2  # the second probe start after the back-off
    loop.run(60)
    d = loop.run(2 * PROBE_START_BACKOFF - 300)
    assert d.starts_today == 2  # doubled
    loop.run(300)
    assert loop.ctl.starts_today == 3


def test_a_probe_start_that_carries_itself_keeps_charging() -> None:
    loop = GridLoop(Settings())
    loop.zero_export = True
    loop.surplus = 8000.0
    d = loop.run(PROBE_START_DELAY + 4)
    assert d.current >= 6
    assert d.starts_today == 1
    d = loop.run(60)
    assert d.current == 11  # floor(8000 / 690) found by probing


# -- properties ----------------------------------------------------------------------------


def car_draw(a: float, b: float, t: float, delay: float, ramp: float) -> float:
    """A car moving from ``a`` to ``b`` A after ``delay`` s, linearly within ``ramp`` s."""
    if t <= delay:
        return a
    if ramp <= 0 or t >= delay + ramp:
        return b
    return a + (b - a) * (t - delay) / ramp


def readings(
    at: datetime, amps: float, layout: tuple[int, ...], limit: int
) -> tuple[WallboxInput, tuple[float, float, float]]:
    car = tuple(amps if i in layout else 0.0 for i in ALL)
    box = WallboxInput(
        measured_at=at,
        connected=True,
        power=sum(car) * V,
        currents=car,  # type: ignore[arg-type]
        current_limit=limit,
        device_min_current=6,
        device_max_current=32,
    )
    return box, car  # type: ignore[return-value]


def within_fuse(d: Decision, house: tuple[float, ...], layout: tuple[int, ...], cap: float) -> bool:
    return d.current == 0 or all(house[i] + d.current <= cap + 1e-9 for i in layout)


# House loads as shares of the fuse's limit (0–40 A): most cases near the limit, where
# the car's share and the timing decide.
phase_loads = st.tuples(*[st.floats(0, 1.2)] * 3)
layouts = st.sampled_from([(0,), (1,), (2,), (0, 1, 2)])


@settings(max_examples=1000, deadline=None)
@example(  # the car ramps up between the grid reading and a later wallbox reading
    house0=(0.0, 0.0, 0.0), house=(10.5 / 16, 0.0, 0.0), layout=(0,), fuse=16.0, margin=0.0,
    mode=ChargeMode.PV, min_current=6, max_current=10, one_phase_setting=False,
    state="charging", old=6, car_max=7.0, surplus=1710.0, grid_at=1.0, box_at=2.0,
    delay=0.0, ramp=2.0, settle=0.0,
)  # fmt: skip
@example(  # the car ramps down between the wallbox reading and a later grid reading
    house0=(0.75, 0.0, 0.0), house=(0.9, 0.0, 0.0), layout=(0,), fuse=35.0, margin=2.0,
    mode=ChargeMode.FAST, min_current=6, max_current=16, one_phase_setting=False,
    state="charging", old=16, car_max=32.0, surplus=0.0, grid_at=4.0, box_at=0.5,
    delay=1.0, ramp=2.0, settle=0.0,
)  # fmt: skip
@given(
    house0=phase_loads,
    house=phase_loads,
    layout=layouts,
    fuse=st.floats(16, 63),
    margin=st.floats(0, 5),
    mode=st.sampled_from([ChargeMode.PV, ChargeMode.MIN_PV, ChargeMode.FAST]),
    min_current=st.integers(6, 8),
    max_current=st.integers(10, 32),
    one_phase_setting=st.booleans(),
    state=st.sampled_from(["paused", "charging"]),
    old=st.integers(6, 32),
    car_max=st.floats(6, 32),
    surplus=st.floats(-8000, 20000),
    grid_at=st.floats(0.1, 8),
    box_at=st.floats(0, 8),
    delay=st.floats(0, 6),
    ramp=st.floats(0, 6),
    settle=st.floats(0, 10),
)
def test_the_fuse_is_never_exceeded_on_any_phase(
    house0: tuple[float, float, float],
    house: tuple[float, float, float],
    layout: tuple[int, ...],
    fuse: float,
    margin: float,
    mode: ChargeMode,
    min_current: int,
    max_current: int,
    one_phase_setting: bool,
    state: str,
    old: int,
    car_max: float,
    surplus: float,
    grid_at: float,
    box_at: float,
    delay: float,
    ramp: float,
    settle: float,
) -> None:
    """Within one meter reading: house + decided current ≤ fuse − margin on each of the
    car's phases, or 0 A; for a paused car, a steady one, and one ramping between the old
    and the new limit with the grid and the wallbox read at different points of the ramp
    (the house may change between the two decisions)."""
    limit = fuse - margin
    house0 = tuple(min(40.0, share * limit) for share in house0)  # type: ignore[assignment]
    house = tuple(min(40.0, share * limit) for share in house)  # type: ignore[assignment]
    s = Settings(
        mode=mode,
        phases=1 if one_phase_setting else 3,
        min_current=min_current,
        max_current=max(max_current, min_current),
        fuse_current=fuse,
        fuse_margin=margin,
        start_energy=0.001,
        settle_time=settle,
    )
    ctl = SurplusController(s)
    t0 = T0
    a = 0.0
    if state == "charging":
        ctl.restore(setpoint=old, now=t0 - timedelta(seconds=60))
        ctl.record_write(t0 - timedelta(seconds=60), old)
        a = min(float(old), car_max)
    # A decision on steady readings (the car at ``a``, the house at ``house0``) ...
    box, car = readings(t0, a, layout, ctl.setpoint)
    grid = tuple(house0[i] + car[i] for i in ALL)
    site = SiteInput(measured_at=t0, grid_power=sum(car) * V - surplus, phase_currents=grid)  # type: ignore[arg-type]
    first = ctl.decide(t0, site, box)
    assert within_fuse(first, house0, layout, limit)
    b = min(float(first.current), car_max)
    # ... then the car moves from a to b; grid and wallbox are read at different moments.
    tg, tw = t0 + timedelta(seconds=grid_at), t0 + timedelta(seconds=box_at)
    at_grid = car_draw(a, b, grid_at, delay, ramp)
    at_box = car_draw(a, b, box_at, delay, ramp)
    box, _ = readings(tw, at_box, layout, first.current)
    car = tuple(at_grid if i in layout else 0.0 for i in ALL)  # type: ignore[assignment]
    grid = tuple(house[i] + car[i] for i in ALL)
    site = SiteInput(measured_at=tg, grid_power=sum(car) * V - surplus, phase_currents=grid)  # type: ignore[arg-type]
    now = max(tg, tw) + timedelta(seconds=0.5)
    second = ctl.decide(now, site, box)
    assert second.fuse_cap is not None
    assert within_fuse(second, house, layout, limit), (first, second, at_grid, at_box)


@settings(max_examples=300, deadline=None)
@given(
    surpluses=st.lists(st.floats(-5000, 20000), min_size=2, max_size=30),
    mode=st.sampled_from([ChargeMode.PV, ChargeMode.MIN_PV, ChargeMode.FAST]),
    layout=layouts,
    one_phase_setting=st.booleans(),
    dimming_power=st.floats(1000, 12000),
    dimmed_from=st.integers(0, 29),
    missing=st.sets(st.integers(0, 29)),
    old=st.sets(st.integers(0, 29)),
    initial=st.booleans(),
    curtailed=st.booleans(),
)
def test_the_dimming_cap_holds_in_every_mode(
    surpluses: list[float],
    mode: ChargeMode,
    layout: tuple[int, ...],
    one_phase_setting: bool,
    dimming_power: float,
    dimmed_from: int,
    missing: set[int],
    old: set[int],
    initial: bool,
    curtailed: bool,
) -> None:
    """While dimmed: current × voltage × the car's phases ≤ the dimming power, or 0 A,
    in every mode, through missing and stale site data (a stale reading from before the
    signal says "not dimmed"), the initial phase and curtailment; also with the option
    Phases wrong (a 3-phase car on a 1-phase setting)."""
    phases = 1 if one_phase_setting else 3
    s = Settings(
        mode=mode,
        phases=phases,
        dimming_power=dimming_power,
        start_energy=0.001,
        initial_current=16 if initial else 0,
        initial_duration=30.0,
    )
    loop = GridLoop(s, car_phases=layout)
    loop.zero_export = curtailed
    loop.ctl.settings = replace(loop.ctl.settings, settle_time=s.settle_time)
    signalled = False  # the controller has seen the signal (none before: not dimmed)
    for i, surplus in enumerate(surpluses):
        loop.surplus = surplus
        loop.dimmed = i >= dimmed_from
        loop.now += timedelta(seconds=2)
        loop.session_duration += 2
        site = None if i in missing else loop.site()
        if site is not None and i in old:
            site = replace(site, measured_at=loop.now - timedelta(seconds=30), dimmed=False)
        signalled = signalled or (site is not None and bool(site.dimmed))
        d = loop.ctl.decide(loop.now, site, loop.wallbox())
        loop.limit = d.current
        if signalled:
            assert d.current == 0 or d.current * V * len(layout) <= dimming_power + 1e-9, (i, d)


@settings(max_examples=300, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            # surplus: relative to the car's draw, mostly near it (where the rules differ)
            st.one_of(st.floats(-400, 1000), st.floats(-5000, 15000)),
            st.tuples(*[st.floats(0, 60)] * 3),  # phase currents (ignored without a fuse)
            st.sampled_from([None, False]),  # dimmed
            st.sampled_from([None, False]),  # curtailed
            st.one_of(st.just(0.0), st.floats(0, 25)),  # site age
        ),
        min_size=1,
        max_size=40,
    ),
    mode=st.sampled_from(list(ChargeMode)),
    phases=st.sampled_from([1, 3]),
    margin=st.floats(0, 10),
    dimming_power=st.floats(0, 20000),
    battery=st.one_of(st.none(), st.floats(-3000, 3000)),
)
def test_without_limits_the_decisions_are_unchanged(
    steps: list[tuple[float, tuple[float, float, float], bool | None, bool | None, float]],
    mode: ChargeMode,
    phases: int,
    margin: float,
    dimming_power: float,
    battery: float | None,
) -> None:
    """No fuse, no dimming, no curtailment: the new inputs and settings change nothing
    (the same decisions as for readings without them and default settings)."""
    base = Settings(mode=mode, phases=phases, start_energy=5, stop_energy=20)
    plain = SurplusController(base)
    limited = SurplusController(replace(base, fuse_margin=margin, dimming_power=dimming_power))
    now, limit = T0, 0
    for surplus, currents, dimmed, curtailed, age in steps:
        now += timedelta(seconds=2)
        car = tuple(float(limit) if i < phases else 0.0 for i in ALL)
        box = WallboxInput(measured_at=now, connected=True, power=sum(car) * V,
                           currents=car, current_limit=limit)  # type: ignore[arg-type]  # fmt: skip
        grid = -surplus + (battery or 0.0)  # surplus above the car's draw
        site = SiteInput(measured_at=now - timedelta(seconds=age), grid_power=grid,
                         battery_power=battery, battery_soc=50.0)  # fmt: skip
        full = replace(site, phase_currents=currents, dimmed=dimmed, curtailed=curtailed)
        expected = plain.decide(now, site, box)
        assert limited.decide(now, full, box) == expected
        assert expected.fuse_cap is None
        assert expected.dimming_cap is None
        limit = expected.current
        if expected.write:
            plain.record_write(now, limit)
            limited.record_write(now, limit)


def test_a_restored_session_on_a_tight_fuse_is_not_paused() -> None:
    """After a restart the car keeps drawing what the charger holds: its share counts in
    full even when the first grid reading is older than the first wallbox reading."""
    ctl = SurplusController(replace(FUSE, mode=ChargeMode.FAST))
    ctl.restore(setpoint=16, now=T0)
    box = WallboxInput(measured_at=T0, connected=True, power=11040, currents=(16, 16, 16),
                       current_limit=16)  # fmt: skip
    site = SiteInput(measured_at=T0 - timedelta(seconds=1), grid_power=0,
                     phase_currents=(31, 31, 31))  # fmt: skip
    d = ctl.decide(T0, site, box)
    assert (d.current, d.fuse_cap) == (16, 18)
    assert not d.started
