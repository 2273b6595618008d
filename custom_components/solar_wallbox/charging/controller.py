"""The surplus controller: one decision per fresh site reading (pure; no I/O, no clock).

Every input carries the time it was measured and ``decide`` gets the current time, so
the same inputs always give the same decision. The caller applies the decision's current
(when ``write`` is set) and reports a successful write with :meth:`record_write`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from .model import (
    ChargeMode,
    Decision,
    Demand,
    Lockout,
    RcmInput,
    Reason,
    Settings,
    SiteInput,
    UnknownTagPolicy,
    VehicleProfile,
    WallboxInput,
)

WH = 3600.0  # W·s per Wh
PHASES = (0, 1, 2)

# Grid connection limits (README.md, "Grid connection limits").
FUSE_RESUME_MARGIN = 1  # A above the minimum current the fuse's room needs to resume
# (and at least twice the minimum: the car resumes at half the room, see _finish)
FUSE_RESUME_DELAY = 30.0  # s the room must stay there (a cycling hob does not cycle the car)
HISTORY = 64  # wallbox readings and current changes remembered for the car's share
PROBE_RETRY = 60.0  # s after a curtailment probe had to back off before the next one
PROBE_START_DELAY = 60.0  # s of curtailment before a paused car is probed with a start
PROBE_START_BACKOFF = 1800.0  # s after a probe start ended in a stop; doubles each time


@dataclass(frozen=True, slots=True)
class Limits:
    """The current range and minimum power that apply to the connected vehicle."""

    min_current: int
    max_current: int
    mode: ChargeMode
    session_energy_limit: float
    min_charging_power: float  # W; 0 = derived from the minimum current


@dataclass(frozen=True, slots=True)
class _Info:
    """What a decision reports besides the current."""

    vehicle: str | None = None
    mode: ChargeMode | None = None
    available_power: float | None = None
    min_power: float | None = None
    power_per_amp: float | None = None
    phases: int | None = None


@dataclass
class _Session:
    """What the controller remembers about the current plug-in."""

    phases: int | None = None  # phases the car was seen drawing on
    seen: frozenset[int] = frozenset()  # which phases (0..2) it was seen drawing on


@dataclass(frozen=True, slots=True)
class _Caps:
    """The grid connection's caps for one decision (A; None = no cap)."""

    fuse: int | None = None  # reported: the fuse's room on the car's phases (or the hold)
    room: int | None = None  # the fuse's room from a fresh reading (None: not known)
    dimming: int | None = None  # reported: the §14a cap
    limit: int | None = None  # what applies: the smaller, 0 while a cap pauses the car
    reason: Reason | None = None  # the reason shown when ``limit`` holds the current down


@dataclass
class _Now:
    """What one call of ``decide`` knows (set at its start)."""

    site: SiteInput | None = None
    fresh: bool = False  # the site reading is within the stale timeout
    min_current: int = 6


