"""Scheduled household loads: an appliance switched on at a time of day for a while.

``--cooker HH:MM[+SECONDS]`` (``python -m simulator``) switches `COOKER` on at that time of
day for SECONDS simulated seconds. It is an unbalanced load, as a kitchen is: the oven and
the largest hotplate share L1 with a kettle, so L1 carries about 29 A of its own. On a
site whose wallbox charges at full power, the phase currents at the grid meter then come
close to a small main fuse (README.md, "Grid connection limits"): the demo shows the
fuse limit with it.

A `ScheduledLoad` is one of the model's steppers: while it runs it sets
``model.loads[name]`` (W per phase), otherwise it removes that entry.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from .model import DAY_S, PhasePower, SiteModel

COOKER: PhasePower = (6700.0, 3500.0, 1200.0)
"""Oven, large hotplate and kettle on L1, two hotplates on L2, one on L3 (W)."""
COOKER_NAME = "cooker"
COOKER_DEFAULT_S = 600.0
"""Simulated duration of a ``--cooker`` without ``+SECONDS``."""


def parse_episode(text: str, default_s: float) -> tuple[float, float]:
    """Parse ``HH:MM[+SECONDS]`` into (time of day in s, duration in simulated s)."""
    clock, _, seconds = text.partition("+")
    hours, sep, minutes = clock.partition(":")
    if sep and hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60:
        try:
            duration = float(seconds) if seconds else default_s
        except ValueError:
            duration = -1.0
        if duration > 0:
            return int(hours) * 3600.0 + int(minutes) * 60.0, duration
    raise argparse.ArgumentTypeError(f"expected HH:MM or HH:MM+SECONDS, got {text!r}")


@dataclass
class ScheduledLoad:
    """`power` on the house circuit from `start_s` to `end_s` (model elapsed seconds)."""

    model: SiteModel
    name: str
    power: PhasePower
    start_s: float
    end_s: float

    @classmethod
    def at_clock(
        cls, model: SiteModel, name: str, power: PhasePower, clock_s: float, duration_s: float
    ) -> ScheduledLoad:
        """The next time the model's clock reaches `clock_s` (a time of day), for
        `duration_s`; added to the model's steppers and applied at once."""
        start = model.elapsed_s + (clock_s - model.t_s) % DAY_S
        load = cls(model, name, power, start, start + duration_s)
        model.steppers.append(load.step)
        load.step(0.0)
        return load

    @property
    def running(self) -> bool:
        """Whether the load is on at the model's current time."""
        return self.start_s <= self.model.elapsed_s < self.end_s

    def step(self, dt_s: float) -> None:
        """Set or remove the model's load entry for the current time."""
        del dt_s
        if self.running:
            self.model.loads[self.name] = self.power
        else:
            self.model.loads.pop(self.name, None)


def parse_cooker(text: str) -> tuple[float, float]:
    """``--cooker`` value → (time of day in s, duration in simulated s)."""
    return parse_episode(text, COOKER_DEFAULT_S)


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    """The scheduled loads' options."""
    group = parser.add_argument_group("household loads")
    l1, l2, l3 = (watts / 1000 for watts in COOKER)
    group.add_argument(
        "--cooker",
        type=parse_cooker,
        action="append",
        default=[],
        metavar="HH:MM[+SECONDS]",
        help=(
            f"switch a cooker and a kettle on ({l1:g} / {l2:g} / {l3:g} kW on L1 / L2 / L3) "
            f"at this time of day for SECONDS simulated seconds (default "
            f"{COOKER_DEFAULT_S:.0f}); may be repeated"
        ),
    )


def configure_from_args(model: SiteModel, args: argparse.Namespace) -> list[ScheduledLoad]:
    """Schedule the loads `add_cli_arguments` parsed."""
    episodes: list[tuple[float, float]] = args.cooker
    return [
        ScheduledLoad.at_clock(model, f"{COOKER_NAME}_{i}" if i else COOKER_NAME, COOKER, *ep)
        for i, ep in enumerate(episodes)
    ]
