"""decompress_stream under attack (rows D1-D8 of docs in SECURITY.md): never write outside
the allowlist, never hang, never run away. Every input is small and generated here."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import sqlite3
import zlib
from pathlib import Path
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError

from custom_components.solar_wallbox import services, streamlog
from custom_components.solar_wallbox.const import DOMAIN, SERVICE_DECOMPRESS_STREAM

from ..lib.test_streamlog import gzip_log, pac_lines, write
from .test_decompress_service import allowed as allowed  # noqa: PLC0414  (the fixture)
from .test_decompress_service import call


def _many_lines(count: int, line: bytes = b'{"u":1}\n') -> bytes:
    """A small gzip stream of ``count`` short lines (a bomb of lines)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = line * 10_000
    out = bytearray()
    for _ in range(count // 10_000):
        out += compressor.compress(block)
    out += compressor.compress(line * (count % 10_000))
    out += compressor.flush(zlib.Z_SYNC_FLUSH)
    return bytes(out)


def _partials(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.name.endswith(".partial")]


async def _wait_for(predicate: Any, seconds: float = 10.0) -> None:
    async with asyncio.timeout(seconds):
        while not predicate():
            await asyncio.sleep(0.02)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    directory = tmp_path / "outside"
    directory.mkdir()
    return directory


# D1 ------------------------------------------------------------------------------------


async def test_d1_sqlite_output_as_a_dangling_link_to_outside(
    hass: HomeAssistant, allowed: Path, outside: Path
) -> None:
    source = write(allowed / "a.json.gz", gzip_log(pac_lines(3)))
    (allowed / "db.sqlite").symlink_to(outside / "created.sqlite")  # does not exist yet
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, path=str(source), sqlite=str(allowed / "db.sqlite"))
    assert err.value.translation_key == "path_not_allowed"
    assert list(outside.iterdir()) == []


def test_d1_database_is_opened_without_following_links(tmp_path: Path, outside: Path) -> None:
    """Also when the link appears after the check: the importer refuses it itself."""
    (tmp_path / "db.sqlite").symlink_to(outside / "created.sqlite")
    with pytest.raises(streamlog.UnsafePath):
        streamlog.SqliteImporter(tmp_path / "db.sqlite")
    assert list(outside.iterdir()) == []


# D2 ------------------------------------------------------------------------------------


async def test_d2_output_folder_swapped_for_a_link_while_decoding(
    hass: HomeAssistant, allowed: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = write(allowed / "in" / "a.json.gz", gzip_log(pac_lines(5)))
    write(allowed / "in" / "b.json.gz", gzip_log(pac_lines(5)))
    out = allowed / "out"
    out.mkdir()
    original = streamlog.decompress_file

    def swap_after_the_first(source: Path, *args: Any, **kwargs: Any) -> Any:
        result = original(source, *args, **kwargs)
        if source == first:  # the paths were checked before the run: now swap the folder
            out.rename(allowed / "out.old")
            out.symlink_to(outside, target_is_directory=True)
        return result

    monkeypatch.setattr(streamlog, "decompress_file", swap_after_the_first)
    results = await call(hass, path=str(allowed / "in"), output=f"{out}/")
    assert results[0]["error"] is None
    assert results[1]["error"] == "refused: a symbolic link is on the way"
    assert list(outside.iterdir()) == []
    assert (allowed / "out.old" / "a.json").exists()


# D3 ------------------------------------------------------------------------------------


async def test_d3_a_fifo_named_gz_is_refused_at_once(hass: HomeAssistant, allowed: Path) -> None:
    fifo = allowed / "pipe.json.gz"
    os.mkfifo(fifo)
    async with asyncio.timeout(5):
        with pytest.raises(ServiceValidationError) as err:
            await call(hass, path=str(fifo))
    assert err.value.translation_key == "not_regular_file"


def test_d3_a_fifo_swapped_in_after_the_check_never_blocks(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.json.gz"
    os.mkfifo(fifo)
    result = streamlog.decompress_file(fifo, tmp_path / "pipe.json")  # returns at once
    assert result.error == "cannot read: not a regular file"
    assert not (tmp_path / "pipe.json").exists()


# D4 ------------------------------------------------------------------------------------


async def test_d4_output_limit_keeps_complete_lines(hass: HomeAssistant, allowed: Path) -> None:
    source = write(allowed / "bomb.json.gz", _many_lines(600_000))  # 4.8 MB from ~10 kB
    assert source.stat().st_size < 20_000
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, path=str(source), max_output=1)
    assert err.value.translation_key == "limit_max_output"
    assert err.value.translation_placeholders["path"] == str(source)
    kept = (allowed / "bomb.json").read_bytes()
    assert 900_000 < len(kept) <= 1_000_000
    assert kept.endswith(b"\n")  # what is complete
    assert not _partials(allowed)


async def test_d4_sqlite_growth_counts_toward_the_output(
    hass: HomeAssistant, allowed: Path
) -> None:
    source = write(allowed / "p.json.gz", gzip_log(pac_lines(20_000), flush_every=1000))
    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass,
            path=str(source),
            sqlite=str(allowed / "db.sqlite"),
            format="ndjson",
            max_output=3,
        )
    assert err.value.translation_key == "limit_max_output"
    size = (allowed / "db.sqlite").stat().st_size + (allowed / "p.json").stat().st_size
    assert size < 3_000_000 + 2_500_000  # one SQLite page cache of slack at most
    with contextlib.closing(sqlite3.connect(allowed / "db.sqlite")) as db:
        rows = db.execute("SELECT count(*) FROM pac2200").fetchone()[0]
    assert 0 < rows < 20_000  # what was complete was committed


