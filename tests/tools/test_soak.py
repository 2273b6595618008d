"""Chaos soak in every test run: one simulated hour with every kind of fault.

Longer runs: ``python -m bench.soak --hours 24 --seed 7`` (see README, Reliability).
"""

from __future__ import annotations

import os
from pathlib import Path

from homeassistant.core import HomeAssistant

from ..harness import auto_enable_custom_integrations, no_deprecated_api_use  # noqa: F401
from .soak import DEVICE_FAULTS, SITE_FAULTS, SoakConfig, run_soak


async def test_chaos_soak(hass: HomeAssistant) -> None:
    config = SoakConfig(
        hours=float(os.environ.get("SOAK_HOURS", "1")),
        seed=int(os.environ.get("SOAK_SEED", "1")),
    )
    summary = await run_soak(hass, config)
    table = summary.table()
    print(table)
    if report := os.environ.get("SOAK_REPORT"):
        await hass.async_add_executor_job(Path(report).write_text, table + "\n", "utf-8")
    assert summary.violations == [], table
    for kind in (*DEVICE_FAULTS, *SITE_FAULTS):
        assert summary.faults[kind] >= 1, kind
        assert summary.survived[kind] == summary.faults[kind], kind
    assert summary.checks["RCM alarm → 0 A within one DCTR poll"] >= 1
    assert summary.checks["stale site data → safe state"] >= 1
    assert summary.checks["entities available iff device"] > 1000
    # The car really charges between the faults, and every alarm was acknowledged.
    assert summary.charging_s > 0.25 * config.hours * 3600
    assert summary.acknowledged == summary.faults["rcm_alarm"]
