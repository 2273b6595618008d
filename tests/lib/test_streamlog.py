"""The log decoder: sample files, damaged streams, memory bound, SQLite import, CLI."""

from __future__ import annotations

import ast
import contextlib
import gzip
import json
import logging
import runpy
import sqlite3
import subprocess
import sys
import tracemalloc
import warnings
import zlib
from pathlib import Path
from typing import Any

import pytest

from custom_components.solar_wallbox import streamlog
from custom_components.solar_wallbox.logformat import PAC2200_FIELDS, RCM_BANDS
from custom_components.solar_wallbox.streamlog import (
    FileResult,
    decompress_file,
    decompress_files,
)

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "custom_components" / "solar_wallbox"
STREAMLOG = PACKAGE / "streamlog.py"
SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "data"
SYNC_MARKER = b"\x00\x00\xff\xff"


# --- generated logs in the original format ---------------------------------------------


def pac_line(update: int) -> bytes:
    """A PAC2200 line with the original's field names and order."""
    values: dict[str, Any] = {"update": update}
    for index, field in enumerate(PAC2200_FIELDS[1:]):
        values[field] = round(230.0 + index + (update % 97) / 7, 6)
    return json.dumps(values, separators=(",", ":")).encode() + b"\n"


def rcm_line(update: int, alarm: bool = False) -> bytes:
    """A residual-current line with the original's layout (objects keyed by band)."""
    flags = {band: band == "dc" and alarm for band in RCM_BANDS}
    record = {
        "update": update,
        "validity": 1,
        "f_i": {band: i for i, band in enumerate(RCM_BANDS)},
        "raised_alarm_a": flags,
        "raised_alarm_b": dict.fromkeys(RCM_BANDS, False),
        "thresholds_a": dict.fromkeys(RCM_BANDS, 30),
        "activated_alarms_a": dict.fromkeys(RCM_BANDS, True),
        "thresholds_b": dict.fromkeys(RCM_BANDS, 300),
        "activated_alarms_b": dict.fromkeys(RCM_BANDS, True),
        "alarm_delay": 10,
    }
    return json.dumps(record, separators=(",", ":")).encode() + b"\n"


