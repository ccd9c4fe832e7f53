"""The request log (--request-log): its writer, its lines, and a live mock writing it."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from mock_llm import wire
from mock_llm.config import parse_config
from mock_llm.recording import (
    FLUSH_BYTES,
    HEADER_ROW,
    Call,
    RequestLog,
    create,
    csv_field,
    fault_of,
)
from mock_llm.service import Drop, Reply, Stall, Stream
from tests.support import REPO_ROOT, logged_calls, mock_llm, request_log

HEADERS = {"Authorization": "Bearer sk-mock-local"}
BODY = {"model": "mock-gpt", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3}
LINE = b"id,1.000000,,2.000000,200,0,3,\n"


# The writer


def test_create_starts_the_file_anew_with_its_header(tmp_path: Path) -> None:
    path = tmp_path / "calls.csv"
    path.write_bytes(b"an old run\n")
    create(str(path))
    assert path.read_bytes() == HEADER_ROW


def test_lines_wait_at_most_a_second_then_reach_the_file(tmp_path: Path) -> None:
    path = tmp_path / "calls.csv"
    create(str(path))

    async def write_and_watch() -> tuple[bytes, bytes]:
        log = RequestLog(str(path))
        log.write(LINE)
        log.write(LINE)
        soon = path.read_bytes()
        await asyncio.sleep(1.2)
        later = path.read_bytes()
        log.close()
        return soon, later

    soon, later = asyncio.run(write_and_watch())
    assert soon == HEADER_ROW  # buffered...
    assert later == HEADER_ROW + LINE * 2  # ...and written within the second


def test_a_full_buffer_is_written_at_once_and_the_rest_at_close(tmp_path: Path) -> None:
    path = tmp_path / "calls.csv"
    create(str(path))
    count = FLUSH_BYTES // len(LINE) + 1

    async def write() -> int:
        log = RequestLog(str(path))
        for _ in range(count + 5):
            log.write(LINE)
        size = path.stat().st_size
        log.close()
        return size

    size = asyncio.run(write())
    assert size == len(HEADER_ROW) + count * len(LINE)  # flushed past 64 KiB, no sooner
    assert path.read_bytes() == HEADER_ROW + LINE * (count + 5)  # the rest at close


def test_writers_of_several_workers_append_whole_lines(tmp_path: Path) -> None:
    # Each worker has a descriptor of its own, opened with O_APPEND: no line of one
    # overwrites or splits a line of another.
    path = tmp_path / "calls.csv"
    create(str(path))

    async def interleave() -> None:
        logs = [RequestLog(str(path)) for _ in range(3)]
        for i in range(300):
            logs[i % 3].write(b"worker%d,%d\n" % (i % 3, i))
            if i % 7 == 0:
                logs[i % 3].flush()
        for log in logs:
            log.close()

    asyncio.run(interleave())
    lines = path.read_bytes().splitlines(keepends=True)
    assert lines[0] == HEADER_ROW
    assert sorted(lines[1:]) == sorted(b"worker%d,%d\n" % (i % 3, i) for i in range(300))


def test_a_failing_disk_is_reported_once_and_serving_goes_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async def write() -> None:
        log = RequestLog("/dev/full")  # every write fails with ENOSPC
        log.write(LINE)
        log.flush()
        log.write(LINE)
        log.close()

    asyncio.run(write())
    assert capsys.readouterr().err.count("mock_llm: request log:") == 1


# The lines


def test_csv_field_quotes_only_what_needs_it() -> None:
    assert csv_field(b"abc-123") == b"abc-123"
    assert csv_field(b"a,b") == b'"a,b"'
    assert csv_field(b'say "hi"') == b'"say ""hi"""'


def test_call_line_columns() -> None:
    call = Call(b"rid", 1700000000.25)
    call.first, call.status, call.stream, call.tokens = 1700000000.5, b"200", True, 4
    expected = b"rid,1700000000.250000,1700000000.500000,1700000000.750000,200,1,4,\n"
    assert call.line(1700000000.75) == expected
    # No first token without a streamed one; a drop or a stall replaces the status.
    call.tokens, call.status, call.fault = 0, b"200", b"disconnect"
    assert call.line(2.0) == b"rid,1700000000.250000,,2.000000,disconnect,1,0,disconnect\n"
    plain = Call(b"", 1.0)
    plain.status, plain.tokens = b"429", 0
    plain.fault = b"429"
    assert plain.line(1.5) == b",1.000000,,1.500000,429,0,0,429\n"


def stream(cut: int = -1, malformed: int = -1) -> Stream:
    writer = wire.ChunkWriter("id", 0, "mock-gpt", include_usage=False)
    return Stream(writer, 0.0, 0.0, 4, b"", cut, malformed)


def test_fault_of_each_action() -> None:
    assert fault_of(Reply(200, b"{}", counted=True)) == b""
    assert fault_of(Reply(200, b'{"id": "x", "choices": [', counted=True)) == b"malformed"
    assert fault_of(Reply(429, b"{}", counted=True)) == b"429"
    assert fault_of(Reply(401, b"{}")) == b""  # refused before service: not a fault
    assert fault_of(stream()) == b""
    assert fault_of(stream(cut=2)) == b"disconnect"
    assert fault_of(stream(malformed=2)) == b"malformed"
    assert fault_of(Drop(0.0)) == b"disconnect"
    assert fault_of(Stall()) == b"stall"


