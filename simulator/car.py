"""An electric car on the simulated wallbox: plug, RFID tag, IEC 61851 state, charging.

The car sees the current the charger offers (the PWM duty cycle). It reacts to a new offer
after `CarConfig.response_delay_s` and then moves its current linearly to the new target
within `CarConfig.ramp_s` (default 2 s + 3 s = 5 s for any change). It charges when the
offer is at least 6 A and it is not full, drawing `min(offer, max_current_a)` on each of
its `phases` phases; an offer below 6 A (0 = pause) makes it stop, a new offer ≥ 6 A
makes it resume. At `target_soc_pct` it is full and stops by itself (SuspendedEV).

Optional behaviours (the defaults keep all of them off):

- Taper near full (`taper_soc_pct`, `taper_min_a`): above `taper_soc_pct` the car's battery
  management lowers what it takes per phase linearly from `max_current_a` to `taper_min_a`
  at `target_soc_pct`, where it stops as before. This cap applies at once, without the
  response delay and ramp (the car limits itself; it is not reacting to the charger), and
  may be below 6 A: the car then draws less than the smallest offer the charger can make.
- A minimum current of its own (`min_current_a` above 6 A): an offer ≥ 6 A but below it
  is refused; the car draws nothing and stays in state B (the charger reports SuspendedEV,
  see `Car.refuses`) until an offer reaches `min_current_a` again.

IEC states: A unplugged, B plugged and not charging, C charging (D with ventilation),
state E only through the charger's glitch knob. Time is whatever `step()` is given.
"""

from dataclasses import dataclass
from enum import IntEnum

MIN_OFFER_A = 6.0
"""IEC 61851: a duty cycle below 6 A means no charging allowed."""
NOMINAL_VOLTAGE_V = 230.0


class IecState(IntEnum):
    """IEC 61851 vehicle state as the charger reports it in register 122."""

    A = 1
    B = 2
    C = 3
    D = 4
    E = 5


@dataclass
class CarConfig:
    """Properties of the car; may be changed while it is plugged in."""

    name: str = "Maria"
    phases: int = 3
    """1 or 3 (a one-phase car draws on L1 only)."""
    max_current_a: float = 16.0
    """What its on-board charger takes at most per phase."""
    cable_max_a: int = 32
    """Current rating of its cable, reported by the charger at register 715."""
    capacity_kwh: float = 60.0
    soc_pct: float = 30.0
    """State of charge at the start (changes while charging, see `Car.soc_pct`)."""
    target_soc_pct: float = 100.0
    """Full at this state of charge: the car stops drawing."""
    efficiency: float = 0.92
    """Share of the energy drawn that ends up in the battery."""
    tag: str | None = "04A1B2C3D4E5F6"
    """RFID tag presented when plugging in (None: no card)."""
    evccid: str | None = None
    """ISO 15118 EVCCID (12 hex digits) or None for a plain IEC 61851 car."""
    response_delay_s: float = 2.0
    ramp_s: float = 3.0
    ventilation: bool = False
    """Charge in state D instead of C."""
    taper_soc_pct: float | None = None
    """Above this state of charge it takes less and less (None: full current until full)."""
    taper_min_a: float = 6.0
    """What it takes per phase at `target_soc_pct` when tapering."""
    min_current_a: float = MIN_OFFER_A
    """The smallest offer it charges with (values below 6 A act like 6 A)."""


