"""Tests of ``python -m bench.poll`` against the simulator on 127.0.0.1."""

import asyncio
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from bench.poll import (
    DEVICES,
    BenchError,
    Options,
    PollSample,
    main,
    parse_command_line,
    run,
    simulator_endpoint,
    summarise,
)
from simulator.e3dc import E3dcDevice
from simulator.modbus_server import ModbusTcpServer
from simulator.model import SiteModel

REPO = Path(__file__).resolve().parents[2]


class MainThread(threading.Thread):
    """Runs ``main(argv)`` in its own thread: main uses asyncio.run, which must not run
    on (or reset) the test's event loop."""

    def __init__(self, argv: Sequence[str]) -> None:
        super().__init__(name="bench.poll main")
        self.argv = list(argv)
        self.status: int | None = None

    def run(self) -> None:
        self.status = main(self.argv)


def run_main(argv: Sequence[str]) -> int | None:
    thread = MainThread(argv)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive()
    return thread.status


async def run_main_async(argv: Sequence[str]) -> int | None:
    """Like run_main, but keeps the test's event loop running (for a server in it)."""
    thread = MainThread(argv)
    thread.start()
    for _ in range(6000):
        if not thread.is_alive():
            break
        await asyncio.sleep(0.01)
    thread.join(timeout=1)
    assert not thread.is_alive()
    return thread.status


def check_json_result(data: dict[str, object], *, polls: int, in_process: bool) -> None:
    assert data["device"] == "e3dc"
    assert data["target"] == ("in-process" if in_process else "external")
    assert data["host"] == "127.0.0.1"
    assert data["unit_id"] == 1
    assert data["polls"] == polls
    assert data["cpu_includes_simulator"] is in_process
    requests = data["requests_per_poll"]
    assert isinstance(requests, dict)
    # The E3DC driver reads everything in one request.
    assert requests["client"] == {"min": 1, "max": 1, "mean": 1.0}
    if in_process:
        assert requests["server"] == {"min": 1, "max": 1, "mean": 1.0}
    else:
        assert requests["server"] is None
    for key in ("duration_ms", "cpu_ms"):
        stats = data[key]
        assert isinstance(stats, dict)
        assert set(stats) == {"median", "p95", "max", "mean"}
        assert 0 <= stats["median"] <= stats["p95"] <= stats["max"]
    environment = data["environment"]
    assert isinstance(environment, dict)
    assert {"python", "pymodbus", "cpus"} <= set(environment)


def test_markdown_output_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main(["--device", "e3dc", "--polls", "5"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("### bench.poll: E3DC S10 (e3dc)")
    assert "in-process simulator on 127.0.0.1:" in out
    assert "includes the in-process simulator" in out
    assert "| Measure | Value |" in out
    rows = {
        cells[1].strip(): cells[2].strip()
        for line in out.splitlines()
        if line.startswith("| ") and (cells := line.split("|"))
    }
    assert rows["Modbus requests per poll (driver)"] == "1"
    assert rows["Modbus requests per poll (simulator)"] == "1"
    for measure in (
        "Poll duration, median",
        "Poll duration, p95",
        "Poll duration, max",
        "CPU time per poll, median",
        "CPU time per poll, mean",
    ):
        assert rows[measure].endswith(" ms")


def test_json_output_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main(["--device", "e3dc", "--polls", "5", "--interval", "0.01", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    check_json_result(data, polls=5, in_process=True)
    assert data["interval_s"] == 0.01


async def test_run_in_event_loop() -> None:
    """The bench cleans up after itself (the harness fails on lingering tasks)."""
    result = await run(Options(device="e3dc", polls=5, warmup=0))
    assert result.in_process
    assert result.polls == 5
    assert result.client_requests.min == result.client_requests.max == 1
    assert result.server_requests is not None
    assert result.server_requests.min == result.server_requests.max == 1


async def test_external_simulator(capsys: pytest.CaptureFixture[str]) -> None:
    async with ModbusTcpServer(E3dcDevice(SiteModel.scenario("constant"))) as server:
        status = await run_main_async(
            ["--device=e3dc", "--polls=5", "--host=127.0.0.1", f"--port={server.port}", "--json"]
        )
        requests_seen = server.faults.requests_total
    assert status == 0
    data = json.loads(capsys.readouterr().out)
    check_json_result(data, polls=5, in_process=False)
    assert data["port"] == server.port
    # identify + 3 warm-up polls + 5 measured polls, one request each
    assert requests_seen == 1 + 3 + 5


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_device_fails_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--device", "e3dc", "--polls", "1", "--host", "127.0.0.1", "--port", str(free_port())]
    assert run_main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "bench.poll: cannot connect" in captured.err


def test_command_line_defaults() -> None:
    options, as_json = parse_command_line(["--device", "e3dc"])
    assert options == Options(device="e3dc")
    assert options.in_process
    assert not as_json
    options, _ = parse_command_line(["--device", "e3dc", "--external"])
    assert (options.host, options.port) == simulator_endpoint("e3dc") == ("127.0.0.1", 5020)
    options, _ = parse_command_line(["--device", "e3dc", "--port", "1502", "--unit-id", "3"])
    assert (options.host, options.port, options.unit_id) == ("127.0.0.1", 1502, 3)
    for bad in (["--polls", "0"], ["--interval", "-1"], ["--device", "nope"], ["--port", "0"]):
        with pytest.raises(SystemExit):
            parse_command_line(["--device", "e3dc", *bad])


def test_counters_must_agree() -> None:
    device = DEVICES["e3dc"]
    options = Options(device="e3dc")
    samples = [PollSample(0.001, 0.001, 1, 1), PollSample(0.001, 0.001, 1, 2)]
    with pytest.raises(BenchError, match="poll 1"):
        summarise(options, device, samples, host="h", port=1, unit_id=1, connect_identify_s=0.1)


def test_no_home_assistant_import() -> None:
    """The bench loads the drivers without the integration package (and Home Assistant)."""
    code = (
        "import sys, bench.poll; "
        "sys.exit('homeassistant' in sys.modules or 'homeassistant.core' in sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=60)
