"""``python -m bench.soak --hours N --seed S``: the chaos soak for as long as you like.

Runs the soak of ``tests/tools/soak.py`` (all four simulators, Home Assistant's test harness in
simulated time, surplus charging on, random faults on every device, HA restarts) through
pytest, because it needs the harness' ``hass`` fixture, and prints its summary table.
``tests/tools/test_soak.py`` runs one simulated hour of the same in every ``scripts/test``.

Exit status 0 when no invariant was violated, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run the soak, print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--hours", type=float, default=1.0, help="simulated hours (default 1)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--report", type=Path, help="also write the table to this file")
    args = parser.parse_args(argv)
    if args.hours <= 0:
        parser.error("--hours must be positive")
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "soak.txt"
        env = {
            **os.environ,
            "SOAK_HOURS": str(args.hours),
            "SOAK_SEED": str(args.seed),
            "SOAK_REPORT": str(report),
        }
        command = [
            sys.executable,
            "-m",
            "pytest",
            "tests/tools/test_soak.py",
            "-q",
            "-p",
            "no:cacheprovider",
            "--no-cov",
            "-o",
            "log_cli=false",
            "--show-capture=no",
            "--tb=line",
        ]
        result = subprocess.run(command, cwd=ROOT, env=env, check=False)  # noqa: S603
        table = report.read_text(encoding="utf-8") if report.exists() else ""
    print(table or "The soak did not finish; see the pytest output above.")
    if args.report is not None and table:
        args.report.write_text(table, encoding="utf-8")
    return 0 if result.returncode == 0 and table else 1


if __name__ == "__main__":
    sys.exit(main())