def test_option_and_its_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_config([]).request_log == ""
    assert parse_config(["--request-log", "calls.csv"]).request_log == "calls.csv"
    monkeypatch.setenv("MOCK_LLM_REQUEST_LOG", "from-env.csv")
    assert parse_config([]).request_log == "from-env.csv"
    assert "request_log" not in parse_config([]).public()


# A live mock


@pytest.mark.process  # a live mock
def test_every_kind_of_call_is_logged_as_it_ends(tmp_path: Path) -> None:
    path = tmp_path / "calls.csv"
    flags = ("--ttft-ms", "20", "--itl-ms", "5", "--output-tokens", "5")
    with (
        mock_llm(*flags, "--request-log", str(path)) as base,
        httpx.Client(base_url=base, headers=HEADERS, timeout=5) as client,
    ):

        def call(rid: str | None, fault: str | None = None, **body: object) -> None:
            headers = {"X-Request-ID": rid} if rid else {}
            if fault:
                headers["X-Mock-Error"] = fault
            with contextlib.suppress(httpx.HTTPError):  # the faults that drop or stall
                client.post("/chat/completions", json={**BODY, **body}, headers=headers)

        started = time.time()
        call("plain")
        call("stream", stream=True, max_tokens=4)
        call('comma,"quote"')
        call("rate", "429")
        call("malformed", "malformed", stream=True, max_tokens=4)
        call("drop", "disconnect")
        call("cut", "disconnect", stream=True, max_tokens=4)
        client.timeout = httpx.Timeout(0.3)
        call("stall", "stall", stream=True)
        client.timeout = httpx.Timeout(5)
        call("bad", max_tokens="many")
        client.get("/health")
        call(None)
        ids = ["plain", "stream", 'comma,"quote"', "rate", "malformed", "drop", "cut", "stall"]
        rows = logged_calls(path, [*ids, "bad"])  # written while the mock runs
        ended = time.time()

    def columns(rid: str) -> tuple[str, ...]:
        row = rows[rid]
        return row["status"], row["stream"], row["tokens"], row["fault"]

    assert columns("plain") == ("200", "0", "3", "")
    assert columns("stream") == ("200", "1", "4", "")
    assert columns('comma,"quote"') == ("200", "0", "3", "")
    assert columns("rate") == ("429", "0", "0", "429")
    assert columns("malformed") == ("200", "1", "2", "malformed")
    assert columns("drop") == ("disconnect", "0", "0", "disconnect")
    assert columns("cut") == ("disconnect", "1", "2", "disconnect")
    assert columns("stall") == ("stall", "1", "0", "stall")
    assert columns("bad") == ("400", "0", "0", "")
    for rid in [*ids, "bad"]:
        row = rows[rid]
        assert started <= float(row["received_at"]) <= float(row["ended_at"]) <= ended, row
        has_first = rid in {"stream", "malformed", "cut"}
        assert (row["first_token_at"] != "") == has_first, row
    first = float(rows["stream"]["first_token_at"]) - float(rows["stream"]["received_at"])
    assert 0.018 <= first < 1.0  # the 20 ms TTFT, not before
    plain = float(rows["plain"]["ended_at"]) - float(rows["plain"]["received_at"])
    assert 0.028 <= plain < 1.0  # 20 ms + 2 x 5 ms
    stall = float(rows["stall"]["ended_at"]) - float(rows["stall"]["received_at"])
    assert 0.25 <= stall < 2.0  # until the client gave up after 0.3 s

    everything = request_log(path)  # once the mock has stopped
    assert len(everything) == 10  # the nine and the one without an ID; /health is no call
    assert [row["request_id"] for row in everything].count("") == 1


@pytest.mark.process  # a live mock with two workers
def test_workers_share_one_file_with_one_header(tmp_path: Path) -> None:
    path = tmp_path / "calls.csv"
    flags = ("--ttft-ms", "5", "--itl-ms", "1", "--workers", "2")
    with (
        mock_llm(*flags, env={"MOCK_LLM_REQUEST_LOG": str(path)}) as base,
        httpx.Client(base_url=base, headers=HEADERS, timeout=5) as client,
        ThreadPoolExecutor(8) as pool,
    ):
        ids = [f"call-{i}" for i in range(200)]

        def call(rid: str) -> int:
            body = {**BODY, "stream": rid.endswith(("1", "3"))}
            response = client.post("/chat/completions", json=body, headers={"X-Request-ID": rid})
            return response.status_code

        assert set(pool.map(call, ids)) == {200}
    rows = request_log(path)  # the header row once, checked by request_log
    assert path.read_bytes().count(HEADER_ROW) == 1
    assert sorted(row["request_id"] for row in rows) == sorted(ids)
    assert all(row["status"] == "200" for row in rows)


@pytest.mark.process  # a subprocess
def test_unwritable_path_exits_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mock_llm", "--request-log", str(tmp_path / "no" / "calls.csv")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "cannot write" in done.stderr