class Car:
    """State of one car; `step()` advances it."""

    def __init__(self, config: CarConfig | None = None) -> None:
        """Create the car unplugged."""
        self.config = config if config is not None else CarConfig()
        if self.config.phases not in (1, 3):
            raise ValueError("a car charges on 1 or 3 phases")
        if self.config.taper_min_a <= 0:
            raise ValueError("taper_min_a must be positive")
        self.soc_pct = self.config.soc_pct
        self.plugged = False
        self.current_a = 0.0
        """Current drawn on each active phase now."""
        self.energy_wh = 0.0
        """Energy drawn since it was created (all sessions)."""
        self._t = 0.0
        self._wanted = 0.0  # target derived from the latest offer
        self._pending: tuple[float, float] | None = None  # (target, due time)
        self._goal = 0.0
        self._rate = 0.0  # A/s towards the goal

    # Plug ---------------------------------------------------------------------------

    def plug_in(self) -> None:
        """Plug the car in (it does not draw before an offer and its reaction delay)."""
        self.plugged = True
        self._wanted = self._goal = self.current_a = 0.0
        self._pending = None

    def unplug(self) -> None:
        """Unplug: the current drops to 0 at once."""
        self.plugged = False
        self._wanted = self._goal = self.current_a = 0.0
        self._pending = None

    def settle(self, current_a: float) -> None:
        """Draw ``current_a`` per phase from now on, as if it had reacted and ramped already.

        For fixtures that start in the middle of a session (`AmtronDevice.resume_session`);
        `step()` carries on from here like after any finished ramp.
        """
        self._wanted = self._goal = self.current_a = current_a
        cap = self._taper_cap()
        if cap is not None:
            self.current_a = min(current_a, cap)
        self._pending = None

    # State ----------------------------------------------------------------------------

    @property
    def full(self) -> bool:
        """Return True when the battery reached the target state of charge."""
        return self.soc_pct >= self.config.target_soc_pct

    @property
    def state(self) -> IecState:
        """IEC 61851 state: A unplugged, C/D while charging (or ramping), else B."""
        if not self.plugged:
            return IecState.A
        if self.current_a > 0 or self._goal > 0:
            return IecState.D if self.config.ventilation else IecState.C
        return IecState.B

    @property
    def phase_currents(self) -> tuple[float, float, float]:
        """Current on L1, L2, L3."""
        current = self.current_a
        if self.config.phases == 1:
            return (current, 0.0, 0.0)
        return (current, current, current)

    def phase_power(self, voltage_v: float = NOMINAL_VOLTAGE_V) -> tuple[float, float, float]:
        """Power drawn on L1, L2, L3 in W."""
        l1, l2, l3 = self.phase_currents
        return (l1 * voltage_v, l2 * voltage_v, l3 * voltage_v)

    @property
    def max_accepted_a(self) -> float:
        """What it takes per phase at most now: `max_current_a`, lower when tapering."""
        cap = self._taper_cap()
        return self.config.max_current_a if cap is None else cap

    def _taper_cap(self) -> float | None:
        """The battery management's limit above `taper_soc_pct` (None below it or when off)."""
        config = self.config
        taper = config.taper_soc_pct
        if taper is None or self.soc_pct <= taper:
            return None
        low = min(config.taper_min_a, config.max_current_a)
        span = config.target_soc_pct - taper
        share = min(1.0, (self.soc_pct - taper) / span) if span > 0 else 1.0
        return config.max_current_a - (config.max_current_a - low) * share

    def refuses(self, offer_a: float) -> bool:
        """Whether the car itself declines this offer of ≥ 6 A (full, or below its minimum)."""
        if not self.plugged or offer_a < MIN_OFFER_A:
            return False
        return self.full or offer_a < self.config.min_current_a

    def target_for(self, offer_a: float) -> float:
        """What the car draws per phase, once settled, at this offer."""
        return min(self._demand(offer_a), self.max_accepted_a)

    def _demand(self, offer_a: float) -> float:
        """The target it reacts to (delay and ramp); the taper cap comes on top."""
        config = self.config
        if not self.plugged or self.full or offer_a < max(MIN_OFFER_A, config.min_current_a):
            return 0.0
        return min(offer_a, config.max_current_a)

    # Time -----------------------------------------------------------------------------

    def step(self, dt_s: float, offer_a: float, voltage_v: float = NOMINAL_VOLTAGE_V) -> float:
        """Advance by `dt_s` at the charger's offer; return the energy drawn in Wh."""
        if dt_s < 0:
            raise ValueError("dt_s must not be negative")
        if not self.plugged:
            self._t += dt_s
            return 0.0
        config = self.config
        wanted = self._demand(offer_a)
        if wanted != self._wanted:
            self._wanted = wanted
            self._pending = (wanted, self._t + config.response_delay_s)
        start, end = self._t, self._t + dt_s
        before = self.current_a
        ramp_from = start
        if self._pending is not None and self._pending[1] <= end:
            target, due = self._pending
            self._pending = None
            ramp_from = max(start, due)
            self._goal = target
            change = abs(target - self.current_a)
            self._rate = change / config.ramp_s if config.ramp_s > 0 else float("inf")
        if self.current_a != self._goal:
            step = self._rate * (end - ramp_from) if self._rate != float("inf") else self._rate
            if abs(self._goal - self.current_a) <= step:
                self.current_a = self._goal
            else:
                self.current_a += step if self._goal > self.current_a else -step
        cap = self._taper_cap()
        if cap is not None:
            self.current_a = min(self.current_a, cap)
        self._t = end
        phases = config.phases
        energy_wh = (before + self.current_a) / 2 * voltage_v * phases * dt_s / 3600.0
        self.energy_wh += energy_wh
        capacity_wh = config.capacity_kwh * 1000.0
        if capacity_wh > 0:
            self.soc_pct = min(
                100.0, self.soc_pct + energy_wh * config.efficiency / capacity_wh * 100
            )
        return energy_wh