async def test_d4_time_limit(hass: HomeAssistant, allowed: Path) -> None:
    source = write(allowed / "slow.json.gz", _many_lines(3_000_000))
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, path=str(source), max_seconds=0.2)
    assert err.value.translation_key == "limit_max_seconds"
    assert not _partials(allowed)


async def test_d4_line_limit_is_exact(hass: HomeAssistant, allowed: Path) -> None:
    write(allowed / "l.json.gz", gzip_log(pac_lines(5000), flush_every=5000))
    write(allowed / "m.json.gz", gzip_log(pac_lines(5)))
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, path=str(allowed), output=f"{allowed}/out/", max_lines=1234)
    assert err.value.translation_key == "limit_max_lines"
    assert err.value.translation_placeholders["skipped"] == "1"  # m.json.gz not decoded
    assert (allowed / "out" / "l.json").read_bytes() == b"".join(pac_lines(5000)[:1234])
    assert not (allowed / "out" / "m.json").exists()


async def test_d4_free_disk_reserve(
    hass: HomeAssistant, allowed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk cannot be made here: the free space is reported as 1 MB."""
    monkeypatch.setattr(streamlog.OutputFile, "free_bytes", lambda self: 1_000_000)
    source = write(allowed / "a.json.gz", gzip_log(pac_lines(10)))
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, path=str(source))
    assert err.value.translation_key == "limit_disk_reserve"


def test_d4_the_automatic_output_limit() -> None:
    limits = streamlog.Limits()
    assert limits.output_limit(16_000) == 64 * 2**20  # at least 64 MiB
    assert limits.output_limit(1_000_000) == 200_000_000  # 200 × the input
    assert limits.output_limit(10**9) == 2**30  # at most 1 GiB
    assert streamlog.Limits(max_output=5).output_limit(10**9) == 5
    # The action's defaults are the decoder's.
    assert services.DEFAULT_MAX_SECONDS == streamlog.DEFAULT_MAX_SECONDS
    assert services.DEFAULT_MAX_LINES == streamlog.DEFAULT_MAX_LINES


# D5 ------------------------------------------------------------------------------------


async def test_d5_a_cancelled_call_stops_and_leaves_nothing(
    hass: HomeAssistant, allowed: Path
) -> None:
    source = write(allowed / "slow.json.gz", _many_lines(20_000_000))  # ~40 s of decoding
    task = hass.async_create_task(
        hass.services.async_call(
            DOMAIN,
            SERVICE_DECOMPRESS_STREAM,
            {"path": str(source), "max_output": 10_000},
            blocking=True,
            return_response=True,
        )
    )
    await _wait_for(lambda: _partials(allowed))  # decoding has begun
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await _wait_for(lambda: not _partials(allowed), seconds=5)  # it stopped soon
    await asyncio.sleep(0.2)
    assert not (allowed / "slow.json").exists()


# D6 ------------------------------------------------------------------------------------


async def test_d6_two_calls_cannot_both_write_one_output(
    hass: HomeAssistant, allowed: Path
) -> None:
    first = write(allowed / "a.json.gz", gzip_log(pac_lines(3000), flush_every=500))
    second = write(allowed / "b.json.gz", gzip_log(pac_lines(2000, start=1), flush_every=500))
    target = str(allowed / "same.json")
    outcomes = await asyncio.gather(
        call(hass, path=str(first), output=target),
        call(hass, path=str(second), output=target),
        return_exceptions=True,
    )
    succeeded = [o for o in outcomes if isinstance(o, list) and o[0]["error"] is None]
    assert len(succeeded) == 1
    for outcome in outcomes:
        if isinstance(outcome, ServiceValidationError):
            assert outcome.translation_key == "output_exists"
        elif outcome is not succeeded[0]:
            assert outcome[0]["error"] == "output exists"  # type: ignore[index]
    written = (allowed / "same.json").read_bytes()
    assert written in (b"".join(pac_lines(3000)), b"".join(pac_lines(2000, start=1)))
    assert not _partials(allowed)


@pytest.mark.parametrize("hard_links", [True, False])
def test_d6_the_output_is_claimed_atomically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hard_links: bool
) -> None:
    """Of two outputs for one name, the second is refused. Without hard links (FAT, some
    shares; not to be had here, so os.link fails as it does there) the name is claimed."""
    if not hard_links:

        def no_links(*args: Any, **kwargs: Any) -> None:
            raise OSError(errno.EPERM, "Operation not permitted")

        monkeypatch.setattr(streamlog.os, "link", no_links)
    target = tmp_path / "t.json"
    first, second = streamlog.OutputFile(target), streamlog.OutputFile(target)
    first.file.write(b"one\n")
    second.file.write(b"two\n")
    first.commit(overwrite=False)
    with pytest.raises(streamlog.OutputExists):
        second.commit(overwrite=False)
    assert target.read_bytes() == b"one\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.json"]


# D7 ------------------------------------------------------------------------------------


async def test_d7_file_names_cannot_forge_log_lines(
    hass: HomeAssistant, allowed: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = write(allowed / "x\nERROR forged line.json.gz", b"not gzip at all")
    with caplog.at_level(logging.INFO):
        await call(hass, path=str(source))
    ours = [r.getMessage() for r in caplog.records if r.name.startswith(streamlog.__name__)]
    assert ours
    assert all("\n" not in message for message in ours)
    assert any("x\\nERROR forged line" in message for message in ours)


async def test_d7_and_error_messages(hass: HomeAssistant, allowed: Path) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, path=str(allowed / "missing\r\nINFO forged.json.gz"))
    assert "\n" not in err.value.translation_placeholders["path"]


# D8 ------------------------------------------------------------------------------------


def test_d8_cli_two_inputs_of_one_name_into_one_folder(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    a = write(tmp_path / "one" / "log.json.gz", gzip_log(pac_lines(3)))
    b = write(tmp_path / "two" / "log.json.gz", gzip_log(pac_lines(4)))
    out = tmp_path / "out"
    code = streamlog.main(["decompress", str(a), str(b), "-o", str(out), "--overwrite", "-q"])
    assert code == 1
    assert "would be written twice" in caplog.text
    assert not out.exists()  # nothing written, nothing lost


def test_d8_cli_output_equal_to_the_database(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = write(tmp_path / "a.json.gz", gzip_log(pac_lines(3)))
    database = tmp_path / "db.sqlite"
    assert streamlog.main(["decompress", str(source), "--sqlite", str(database), "-q"]) == 0
    before = database.read_bytes()
    argv = ["decompress", str(source), "--sqlite", str(database), "-o", str(database)]
    assert streamlog.main([*argv, "--overwrite", "-q"]) == 1
    assert "the database" in caplog.text
    assert database.read_bytes() == before


def test_d8_cli_overlong_output_name(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    source = write(tmp_path / "a.json.gz", gzip_log(pac_lines(3)))
    long = tmp_path / ("x" * 300)
    assert streamlog.main(["decompress", str(source), "-o", str(long), "-q"]) == 1
    assert "longer than 255 bytes" in caplog.text
    assert "xxxxxxxx" in caplog.text  # the output is named, not the input
    assert "a.json.gz" not in caplog.text


async def test_overlong_output_name_in_the_action(hass: HomeAssistant, allowed: Path) -> None:
    source = write(allowed / "a.json.gz", gzip_log(pac_lines(3)))
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, path=str(source), output=str(allowed / ("y" * 300)))
    assert err.value.translation_key == "invalid_path"
    assert "yyyy" in err.value.translation_placeholders["path"]


# Also ----------------------------------------------------------------------------------


async def test_a_name_with_glob_characters_is_taken_literally(
    hass: HomeAssistant, allowed: Path
) -> None:
    source = write(allowed / "log[1].json.gz", gzip_log(pac_lines(2)))
    write(allowed / "log1.json.gz", gzip_log(pac_lines(5)))  # what the glob would match
    [result] = await call(hass, path=str(source))
    assert result["lines"] == 2
    assert (allowed / "log[1].json").exists()


def test_a_symlinked_directory_on_the_way_is_refused_when_opened(
    tmp_path: Path, outside: Path
) -> None:
    (tmp_path / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(streamlog.UnsafePath):
        streamlog.OutputFile(tmp_path / "link" / "a.json")
    with pytest.raises(streamlog.UnsafePath):
        streamlog.open_input(tmp_path / "link" / "a.json.gz")
    assert list(outside.iterdir()) == []
