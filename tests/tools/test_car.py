"""The simulated car's optional behaviours near full: taper and a minimum current of its own."""

from __future__ import annotations

import itertools

import pytest

from simulator.amtron import CHARGING, SUSPENDED_EV, AmtronDevice
from simulator.car import Car, CarConfig, IecState
from simulator.model import SiteModel


def charge(car: Car, seconds: int, offer_a: float) -> list[tuple[float, float]]:
    """(state of charge, current) after every simulated second."""
    samples = []
    for _ in range(seconds):
        car.step(1.0, offer_a)
        samples.append((car.soc_pct, car.current_a))
    return samples


def test_defaults_keep_full_current_until_full() -> None:
    """Without a taper the car draws its maximum up to the target, then stops."""
    car = Car(CarConfig(capacity_kwh=2.0, soc_pct=90.0, efficiency=1.0, ramp_s=0.0))
    car.plug_in()
    samples = charge(car, 120, 16.0)
    charging = [current for soc, current in samples[2:] if soc < 100.0]
    assert charging
    assert set(charging) == {16.0}
    assert car.full
    assert car.current_a == 0.0
    assert car.state is IecState.B
    assert car.max_accepted_a == 16.0
    assert car.target_for(10.0) == 0.0  # full


def test_taper_lowers_the_current_as_the_soc_rises() -> None:
    """Above taper_soc_pct the current falls linearly towards taper_min_a, then stops."""
    config = CarConfig(
        capacity_kwh=2.0,
        soc_pct=80.0,
        target_soc_pct=90.0,
        efficiency=1.0,
        ramp_s=0.0,
        taper_soc_pct=85.0,
        taper_min_a=2.0,
    )
    car = Car(config)
    car.plug_in()
    samples = charge(car, 600, 16.0)
    before = [current for soc, current in samples[2:] if soc < 85.0]
    assert before
    assert set(before) == {16.0}
    tapering = [(soc, current) for soc, current in samples if 85.5 < soc < 90.0]
    assert len(tapering) > 3
    currents = [current for _, current in tapering]
    assert currents == sorted(currents, reverse=True)
    assert currents[0] < 16.0
    assert min(currents) >= 2.0
    for soc, current in tapering:
        # The cap is computed from the SoC at the start of each step (≤ soc).
        assert current >= 16.0 - 14.0 * (soc - 85.0) / 5.0 - 1e-9
    assert car.full
    assert car.current_a == 0.0
    assert car.state is IecState.B


def test_taper_cap_is_linear_and_applies_to_the_offer() -> None:
    """The cap is max_current_a at taper_soc, taper_min_a at the target; lower offers win."""
    car = Car(CarConfig(soc_pct=70.0, target_soc_pct=90.0, taper_soc_pct=70.0, taper_min_a=6.0))
    car.plug_in()
    assert car.max_accepted_a == 16.0
    car.soc_pct = 80.0
    assert car.max_accepted_a == pytest.approx(11.0)
    assert car.target_for(16.0) == pytest.approx(11.0)
    assert car.target_for(8.0) == 8.0
    car.soc_pct = 89.99
    assert car.max_accepted_a == pytest.approx(6.0, abs=0.01)


def test_taper_applies_without_the_response_delay() -> None:
    """The cap follows the SoC at once; the offer still goes through delay and ramp."""
    car = Car(
        CarConfig(
            capacity_kwh=1.0,
            soc_pct=50.0,
            efficiency=1.0,
            taper_soc_pct=50.0,
            taper_min_a=1.0,
            response_delay_s=2.0,
            ramp_s=3.0,
        )
    )
    car.plug_in()
    samples = charge(car, 60, 16.0)
    assert samples[1][1] == 0.0  # not reacted yet
    assert 0.0 < samples[4][1] < 16.0
    currents = [current for _, current in samples[6:40]]
    assert all(b < a for a, b in itertools.pairwise(currents) if b > 0)


def test_settle_respects_the_taper() -> None:
    """A session that resumes near full draws what the taper allows."""
    car = Car(CarConfig(soc_pct=95.0, taper_soc_pct=90.0, taper_min_a=6.0))
    car.plug_in()
    car.settle(car.target_for(16.0))
    assert car.current_a == pytest.approx(11.0)


def test_min_current_refuses_lower_offers() -> None:
    """A car that needs 8 A stays in state B at 6-7 A and charges again at 8 A."""
    car = Car(CarConfig(min_current_a=8.0, response_delay_s=0.0, ramp_s=0.0))
    car.plug_in()
    car.step(1.0, 7.0)
    assert car.current_a == 0.0
    assert car.state is IecState.B
    assert car.refuses(7.0)
    assert not car.refuses(8.0)
    assert not car.refuses(0.0)  # no offer: the charger pauses, not the car
    car.step(1.0, 8.0)
    assert car.current_a == 8.0
    car.step(1.0, 6.0)
    assert car.current_a == 0.0


def test_default_car_refuses_only_when_full() -> None:
    """With the defaults `refuses` is `full` (for offers of at least 6 A)."""
    car = Car()
    car.plug_in()
    assert not car.refuses(6.0)
    car.soc_pct = 100.0
    assert car.refuses(6.0)
    car.unplug()
    assert not car.refuses(16.0)


def test_taper_min_must_be_positive() -> None:
    with pytest.raises(ValueError, match="taper_min_a"):
        Car(CarConfig(taper_min_a=0.0))


def test_amtron_reports_suspended_ev_when_the_car_refuses() -> None:
    """The charger offers 7 A, the car wants 8 A: SuspendedEV, then Charging at 10 A."""
    model = SiteModel(seed=1)
    device = AmtronDevice(model)
    device.plug_in(CarConfig(min_current_a=8.0))
    device.hems_limit_a = 7
    for _ in range(40):
        model.step(0.25)
    assert device.car.state is IecState.B
    assert device.ocpp_status() == SUSPENDED_EV
    device.hems_limit_a = 10
    for _ in range(40):
        model.step(0.25)
    assert device.car.current_a == 10.0
    assert device.ocpp_status() == CHARGING
