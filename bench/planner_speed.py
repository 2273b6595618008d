"""How long one re-plan takes (charging/planner.py): ``python -m bench.planner_speed``.

The largest plan the integration makes: a departure 3 days ahead (Friday evening to
Monday morning plus a margin) in 15-minute slots, 15-minute prices for the whole horizon,
and an hourly forecast that also carries 92 days of the past (Open-Meteo Solar Forecast's
default, docs/departure-plans.md). Prints the median and the worst of ``--runs`` plans.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from datetime import UTC, datetime, timedelta

from custom_components.solar_wallbox.charging.planner import (
    ForecastSlot,
    PlanRequest,
    PriceSlot,
    make_plan,
)

NOW = datetime(2026, 12, 4, 18, 7, tzinfo=UTC)


def request(days: float = 3.0) -> PlanRequest:
    """The largest request (see the module docstring)."""
    hours = math.ceil(days * 24)
    forecast = tuple(
        ForecastSlot(
            NOW + timedelta(hours=h),
            NOW + timedelta(hours=h + 1),
            max(0.0, 8000 * math.sin(math.pi * ((h % 24) - 6) / 12)),
        )
        for h in range(-92 * 24, hours)
    )
    quarter = timedelta(minutes=15)
    prices = tuple(
        PriceSlot(NOW + q * quarter, NOW + (q + 1) * quarter, 0.25 + 0.1 * math.sin(q / 9))
        for q in range(hours * 4)
    )
    return PlanRequest(
        now=NOW,
        departure=NOW + timedelta(days=days),
        need_wh=40000.0,
        max_power=11040.0,
        min_power=4140.0,
        forecast=forecast,
        prices=prices,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=50)
    runs = parser.parse_args().runs
    req = request()
    times: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        make_plan(req)
        times.append((time.perf_counter() - start) * 1000)
    print(
        f"{len(req.forecast)} forecast periods, {len(req.prices)} prices, "
        f"{len(make_plan(req).slots)} slots: median {statistics.median(times):.1f} ms, "
        f"worst {max(times):.1f} ms over {runs} plans"
    )


if __name__ == "__main__":
    main()