@dataclass
class SurplusController:
    """Decides the charging current from timestamped inputs."""

    settings: Settings
    setpoint: int = 0
    start_energy: float = 0.0  # Wh
    stop_energy: float = 0.0  # Wh
    starts_today: int = 0
    rcm_latched: bool = False
    rcm_latched_at: datetime | None = None
    rcm_alarm: str | None = None  # which alarm latched (or LOCKOUT_STATE_UNREADABLE)
    _day: date | None = None
    _last_site_at: datetime | None = None
    _last_wallbox_at: datetime | None = None
    _started_at: datetime | None = None
    _stopped_at: datetime | None = None
    _changed_at: datetime | None = None
    _last_written: int | None = None
    _written_at: datetime | None = None
    _ack_requested: bool = False
    _session: _Session = field(default_factory=_Session)
    # The mode's own current (the control law's state). ``setpoint`` is what was decided
    # after the grid connection's caps; without a cap in force both are the same.
    _wanted: int = 0
    _held: bool = False  # a cap pauses a running charging period (not a stop)
    _now: _Now = field(default_factory=_Now)
    _readings: list[tuple[datetime, tuple[float, float, float]]] = field(default_factory=list)
    _changes: list[tuple[datetime, int]] = field(default_factory=list)  # (when, setpoint)
    _fuse_paused: bool = False
    _fuse_room_since: datetime | None = None  # since when the room allows a resume
    _fuse_known: bool | None = None  # the last fresh reading had phase currents
    _dimmed: bool = False  # the last known §14a state (a stale site does not lift it)
    _curtailed_since: datetime | None = None
    _probe_wait_until: datetime | None = None
    _probe_period: bool = False  # the running period began with a curtailment probe
    _probe_failures: int = 0  # probe starts that ended in a stop today
    _probe_start_after: datetime | None = None

    # -- public API ---------------------------------------------------------------------

    def acknowledge_rcm(self) -> None:
        """The user acknowledges an RCM alarm; it unlatches once the alarm is gone."""
        self._ack_requested = True

    @property
    def lockout(self) -> Lockout:
        """The lockout as it must be remembered across restarts."""
        return Lockout(
            latched=self.rcm_latched,
            since=self.rcm_latched_at,
            alarm=self.rcm_alarm,
            acknowledged=self._ack_requested and self.rcm_latched,
        )

    def restore_lockout(self, lockout: Lockout) -> None:
        """Take over a remembered lockout (after a restart)."""
        self.rcm_latched = lockout.latched
        self.rcm_latched_at = lockout.since
        self.rcm_alarm = lockout.alarm
        self._ack_requested = lockout.acknowledged and lockout.latched

    @property
    def starts_day(self) -> date | None:
        """The day ``starts_today`` counts for (None before the first decision)."""
        return self._day

    @property
    def last_written(self) -> int | None:
        """The current written last (None before the first write)."""
        return self._last_written

    @property
    def stop_threshold(self) -> float:
        """The stop energy (Wh) a running session must collect before it stops: the option
        Stop energy, raised as the day's start budget is used up so that the last starts
        are not spent on short dips and the car is not locked out for the rest of the day
        (README.md, "Stop on energy"): × budget ÷ starts left, × 2 after half of them."""
        s = self.settings
        budget = s.daily_start_budget
        left = budget - self.starts_today
        if budget <= 0 or left >= budget:
            return s.stop_energy
        return s.stop_energy * budget / max(left, 1)

    def record_write(self, now: datetime, current: int) -> None:
        """The caller wrote ``current`` to the wallbox (and read it back)."""
        self._last_written = current
        self._written_at = now

    def restore(self, *, setpoint: int, now: datetime) -> None:
        """Continue a running session after a restart without an extra start/stop cycle."""
        self.setpoint = self._wanted = setpoint
        self._changes = [(datetime.min.replace(tzinfo=now.tzinfo), setpoint)]  # held before
        if setpoint > 0:
            self._started_at = now
            self._changed_at = now

    def restore_day(self, *, starts_today: int, day: date) -> None:
        """Restore the day's start count after a restart (for the daily start budget)."""
        self._day = day
        self.starts_today = starts_today

    def decide(
        self,
        now: datetime,
        site: SiteInput | None,
        wallbox: WallboxInput,
        rcm: RcmInput | None = None,
        *,
        today: date | None = None,
        demand: Demand | None = None,
    ) -> Decision:
        """Return the current for the wallbox now.

        ``demand`` is what the vehicle's SoC and its departure plan ask for (README.md,
        "Departure plans"): a stop at the limit SoC in every mode, and in the PV modes a
        least power (a reserved grid slot, the catch-up, the minimum SoC), more when the
        surplus carries more.
        """
        s = self.settings
        self._roll_day(today or now.date())
        dt = self._site_dt(site)
        self._observe(now, site, wallbox)
        self._last_wallbox_at = wallbox.measured_at

        profile = s.profile_for(wallbox.rfid_tag) if wallbox.connected else None
        vehicle = profile.name if profile else (wallbox.rfid_tag if wallbox.connected else None)
        safety = self._safety(now, rcm)
        if safety is not None:
            return self._finish(now, 0, safety, wallbox, _Info(vehicle=vehicle))
        if not wallbox.connected:
            self._session = _Session()
            self.start_energy = self.stop_energy = 0.0
            idle = s.idle_current if s.idle_current >= s.min_current else 0
            idle = min(idle, wallbox.device_max_current or idle)
            return self._finish(now, idle, Reason.NO_VEHICLE, wallbox, _Info(), count_start=False)

        if wallbox.rfid_tag and profile is None and s.unknown_tag is UnknownTagPolicy.BLOCK:
            return self._finish(now, 0, Reason.VEHICLE_BLOCKED, wallbox, _Info(vehicle=vehicle))
        limits = self._limits(profile, wallbox)
        self._now.min_current = limits.min_current
        common = _Info(vehicle=vehicle, mode=limits.mode)
        if limits.mode is ChargeMode.OFF:
            return self._finish(now, 0, Reason.MODE_OFF, wallbox, common)
        if limits.max_current < limits.min_current:
            return self._finish(now, 0, Reason.VEHICLE_BLOCKED, wallbox, common)
        if (
            limits.session_energy_limit > 0
            and (wallbox.session_energy or 0) >= limits.session_energy_limit
        ):
            return self._finish(now, 0, Reason.SESSION_LIMIT, wallbox, common)
        if demand is not None and demand.stop:
            return self._finish(now, 0, Reason.SOC_LIMIT, wallbox, common)
        if limits.mode is ChargeMode.FAST:
            return self._finish(now, limits.max_current, Reason.FAST, wallbox, common)
        if (
            s.initial_current > 0
            and wallbox.session_duration is not None
            and wallbox.session_duration < s.initial_duration
        ):
            current = min(max(s.initial_current, limits.min_current), limits.max_current)
            return self._finish(now, current, Reason.INITIAL_PHASE, wallbox, common)
        if demand is not None and demand.power > 0:
            return self._demanded(now, site, wallbox, limits, demand, vehicle)
        if site is None or not self._now.fresh:
            current = limits.min_current if limits.mode is ChargeMode.MIN_PV else 0
            return self._finish(now, current, Reason.SITE_STALE, wallbox, common)
        return self._regulate(now, site, wallbox, limits, dt, vehicle)

    def _demanded(
        self,
        now: datetime,
        site: SiteInput | None,
        wallbox: WallboxInput,
        limits: Limits,
        demand: Demand,
        vehicle: str | None,
    ) -> Decision:
        """At least the demand's power (the lowest current that gives it), more when the
        surplus alone carries more (what the site has to spare now, as in charging). The
        start budget and the minimum off time do not hold a demand back (it is what the
        user asked for); the grid caps still apply (``_finish``)."""
        s = self.settings
        phases = self._phases(wallbox)
        per_amp = s.voltage * phases
        available: float | None = None
        surplus = 0
        if site is not None and self._now.fresh:
            available, _ = self._available(site, wallbox, curtailed=bool(site.curtailed))
            surplus = max(math.floor(available / per_amp), 0)
        least = math.ceil(demand.power / per_amp - 1e-9)
        current = min(max(surplus, least, limits.min_current), limits.max_current)
        self.start_energy = self.stop_energy = 0.0
        info = _Info(
            vehicle=vehicle,
            mode=limits.mode,
            available_power=available,
            min_power=limits.min_charging_power or limits.min_current * per_amp,
            power_per_amp=per_amp,
            phases=phases,
        )
        return self._finish(now, current, demand.reason or Reason.PLAN_GRID, wallbox, info)

    # -- the control law ----------------------------------------------------------------

    def _regulate(
        self,
        now: datetime,
        site: SiteInput,
        wallbox: WallboxInput,
        limits: Limits,
        dt: float,
        vehicle: str | None,
    ) -> Decision:
        s = self.settings
        phases = self._phases(wallbox)
        per_amp = s.voltage * phases
        min_power = limits.min_charging_power or limits.min_current * per_amp
        curtailed = bool(site.curtailed)
        available, battery_help = self._available(site, wallbox, curtailed=curtailed)
        target = math.floor(available / per_amp)
        extra = _Info(
            vehicle=vehicle,
            mode=limits.mode,
            available_power=available,
            min_power=min_power,
            power_per_amp=per_amp,
            phases=phases,
        )
        # Curtailed feed-in: the export sits at the limit whatever the car takes, so the
        # grid shows no surplus; only an import (beyond the hysteresis: meter noise around
        # the limit) says the PV cannot carry more.
        importing = available - wallbox.power < -s.hysteresis

        if self._wanted <= 0:
            if limits.mode is ChargeMode.MIN_PV:
                current = min(max(target, limits.min_current), limits.max_current)
                return self._finish(now, current, Reason.MIN_PV, wallbox, extra)
            # Paused (PV only): collect surplus energy above the minimum power, capped at
            # the threshold so that a long wait (minimum off time, start budget) never
            # stores energy that would start charging after the surplus has gone.
            rate = available - min_power
            self.start_energy = min(s.start_energy, max(0.0, self.start_energy + rate * dt / WH))
            countdown = (
                (s.start_energy - self.start_energy) * WH / rate
                if rate > 0 and self.start_energy < s.start_energy
                else None
            )
            # Start only while the surplus carries the minimum right now.
            probe = False
            if self.start_energy < s.start_energy or rate < 0:
                probe = curtailed and not importing and self._may_probe_start(now)
                if not probe:
                    return self._finish(
                        now, 0, Reason.WAITING_FOR_SURPLUS, wallbox, extra, countdown=countdown
                    )
            off_for = self._seconds_since(now, self._stopped_at)
            if off_for is not None and off_for < s.min_off_time:
                return self._finish(
                    now,
                    0,
                    Reason.MIN_OFF_TIME,
                    wallbox,
                    extra,
                    countdown=s.min_off_time - off_for,
                )
            if self.starts_today >= s.daily_start_budget:
                return self._finish(now, 0, Reason.START_BUDGET, wallbox, extra)
            current = min(max(target, limits.min_current), limits.max_current)
            self.start_energy = 0.0
            self._probe_period = probe
            reason = Reason.CURTAILMENT_PROBE if probe else Reason.STARTING
            return self._finish(now, current, reason, wallbox, extra)

        # Charging: follow the surplus within [min, max].
        current = self._wanted
        followed = self._followed(now, wallbox)
        # While the car still ramps to the last change, grid and wallbox readings taken a
        # moment apart disagree by up to half an ampere: only a larger gap is a real drop.
        margin = 0.0 if followed else per_amp / 2
        probed = False
        if (available + margin) / per_amp < current and (importing or not curtailed):
            # Reduce within one reading (curtailed: only once the site imports). A probe
            # waits after it (the import usually ends the curtailment it probed).
            current = max(math.floor((available + margin) / per_amp), limits.min_current)
            self._probe_wait_until = now + timedelta(seconds=PROBE_RETRY)
        elif target > current and available >= (current + 1) * per_amp + s.hysteresis and followed:
            # The gate above holds the hysteresis; the new current uses all of the surplus
            # (it is reduced again only when the surplus falls below the car's draw).
            current = target
        elif (
            curtailed
            and not importing
            and followed
            and current == self.setpoint  # no cap holds it: probing above a cap is moot
            and current < limits.max_current
            and (self._probe_wait_until is None or now >= self._probe_wait_until)
        ):
            current += 1  # probe: one ampere per step while the export stays at the limit
            probed = True
        current = min(max(current, limits.min_current), limits.max_current)

        if limits.mode is ChargeMode.MIN_PV:
            self.stop_energy = 0.0
            reason = Reason.CURTAILMENT_PROBE if probed else Reason.MIN_PV
            return self._finish(now, current, reason, wallbox, extra)

        surplus_reason = Reason.CURTAILMENT_PROBE if probed else Reason.CHARGING_SURPLUS
        deficit = min_power - (available + battery_help)
        # Capped at the threshold (as the start energy), and a stop needs a deficit now.
        threshold = self.stop_threshold
        self.stop_energy = min(threshold, max(0.0, self.stop_energy + deficit * dt / WH))
        if self.stop_energy <= 0:
            return self._finish(now, current, surplus_reason, wallbox, extra)
        on_for = self._seconds_since(now, self._started_at) or 0.0
        if self.stop_energy >= threshold and deficit > 0:
            if on_for < s.min_on_time:
                return self._finish(
                    now,
                    current,
                    Reason.MIN_ON_TIME,
                    wallbox,
                    extra,
                    countdown=s.min_on_time - on_for,
                )
            self.stop_energy = 0.0
            if self._probe_period:
                # A start the curtailment probe made did not carry itself: the next probe
                # start waits, twice as long after each such stop (no start/stop cycle).
                backoff = PROBE_START_BACKOFF * 2**self._probe_failures
                self._probe_failures += 1
                self._probe_start_after = now + timedelta(seconds=backoff)
            return self._finish(now, 0, Reason.STOPPING, wallbox, extra)
        countdown = (threshold - self.stop_energy) * WH / deficit if deficit > 0 else None
        reason = Reason.HOLDING_MIN if deficit > 0 else surplus_reason
        return self._finish(
            now,
            current,
            reason,
            wallbox,
            extra,
            countdown=countdown,
        )

    def _may_probe_start(self, now: datetime) -> bool:
        """May a paused car be started to probe a curtailed inverter (README.md, "Grid
        connection limits")? After the curtailment has lasted ``PROBE_START_DELAY``, and
        not while the back-off of a probe start that ended in a stop runs."""
        since = self._curtailed_since
        if since is None or (now - since).total_seconds() < PROBE_START_DELAY:
            return False
        return self._probe_start_after is None or now >= self._probe_start_after

    def _available(
        self, site: SiteInput, wallbox: WallboxInput, *, curtailed: bool = False
    ) -> tuple[float, float]:
        """Power the car may draw (W), and what the battery may add to avoid a stop (W).

        Below the priority SoC the battery keeps its charging power (only real export goes
        to the car); at or above it, its charging power is offered to the car. A
        discharging battery always counts against the car. At or above the support SoC
        the battery may cover up to the support power so that a running session is not
        stopped (it never raises the current).

        While the inverter curtails its feed-in, a positive grid target is not kept: the
        export cannot rise above a limit it is held at, and the curtailed PV is the margin.
        """
        s = self.settings
        grid_target = min(s.grid_target, 0.0) if curtailed else s.grid_target
        available = wallbox.power - site.grid_power - grid_target
        battery, soc = site.battery_power, site.battery_soc
        if battery is None:
            return available, 0.0
        if battery < 0 or (soc is not None and soc >= s.priority_soc):
            available += battery
        support = s.battery_support_power if soc is not None and soc >= s.support_soc else 0.0
        return available, support

    def _phases(self, wallbox: WallboxInput) -> int:
        if wallbox.power > 100 and wallbox.active_phases > 0:
            self._session.phases = wallbox.active_phases
        return self._session.phases or self.settings.phases

    def _followed(self, now: datetime, wallbox: WallboxInput) -> bool:
        """Has the car followed the last change (or had enough time to)?

        Followed means: a wallbox reading taken at least ``settle_time`` after the change
        shows the car drawing the new current (within the tolerance).
        """
        s = self.settings
        if self._changed_at is None or self.setpoint <= 0:
            return True
        if (now - self._changed_at).total_seconds() >= s.follow_timeout:
            return True
        settled = (wallbox.measured_at - self._changed_at).total_seconds() >= s.settle_time
        drawn = max(wallbox.currents)
        return settled and abs(drawn - self.setpoint) <= s.follow_tolerance

    def _limits(self, profile: VehicleProfile | None, wallbox: WallboxInput) -> Limits:
        s = self.settings
        low = profile.min_current if profile and profile.min_current else s.min_current
        high = profile.max_current if profile and profile.max_current else s.max_current
        low = max(low, wallbox.device_min_current or low)
        high = min(high, s.max_current, wallbox.device_max_current or high)
        return Limits(
            min_current=low,
            max_current=high,
            mode=(profile.mode if profile and profile.mode else s.mode),
            # The setting (the "Session energy limit" number) applies to the running session
            # whatever the vehicle; 0 leaves the vehicle profile's own limit.
            session_energy_limit=(
                s.session_energy_limit or (profile.session_energy_limit if profile else 0.0)
            ),
            min_charging_power=(
                profile.min_charging_power
                if profile and profile.min_charging_power
                else s.min_charging_power
            ),
        )

    # -- safety -------------------------------------------------------------------------

    def _safety(self, now: datetime, rcm: RcmInput | None) -> Reason | None:
        if rcm is None:
            return None
        if rcm.alarm:
            if not self.rcm_latched or self.rcm_latched_at is None:
                self.rcm_latched_at = now
            self.rcm_latched = True
            self.rcm_alarm = rcm.detail or self.rcm_alarm
            self._ack_requested = False
            return Reason.RCM_ALARM
        stale = (
            not rcm.link_ok
            or rcm.measured_at is None
            or (now - rcm.measured_at).total_seconds() > self.settings.stale_timeout
        )
        if stale:
            return Reason.RCM_STALE
        if self.rcm_latched:
            if not self._ack_requested:
                return Reason.RCM_LATCHED
            self.rcm_latched = False
            self.rcm_latched_at = None
            self.rcm_alarm = None
            self._ack_requested = False
        return None

    # -- grid connection limits ---------------------------------------------------------

    def _observe(self, now: datetime, site: SiteInput | None, wallbox: WallboxInput) -> None:
        """Remember what the grid caps need from this call's readings."""
        s = self.settings
        fresh = site is not None and (now - site.measured_at).total_seconds() <= s.stale_timeout
        self._now = _Now(site=site, fresh=fresh, min_current=s.min_current)
        if fresh and site is not None:
            self._dimmed = bool(site.dimmed)
            self._fuse_known = site.phase_currents is not None
            if site.curtailed:
                self._curtailed_since = self._curtailed_since or site.measured_at
            else:
                self._curtailed_since = None
        elif site is not None and site.dimmed:
            self._dimmed = True  # fail safe: stale data may start the dimming, never end it
        if wallbox.connected and wallbox.power > 100:
            drawn = frozenset(i for i in PHASES if wallbox.currents[i] > 0.5)
            self._session.seen = self._session.seen | drawn
        if not self._readings or wallbox.measured_at > self._readings[-1][0]:
            self._readings.append((wallbox.measured_at, wallbox.currents))
            del self._readings[:-HISTORY]

    def _car_phases(self, wallbox: WallboxInput) -> frozenset[int]:
        """The phases the car draws on or may load: those it draws on now (> 0.5 A) and
        was seen drawing on in this session; before it has drawn, all three (a 1-phase
        car may be on any of them: the most loaded one counts)."""
        drawn = frozenset(i for i in PHASES if wallbox.connected and wallbox.currents[i] > 0.5)
        return (drawn | self._session.seen) or frozenset(PHASES)

    def _car_share(self, measured_at: datetime, wallbox: WallboxInput) -> list[float]:
        """A per phase: the least the car can have drawn when the grid was read.

        The grid meter and the wallbox are read at different moments, and the car follows
        a new limit late (delay and ramp). Subtracting more of the car than the grid
        reading contained would over-estimate the room (the car ramped up after the grid
        reading, or down after the wallbox reading), so the share is a lower bound:

        - the lowest wallbox reading from the last one taken at or before the grid reading
          onwards (a ramp between two readings is monotone: the car drew at least the
          smaller of the two; without such a reading, every reading remembered), and
        - the lowest current limit in force from ``settle_time`` before that reading on
          (the car moves toward the limit in force, or stays below it on its own).

        A steady car is subtracted in full; while it follows a change, the smaller of the
        old and the new current (a reduction then holds the car until it has followed, or
        pauses it when the grid reading still shows the old current above the fuse). A car
        that lowers its own draw between the two readings is the one case not covered: it
        is seen at the next reading.
        """
        readings = self._readings
        before = [i for i, (at, _) in enumerate(readings) if at <= measured_at]
        first = before[-1] if before else 0
        since = readings[first][0] if readings else measured_at
        low = [min(r[1][i] for r in readings[first:]) for i in PHASES] if readings else [0.0] * 3
        horizon = since - timedelta(seconds=self.settings.settle_time)
        in_force = [value for at, value in self._changes if at > horizon]
        older = [value for at, value in self._changes if at <= horizon]
        in_force.append(older[-1] if older else 0)  # before the first change: 0 A
        floor = float(min(in_force))
        return [min(value, floor) for value in low]

    def _fuse_room(self, site: SiteInput, wallbox: WallboxInput) -> int | None:
        """The current the fuse leaves the car on the phases it loads (A, floor), from one
        grid reading: fuse − margin − (grid current − the car's share) per phase, the grid
        current signed (+ import)."""
        s = self.settings
        grid = site.phase_currents
        if grid is None:
            return None
        share = self._car_share(site.measured_at, wallbox)
        limit = s.fuse_current - s.fuse_margin
        # The house's part of each phase (signed: an exporting phase has more room) is at
        # most the grid current less the car's least share; the car only adds to it.
        rooms = [limit - max(grid[i] - share[i], 0.0) for i in self._car_phases(wallbox)]
        return math.floor(min(rooms))

    def _caps(self, now: datetime, wallbox: WallboxInput) -> _Caps:
        """The fuse's and the §14a caps for this decision (README.md, "Grid connection
        limits"). Updates the fuse's pause: below the minimum current it pauses; it
        resumes after the room has been at least the minimum + ``FUSE_RESUME_MARGIN``
        and twice the minimum for ``FUSE_RESUME_DELAY`` (every fresh reading between)."""
        s = self.settings
        site, low = self._now.site, self._now.min_current
        fuse: int | None = None
        fuse_limit: int | None = None
        fuse_reason = Reason.FUSE_LIMIT
        room: int | None = None
        if s.fuse_current > 0 and self._now.fresh and site is not None:
            fuse = self._fuse_room(site, wallbox)
            if fuse is not None:
                if fuse < low:
                    self._fuse_paused, self._fuse_room_since = True, None
                elif self._fuse_paused and fuse >= max(low + FUSE_RESUME_MARGIN, 2 * low):
                    self._fuse_room_since = self._fuse_room_since or now
                    if (now - self._fuse_room_since).total_seconds() >= FUSE_RESUME_DELAY:
                        self._fuse_paused, self._fuse_room_since = False, None
                elif self._fuse_paused:
                    self._fuse_room_since = None
                fuse = room = max(fuse, 0)
                fuse_limit = 0 if self._fuse_paused else fuse
        elif s.fuse_current > 0 and not self._now.fresh and self._fuse_known is not False:
            # No fresh phase currents: the fuse cannot be checked. Hold the minimum (the
            # least the car can charge with); a pause for the fuse stays a pause.
            fuse = fuse_limit = 0 if self._fuse_paused else low
            fuse_reason = Reason.SITE_STALE
        dimming: int | None = None
        dimming_limit: int | None = None
        if self._dimmed:
            # Phases in use: those the car draws on or was seen on; before it has drawn,
            # three (fail safe: the option Phases may be wrong, a 3-phase car on a 3-phase
            # wallbox must not get the 1-phase cap for a reading).
            known = self._session.seen
            if wallbox.connected:
                known = known | frozenset(i for i in PHASES if wallbox.currents[i] > 0.5)
            phases = len(known) or len(PHASES)
            dimming = math.floor(s.dimming_power / (s.voltage * max(phases, 1)))
            dimming_limit = dimming if dimming >= low else 0
        if fuse_limit is None and dimming_limit is None:
            return _Caps(fuse=fuse, dimming=dimming, room=room)
        if dimming_limit is None or (fuse_limit is not None and fuse_limit <= dimming_limit):
            return _Caps(
                fuse=fuse, room=room, dimming=dimming, limit=fuse_limit, reason=fuse_reason
            )
        return _Caps(
            fuse=fuse, room=room, dimming=dimming, limit=dimming_limit, reason=Reason.GRID_DIMMED
        )

    # -- bookkeeping --------------------------------------------------------------------

    def _site_dt(self, site: SiteInput | None) -> float:
        """Seconds since the previous site reading; 0 for a reading seen before."""
        if site is None:
            return 0.0
        last, self._last_site_at = self._last_site_at, site.measured_at
        if last is None or site.measured_at <= last:
            if last is not None and site.measured_at < last:
                self._last_site_at = last
            return 0.0
        return min((site.measured_at - last).total_seconds(), self.settings.stale_timeout)

    def _roll_day(self, today: date) -> None:
        if self._day != today:
            self._day = today
            self.starts_today = 0
            self._probe_failures = 0

    @staticmethod
    def _seconds_since(now: datetime, then: datetime | None) -> float | None:
        return None if then is None else (now - then).total_seconds()

    def _finish(
        self,
        now: datetime,
        current: int,
        reason: Reason,
        wallbox: WallboxInput,
        info: _Info,
        *,
        count_start: bool = True,
        countdown: float | None = None,
    ) -> Decision:
        """Apply the grid caps to the mode's ``current`` and keep the books.

        The caps apply on top of every mode (the smaller one; a tie counts as the fuse):
        a reduction at once, a raise under a cap only after the car followed the last
        change. With the fuse's room known, any raise goes at most halfway from the
        current to the room: while the car ramps up, the wallbox reading lags the grid
        reading by up to the step, so the conservative share (``_car_share``) sees that
        much less room; half the way keeps the room it sees at or above the new current,
        so the car is not cut or paused by its own ramp (it reaches the room less one
        ampere in a few steps; a start needs half the room to carry the minimum).

        A cap that pauses a running charging period (or lets it resume) is a protection,
        not a stop and a start: no start is counted, no minimum off time begins, the
        minimum on time and the stop energy go on (README.md, "Grid connection limits").
        """
        wanted = current
        caps = self._caps(now, wallbox)
        previous = self.setpoint
        held_by: Reason | None = None
        if caps.limit is not None and caps.limit < current:
            current, held_by = caps.limit, caps.reason
        base = max(previous, 0)
        if caps.room is not None and current > base and (caps.room + base) // 2 < current:
            current, held_by = max((caps.room + base) // 2, base), Reason.FUSE_LIMIT
            if current < self._now.min_current:
                current = 0  # half the room does not carry the minimum: no start yet
        if held_by is not None:
            if 0 < previous < current and not self._followed(now, wallbox):
                current = previous
            if wanted > 0:
                reason = held_by
        if current <= 0 < previous and wanted > 0:
            self._held = True  # a cap pauses the running period
        resumed = previous <= 0 < current and self._held
        started = previous <= 0 < current and count_start and not resumed
        stopped = (current <= 0 < previous and wanted <= 0) or (
            self._held and (wanted <= 0 or not count_start)
        )
        if current > 0 or wanted <= 0 or not count_start:
            self._held = False
        if started:
            self.starts_today += 1
            self._started_at = now
        if stopped:
            self._stopped_at = now
        if wanted <= 0 or stopped:
            self._probe_period = False
        if current != previous:
            self._changed_at = now
            self._changes.append((now, current))
            del self._changes[:-HISTORY]
        if wanted <= 0:
            self.stop_energy = 0.0
        self.setpoint = current
        self._wanted = wanted
        overwritten = (
            self._written_at is not None
            and wallbox.measured_at > self._written_at
            and wallbox.current_limit is not None
            and wallbox.current_limit != self._last_written
        )
        refresh_due = (
            self._written_at is None
            or (now - self._written_at).total_seconds() >= self.settings.refresh_interval
        )
        write = current != self._last_written or overwritten or refresh_due
        return Decision(
            current=current,
            reason=reason,
            write=write,
            available_power=info.available_power,
            min_power=info.min_power,
            power_per_amp=info.power_per_amp,
            phases=info.phases,
            countdown=countdown,
            start_energy=self.start_energy,
            stop_energy=self.stop_energy,
            vehicle=info.vehicle,
            mode=info.mode,
            starts_today=self.starts_today,
            started=started,
            stopped=stopped,
            overwritten=overwritten,
            fuse_cap=caps.fuse,
            dimming_cap=caps.dimming,
        )