def gzip_log(lines: list[bytes], *, flush_every: int = 10, trailer: bool = False) -> bytes:
    """One gzip member of ``lines``, sync-flushed every ``flush_every`` lines."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = bytearray()
    for index, line in enumerate(lines, 1):
        out += compressor.compress(line)
        if index % flush_every == 0:
            out += compressor.flush(zlib.Z_SYNC_FLUSH)
    out += compressor.flush(zlib.Z_FINISH if trailer else zlib.Z_SYNC_FLUSH)
    return bytes(out)


def pac_lines(count: int, start: int = 1_700_000_000) -> list[bytes]:
    return [pac_line(start + i) for i in range(count)]


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def decode(source: Path, **kwargs: Any) -> tuple[FileResult, bytes]:
    target = source.parent / "out" / streamlog.default_output(source).name
    target.parent.mkdir(exist_ok=True)
    result = decompress_file(source, target, overwrite=True, **kwargs)
    return result, target.read_bytes() if target.exists() else b""


# --- the shared sample files -----------------------------------------------------------


def _manifest() -> dict[str, dict[str, Any]]:
    path = SAMPLES / "manifest.json"
    if not path.exists():
        return {}
    data: dict[str, dict[str, Any]] = json.loads(path.read_text())
    return data


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="shared/data is not beside the repository")
@pytest.mark.parametrize("name", sorted(_manifest()))
def test_sample_file_decodes_as_the_manifest_says(name: str, tmp_path: Path) -> None:
    expected = _manifest()[name]
    database = tmp_path / "logs.sqlite"
    [result] = decompress_files(
        [(SAMPLES / name, tmp_path / streamlog.default_output(Path(name)).name)],
        sqlite=database,
    )
    if "error" in expected:
        assert result.error == expected["error"]
        assert result.output is None
        assert not list(tmp_path.glob("*.json"))
        return
    if expected.get("corrupt"):  # the output is kept, the damage reported
        assert (
            result.error == f"corrupt: {result.invalid_lines} of {result.lines} lines are not JSON"
        )
    else:
        assert result.error is None
    output = Path(str(result.output)).read_bytes()
    assert len(output) == result.bytes_out
    lines = output.split(b"\n")
    assert result.lines == len(lines) - 1
    assert result.partial_tail_bytes == len(lines[-1])
    if "complete_lines" in expected:
        assert result.lines == expected["complete_lines"]
    if "complete_lines_at_least" in expected:
        assert result.lines >= expected["complete_lines_at_least"]
    if "truncated" in expected:
        assert result.truncated is expected["truncated"]
    assert result.members == expected.get("members", 1)
    if expected.get("corrupt"):
        assert result.invalid_lines > 0
        # The lines before the damage are intact, in order.
        first_bad = next(i for i, line in enumerate(lines) if not _is_json(line))
        assert first_bad > 0
        assert [json.loads(line)["update"] for line in lines[:first_bad]] == list(
            range(1_700_100_000, 1_700_100_000 + first_bad)
        )
    else:
        assert result.invalid_lines == 0
        # Exactly what a reference decoder gives (no stale bytes anywhere).
        assert output == _reference(SAMPLES / name)
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        rows = sum(
            db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("pac2200", "rcm")
        )
        assert rows == result.sqlite_rows == result.lines - result.invalid_lines
        if "alarm_lines" in expected:
            alarms = db.execute("SELECT COUNT(*) FROM rcm WHERE raised_alarm_a_dc = 1").fetchone()
            assert alarms[0] == expected["alarm_lines"]


def _is_json(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def _reference(path: Path) -> bytes:
    """Decode every member with plain zlib (the whole file in memory: small files only)."""
    data, out = path.read_bytes(), b""
    while data:
        member = zlib.decompressobj(31)
        out += member.decompress(data)
        data = member.unused_data if member.eof else b""
    return out


# --- generated streams -----------------------------------------------------------------


def test_truncated_stream_is_not_an_error(tmp_path: Path) -> None:
    lines = pac_lines(95)
    result, output = decode(write(tmp_path / "pac2200log-1.json.gz", gzip_log(lines)))
    assert result.error is None
    assert result.truncated is True
    assert result.lines == 95
    assert output == b"".join(lines)
    assert result.members == 1


def test_complete_stream(tmp_path: Path) -> None:
    lines = pac_lines(20)
    result, output = decode(write(tmp_path / "a.json.gz", gzip_log(lines, trailer=True)))
    assert (result.error, result.truncated, result.lines) == (None, False, 20)
    assert output == gzip.decompress((tmp_path / "a.json.gz").read_bytes())


def test_every_member_is_decoded(tmp_path: Path) -> None:
    first, second, third = pac_lines(30), pac_lines(20, 1_800_000_000), pac_lines(7, 1_900_000_000)
    data = gzip_log(first, trailer=True) + gzip_log(second, trailer=True) + gzip_log(third)
    result, output = decode(write(tmp_path / "multi.json.gz", data))
    assert result.members == 3
    assert result.truncated is True
    assert output == b"".join(first + second + third)


def test_cut_mid_block_keeps_a_prefix_and_reports_the_partial_line(tmp_path: Path) -> None:
    lines = pac_lines(200)
    full = b"".join(lines)
    data = gzip_log(lines, flush_every=50)
    result, output = decode(write(tmp_path / "cut.json.gz", data[: len(data) - 300]))
    assert result.error is None
    assert result.truncated is True
    assert full.startswith(output)  # never a stale or invented byte
    assert result.lines >= 150
    assert result.partial_tail_bytes == len(output) - output.rfind(b"\n") - 1
    # ndjson drops the partial line
    ndjson, out = decode(tmp_path / "cut.json.gz", fmt="ndjson")
    assert out == b"".join(lines[: ndjson.lines])
    assert ndjson.partial_tail_bytes == result.partial_tail_bytes
    assert ndjson.bytes_out == len(out)


@pytest.mark.parametrize("chunk", [64 * 1024, 512])
def test_detected_corruption_keeps_everything_before_the_damage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(streamlog, "READ_CHUNK", chunk)
    lines = pac_lines(120)
    data = bytearray(gzip_log(lines, flush_every=40))
    # Break the empty stored block of the second sync flush: zlib must stop right there.
    second = data.index(SYNC_MARKER, data.index(SYNC_MARKER) + 4)
    data[second + 2] ^= 0x01
    result, output = decode(write(tmp_path / "broken.json.gz", bytes(data)))
    assert result.error is not None
    assert result.error.startswith("corrupt")
    assert output == b"".join(lines[:80])  # salvaged up to the damage, not a chunk earlier
    assert result.lines == 80


def test_flipped_bytes_never_crash_and_bad_lines_are_counted(tmp_path: Path) -> None:
    lines = pac_lines(300)
    data = bytearray(gzip_log(lines, flush_every=100))
    middle = len(data) // 2
    data[middle] ^= 0x55
    data[middle + 1] ^= 0x55
    result, output = decode(write(tmp_path / "flip.json.gz", bytes(data)))
    raw_lines = output.split(b"\n")[: result.lines]
    good = [line for line in raw_lines if _is_json(line)]
    assert result.invalid_lines == len(raw_lines) - len(good)
    assert result.ok is (result.invalid_lines == 0 and result.error is None)
    assert raw_lines[0] == lines[0].rstrip(b"\n")
    ndjson, out = decode(tmp_path / "flip.json.gz", fmt="ndjson")
    assert ndjson.invalid_lines == result.invalid_lines
    assert out.count(b"\n") == ndjson.lines - ndjson.invalid_lines


def test_bad_files_are_reported_and_the_others_still_decoded(tmp_path: Path) -> None:
    empty = write(tmp_path / "empty.json.gz", b"")
    plain = write(tmp_path / "plain.json.gz", pac_line(1))
    one_byte = write(tmp_path / "one.json.gz", b"\x1f")
    good = write(tmp_path / "good.json.gz", gzip_log(pac_lines(5)))
    missing = tmp_path / "missing.json.gz"
    jobs = [(p, tmp_path / "out" / p.name[:-3]) for p in (empty, plain, one_byte, missing, good)]
    results = decompress_files(jobs)
    assert [r.error for r in results] == ["empty", "not gzip", "not gzip", results[3].error, None]
    assert str(results[3].error).startswith("cannot read")
    assert results[1].bytes_in == plain.stat().st_size
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good.json"]
    assert results[4].lines == 5


def test_header_only_and_trailing_data(tmp_path: Path) -> None:
    result, output = decode(write(tmp_path / "head.json.gz", b"\x1f\x8b\x08\x00"))
    assert (result.error, result.truncated, output) == (None, True, b"")
    lines = pac_lines(3)
    padded = gzip_log(lines, trailer=True) + b"\x00" * 700
    result, output = decode(write(tmp_path / "pad.json.gz", padded))
    assert (result.error, result.truncated, output) == (None, False, b"".join(lines))
    garbage = gzip_log(lines, trailer=True) + b"\x00\x00garbage"
    result, output = decode(write(tmp_path / "junk.json.gz", garbage))
    assert result.error == "data after gzip member 1 is not gzip"
    assert output == b"".join(lines)
    result, _ = decode(write(tmp_path / "junk2.json.gz", gzip_log(lines, trailer=True) + b"PK"))
    assert result.error == "data after gzip member 1 is not gzip"
    result, _ = decode(write(tmp_path / "junk3.json.gz", gzip_log(lines, trailer=True) + b"\x1f"))
    assert result.error == "data after gzip member 1 is not gzip"


def test_decoder_fed_byte_by_byte() -> None:
    lines = pac_lines(4)
    data = gzip_log(lines[:2], trailer=True) + gzip_log(lines[2:])
    decoder = streamlog.GzipStreamDecoder()
    out = b"".join(piece for i in range(len(data)) for piece in decoder.feed(data[i : i + 1]))
    decoder.finish()
    assert out == b"".join(lines)
    assert (decoder.members, decoder.truncated, decoder.error) == (2, True, None)
    empty = streamlog.GzipStreamDecoder()
    empty.finish()
    assert empty.error == "empty"


def test_overlong_and_non_object_lines_are_invalid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(streamlog, "MAX_LINE_BYTES", 100)
    lines = [b'{"a":1}\n', b"x" * 150 + b"\n", b"[1,2]\n", b"[" * 60 + b"\n", b'{"b":2}\n']
    lines += [b"y" * 120 + b"\n", b'{"c":3}\n', b"z" * 90]
    source = write(tmp_path / "long.json.gz", gzip_log(lines, flush_every=1))
    result, output = decode(source, fmt="ndjson")
    assert (result.lines, result.invalid_lines) == (7, 4)
    assert output == b'{"a":1}\n{"b":2}\n{"c":3}\n'
    assert result.partial_tail_bytes == 90
    # A partial line longer than the cap is counted, never kept in memory.
    source = write(tmp_path / "tail.json.gz", gzip_log([b'{"a":1}\n', b"q" * 500], flush_every=1))
    result, _ = decode(source, fmt="ndjson")
    assert (result.lines, result.partial_tail_bytes) == (1, 500)
    processor = streamlog.LineProcessor("raw", None)
    for piece in (b"ab", b"c\n{}", b"\n", b"xyz" * 20, b"xyz" * 20, b"\n", b"w" * 60, b"w" * 60):
        processor.feed(piece)
    assert (processor.lines, processor.invalid_lines, processor.tail_bytes) == (3, 2, 120)
    with pytest.raises(ValueError, match="unknown format"):
        streamlog.LineProcessor("csv", None)


def test_large_stream_uses_bounded_memory(tmp_path: Path) -> None:
    """64 MB of decoded lines in constant memory (chunks, output steps, line splitting)."""
    line = json.dumps({"update": 0, "pad": "x" * 16_000}).encode() + b"\n"
    count = 4000
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
    source = tmp_path / "big.json.gz"
    with source.open("wb") as handle:
        for index in range(count):
            handle.write(compressor.compress(line))
            if index % 500 == 0:
                handle.write(compressor.flush(zlib.Z_SYNC_FLUSH))
        handle.write(compressor.flush(zlib.Z_SYNC_FLUSH))
    stream_size = count * len(line)
    for fmt in ("raw", "ndjson"):
        tracemalloc.start()
        try:
            result = decompress_file(source, tmp_path / f"big.{fmt}", fmt=fmt)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert result.bytes_out == stream_size
        assert result.lines == count
        assert peak < 4_000_000, peak  # the stream is 64 MB
        assert peak < stream_size / 16


def test_progress_is_logged_for_large_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(streamlog, "PROGRESS_MIN_BYTES", 1)
    monkeypatch.setattr(streamlog, "READ_CHUNK", 1024)
    source = write(tmp_path / "p.json.gz", gzip_log(pac_lines(400)))
    with caplog.at_level(logging.INFO, logger=streamlog.__name__):
        decode(source)
    progress = [r for r in caplog.records if r.getMessage().startswith("Decompressing")]
    assert 5 <= len(progress) <= 11
    assert progress[-1].levelno == logging.INFO


def test_write_failure_leaves_no_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = write(tmp_path / "w.json.gz", gzip_log(pac_lines(10)))

    def full(self: Any, piece: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(streamlog.LineProcessor, "feed", full)
    result = decompress_file(source, tmp_path / "w.json")
    assert result.error == "I/O error: No space left on device"
    assert result.output is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.json.gz"]


def test_existing_output_and_same_file(tmp_path: Path) -> None:
    source = write(tmp_path / "x.json.gz", gzip_log(pac_lines(3)))
    target = write(tmp_path / "x.json", b"keep")
    assert decompress_file(source, target).error == "output exists"
    assert target.read_bytes() == b"keep"
    assert decompress_file(source, target, overwrite=True).error is None
    assert target.read_bytes() == b"".join(pac_lines(3))
    assert decompress_file(source, source, overwrite=True).error == "output is the input"


def test_sqlite_import(tmp_path: Path) -> None:
    pac = write(tmp_path / "pac2200log-1.json.gz", gzip_log(pac_lines(25)))
    rcm_lines = [rcm_line(100 + i, alarm=5 <= i < 8) for i in range(12)]
    # The RCM logger of the original used the PAC2200 file name: the content decides.
    rcm = write(tmp_path / "pac2200log-2.json.gz", gzip_log([*rcm_lines, b'{"other":1}\n']))
    database = tmp_path / "db.sqlite"
    jobs = [(pac, tmp_path / "pac.json"), (rcm, tmp_path / "rcm.json")]
    results = decompress_files(jobs, sqlite=database)
    assert [r.sqlite_rows for r in results] == [25, 12]
    # Importing the same files again replaces their rows.
    results = decompress_files(jobs, sqlite=database, overwrite=True)
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        assert db.execute("SELECT COUNT(*) FROM pac2200").fetchone() == (25,)
        assert db.execute("SELECT COUNT(*) FROM rcm").fetchone() == (12,)
        columns = [row[1] for row in db.execute("PRAGMA table_info(pac2200)")]
        assert columns == ["source", "timestamp", *PAC2200_FIELDS[1:]]
        first = json.loads(pac_line(1_700_000_000))
        row = db.execute(
            "SELECT timestamp, u_l1, p_avg, i_n FROM pac2200 ORDER BY timestamp LIMIT 1"
        ).fetchone()
        assert row == (first["update"], first["u_l1"], first["p_avg"], first["i_n"])
        rcm_columns = [row[1] for row in db.execute("PRAGMA table_info(rcm)")]
        assert len(rcm_columns) == 2 + 1 + 7 * 8 + 1
        assert "activated_alarms_b_ac_gt10khz" in rcm_columns
        assert db.execute(
            "SELECT SUM(raised_alarm_a_dc), SUM(f_i_ac_50hz) FROM rcm"
        ).fetchone() == (
            3,
            24,
        )


def test_sqlite_rows_from_odd_values() -> None:
    assert streamlog.pac2200_row({"update": 5.0, "u_l1": True, "u_l2": "x", "u_l3": 1})[:4] == (
        5,
        None,
        None,
        1.0,
    )
    row = streamlog.rcm_row({"update": "x", "f_i": [1, 2], "raised_alarm_a": 3, "validity": 1.5})
    assert row[:4] == (None, None, 1, 2)
    assert row[10:18] == (None,) * 8


def test_sqlite_error_is_a_per_file_error(tmp_path: Path) -> None:
    source = write(tmp_path / "s.json.gz", gzip_log(pac_lines(3)))
    database = tmp_path / "db.sqlite"
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        db.execute("CREATE TABLE pac2200 (source TEXT, timestamp INTEGER)")
    [result] = decompress_files([(source, tmp_path / "s.json")], sqlite=database)
    assert str(result.error).startswith("sqlite:")
    assert not (tmp_path / "s.json").exists()


def test_inputs_and_outputs(tmp_path: Path) -> None:
    a = write(tmp_path / "logs" / "a.json.gz", b"")
    b = write(tmp_path / "logs" / "b.json.gz", b"")
    write(tmp_path / "logs" / "c.txt", b"")
    assert streamlog.expand_inputs(str(tmp_path / "logs")) == [a, b]
    assert streamlog.expand_inputs(str(tmp_path / "logs" / "b*.gz")) == [b]
    assert streamlog.expand_inputs(str(a)) == [a]
    assert streamlog.expand_inputs(str(tmp_path / "nothing.gz")) == []
    assert streamlog.default_output(Path("/x/y.json.gz")) == Path("/x/y.json")
    assert streamlog.default_output(Path("/x/y.bin")) == Path("/x/y.bin.decoded")
    assert streamlog.plan_outputs([a], None) == [tmp_path / "logs" / "a.json"]
    assert streamlog.plan_outputs([a], "/o/file.json") == [Path("/o/file.json")]
    assert streamlog.plan_outputs([a], "/o/") == [Path("/o/a.json")]
    assert streamlog.plan_outputs([a, b], "/o") == [Path("/o/a.json"), Path("/o/b.json")]


# --- command line ----------------------------------------------------------------------


def test_cli_to_stdout_and_exit_codes(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    lines = pac_lines(12)
    good = write(tmp_path / "g.json.gz", gzip_log(lines))
    assert streamlog.main(["decompress", str(good), "-q"]) == 0
    assert capsysbinary.readouterr().out == b"".join(lines)
    empty = write(tmp_path / "e.json.gz", b"")
    assert streamlog.main(["decompress", str(empty), str(good), "-q"]) == 1
    assert capsysbinary.readouterr().out == b"".join(lines)
    bad_line = write(tmp_path / "b.json.gz", gzip_log([b"not json\n", *lines]))
    assert streamlog.main(["decompress", str(bad_line), "--format", "ndjson", "-q"]) == 1
    assert capsysbinary.readouterr().out == b"".join(lines)


def test_cli_output_directory_and_sqlite(tmp_path: Path) -> None:
    first = write(tmp_path / "pac2200log-1.json.gz", gzip_log(pac_lines(4)))
    second = write(tmp_path / "rcmlog-2.json.gz", gzip_log([rcm_line(1)]))
    out = tmp_path / "out"
    argv = ["decompress", str(first), str(second), "-o", str(out), "--sqlite", str(tmp_path / "d")]
    assert streamlog.main(argv) == 0
    assert sorted(p.name for p in out.iterdir()) == ["pac2200log-1.json", "rcmlog-2.json"]
    assert streamlog.main(argv) == 1  # outputs exist
    assert streamlog.main([*argv, "--overwrite"]) == 0
    not_a_database = write(tmp_path / "text", b"plain text, not a database " * 100)
    assert streamlog.main([*argv[:-1], str(not_a_database), "--overwrite"]) == 1


def test_output_below_a_file_is_a_per_file_error(tmp_path: Path) -> None:
    source = write(tmp_path / "a.json.gz", gzip_log(pac_lines(2)))
    blocker = write(tmp_path / "blocker", b"")
    [result] = decompress_files([(source, blocker / "sub" / "a.json")])
    assert str(result.error).startswith("I/O error")


def _imports(path: Path) -> tuple[set[str], set[Path]]:
    """Absolute modules ``path`` imports, and the package files its relative imports load
    (a submodule and every ``__init__.py`` below the package on the way to it)."""
    absolute: set[str] = set()
    files: set[Path] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            absolute.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            absolute.add(node.module or "")
        elif isinstance(node, ast.ImportFrom):
            base = path.parent
            for _ in range(node.level - 1):
                base = base.parent
            parts = (node.module or "").split(".") if node.module else []
            for depth in range(1, len(parts) + 1):
                target = base.joinpath(*parts[:depth])
                files.add(target / "__init__.py" if target.is_dir() else target.with_suffix(".py"))
            target = base.joinpath(*parts)
            for alias in node.names:  # ``from . import name`` may name a submodule
                if (target / f"{alias.name}.py").is_file():
                    files.add(target / f"{alias.name}.py")
    return absolute, files


def _closure(start: Path) -> dict[Path, set[str]]:
    """Every package file ``start`` loads through relative imports, with its absolute imports."""
    found: dict[Path, set[str]] = {}
    todo = [start]
    while todo:
        path = todo.pop()
        if path in found:
            continue
        absolute, files = _imports(path)
        found[path] = absolute
        todo.extend(files)
    return found


def test_streamlog_needs_only_the_standard_library() -> None:
    """The decoder and what it imports of the package (the format) use only the stdlib.

    The package's own ``__init__.py`` is left out: ``python -m`` imports it too, which the
    subprocess test below checks.
    """
    _, direct = _imports(STREAMLOG)
    assert direct == {PACKAGE / "logformat.py"}, "streamlog imports only .logformat"
    closure = _closure(STREAMLOG)
    assert PACKAGE / "drivers" / "dctr_bands.py" in closure  # the walk follows the format
    for path, modules in closure.items():
        for module in modules:
            top = module.split(".")[0]
            assert top in sys.stdlib_module_names or module == "__future__", (path, module)


def test_import_walk_sees_what_the_format_imports(tmp_path: Path) -> None:
    """The walk above follows relative imports through subpackages to their absolute ones."""
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "main.py").write_text("from .fmt import x\n")
    (package / "fmt.py").write_text("import json\nfrom .sub import leaf\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "leaf.py").write_text("def f():\n    import homeassistant.core\n")
    closure = _closure(package / "main.py")
    assert closure[package / "fmt.py"] == {"json"}
    assert closure[package / "sub" / "leaf.py"] == {"homeassistant.core"}


def test_cli_as_a_module_without_home_assistant(tmp_path: Path) -> None:
    """``python -m custom_components.solar_wallbox.streamlog decompress FILE``, run from the
    directory that holds ``custom_components``, imports neither Home Assistant nor pymodbus.

    ``-X importtime`` lists on standard error every module the interpreter imports.
    """
    lines = pac_lines(3)
    source = write(tmp_path / "s.json.gz", gzip_log(lines))
    command = [sys.executable, "-X", "importtime", "-m", streamlog.__name__, "decompress"]
    completed = subprocess.run(
        [*command, str(source), "-o", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in completed.stderr.decode().splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "custom_components.solar_wallbox" in imported  # the listing is there
    top_level = {module.split(".")[0] for module in imported}
    assert top_level & {"homeassistant", "pymodbus"} == set()
    assert (tmp_path / "s.json").read_bytes() == b"".join(lines)
    assert b"3 lines, 1 gzip member(s), no gzip trailer" in completed.stderr


def test_cli_as_a_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``python -m custom_components.solar_wallbox.streamlog`` (Home Assistant installed)."""
    source = write(tmp_path / "s.json.gz", b"not gzip")
    argv = ["streamlog", "decompress", str(source), "-o", str(tmp_path / "o.json")]
    monkeypatch.setattr(sys, "argv", argv)
    # As in a fresh interpreter: the package is imported, the decoder module is not.
    monkeypatch.delitem(sys.modules, streamlog.__name__)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. runpy's "found in sys.modules" warning
        with pytest.raises(SystemExit) as done:
            runpy.run_module(streamlog.__name__, run_name="__main__")
    assert done.value.code == 1
    assert not (tmp_path / "o.json").exists()


def test_the_package_never_imports_the_decoder_at_module_level() -> None:
    """Else ``python -m ...streamlog`` would warn that it was imported twice."""
    package = STREAMLOG.parent
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.level > 0:
                names = {node.module or "", *(a.name for a in node.names)}
                assert "streamlog" not in names, path
