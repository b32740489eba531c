"""Our HTTP transport under gspread (google_http.py): retry policy, Retry-After, pacer, counts."""
from __future__ import annotations

import threading
import time
from email.utils import formatdate

import gspread
import pytest
import requests

from sheets_sync.sources.google_http import (
    GoogleTransport,
    Pacer,
    Quota,
    RetryPolicy,
    make_client,
    request_kind,
    retry_after_seconds,
)


def _response(headers: dict) -> requests.Response:
    r = requests.Response()
    r.headers.update(headers)
    return r


def test_retry_after_seconds_and_http_date():
    assert retry_after_seconds(_response({"Retry-After": "7"})) == 7.0
    assert retry_after_seconds(_response({"Retry-After": "0.25"})) == 0.25
    later = retry_after_seconds(_response({"Retry-After": formatdate(time.time() + 30,
                                                                     usegmt=True)}))
    assert 25 <= later <= 31
    assert retry_after_seconds(_response({})) is None
    assert retry_after_seconds(_response({"Retry-After": "soon"})) is None


def test_backoff_is_capped_exponential_with_jitter_and_honours_retry_after():
    policy = RetryPolicy(max_attempts=10, base_delay=1.0, max_delay=8.0, jitter=0.25,
                         max_total_sleep=1000)
    t = GoogleTransport(policy=policy, sleep=lambda s: None)
    for attempt, nominal in ((1, 1), (2, 2), (3, 4), (4, 8), (5, 8), (9, 8)):
        for _ in range(20):
            d = t._backoff(attempt, None)
            assert nominal * 0.75 <= d <= nominal * 1.25
    assert t._backoff(10, None) is None  # attempts capped
    assert t._backoff(1, _response({"Retry-After": "30"})) == 30  # hint wins over backoff
    t.stats.waited_s = 999.5
    assert t._backoff(1, None) is None  # total sleep of the run capped


def test_policy_and_quota_from_optional_google_settings():
    from sheets_sync.core.config import GoogleConfig
    from sheets_sync.sources.google_sheets import _policy_from

    policy, quota = _policy_from(GoogleConfig())
    assert (policy, quota) == (RetryPolicy(), Quota())
    policy, quota = _policy_from(GoogleConfig(timeout_s=30, max_attempts=3, max_retry_wait_s=60,
                                              reads_per_minute=50, writes_per_minute=40))
    assert policy.timeout == (10.0, 30.0) and policy.max_attempts == 3
    assert policy.max_total_sleep == 60 and (quota.reads, quota.writes) == (50, 40)


def test_request_kinds():
    sheets = "https://sheets.googleapis.com/v4/spreadsheets/X"
    assert request_kind("GET", sheets + "/values:batchGet") == "read"
    assert request_kind("POST", sheets + "/values:batchUpdate") == "write"
    assert request_kind("POST", sheets + ":batchUpdate") == "write"
    assert request_kind("GET", "https://www.googleapis.com/drive/v3/files/X") == "drive"


def test_pacer_sliding_window_with_a_fake_clock():
    now = [0.0]
    slept = []

    def sleep(s):
        slept.append(s)
        now[0] += s

    pacer = Pacer(Quota(reads=3, writes=1, window=10.0, margin=0.0), clock=lambda: now[0],
                  sleep=sleep)
    assert [pacer.wait("read") for _ in range(3)] == [0, 0, 0]
    now[0] = 4.0
    waited = pacer.wait("read")  # the 4th read waits for the 1st to leave the window
    assert 6.0 <= waited <= 6.01 and now[0] >= 10.0
    assert pacer.wait("write") == 0 and pacer.wait("drive") == 0
    assert 9.99 <= pacer.wait("write") <= 10.01  # buckets are independent
    # by default the window is stretched a little (2 %) for safety
    now[0] = 0.0
    pacer = Pacer(Quota(reads=1, writes=1, window=10.0), clock=lambda: now[0], sleep=sleep)
    pacer.wait("read")
    assert 10.2 <= pacer.wait("read") <= 10.21


def test_a_slot_kept_for_a_later_request_counts_from_when_it_is_sent():
    """``GoogleTransport.write_slot``'s pacing: a place taken before the guard counts from
    when the write goes out (the server counts it from its arrival); one not used is given
    back at once."""
    now = [0.0]

    def sleep(s):
        now[0] += s

    pacer = Pacer(Quota(reads=1, writes=1, window=10.0, margin=0.0), clock=lambda: now[0],
                  sleep=sleep)
    waited, slot = pacer.take("write")
    assert waited == 0 and slot is not None
    now[0] = 3.0  # the guard's round trip, then the write
    pacer.sent_now("write", slot)
    assert 9.99 <= pacer.wait("write") <= 10.01  # until ten seconds after the write (13 s)
    assert 12.99 <= now[0] <= 13.01
    waited, unused = pacer.take("write")  # the next place: ten seconds later again
    assert 9.99 <= waited <= 10.01 and unused is not None
    pacer.give_back("write", unused)
    assert pacer.wait("write") == 0  # the place given back is free at once
    assert pacer.take("drive") == (0.0, None)
    # a kept slot sent late goes behind the slots taken meanwhile: the older ones still leave
    # the window on time
    pacer = Pacer(Quota(reads=1, writes=2, window=10.0, margin=0.0), clock=lambda: now[0],
                  sleep=sleep)
    now[0] = 100.0
    _, kept = pacer.take("write")
    now[0] = 101.0
    pacer.wait("write")  # another thread's write
    now[0] = 130.0  # the kept slot's write goes out much later (its guard re-read the keys)
    assert kept is not None
    pacer.sent_now("write", kept)
    assert pacer.wait("write") == 0  # the other write (101 s) has left the window


def test_a_thread_waiting_for_a_read_slot_does_not_hold_back_writes():
    now = [0.0]
    sleeping, release = threading.Event(), threading.Event()

    def sleep(s):  # the reader "sleeps" until the test lets it go
        sleeping.set()
        assert release.wait(10)
        now[0] += s

    pacer = Pacer(Quota(reads=1, writes=1, window=10.0, margin=0.0), clock=lambda: now[0],
                  sleep=sleep)
    pacer.wait("read")
    reader = threading.Thread(target=pacer.wait, args=("read",))
    reader.start()
    assert sleeping.wait(10)  # the second read waits for the next window
    writer_done: list[float] = []
    writer = threading.Thread(target=lambda: writer_done.append(pacer.wait("write")))
    writer.start()
    writer.join(5)
    alive = writer.is_alive()
    release.set()
    reader.join(5)
    writer.join(5)
    assert not alive and writer_done == [0.0]  # the write went while the read waited


def test_per_unit_counts_are_per_thread():
    transport = GoogleTransport()
    seen = threading.Barrier(2)

    def serve(unit: str) -> None:
        transport.unit = unit
        seen.wait(5)  # both threads have set their unit before either counts
        for _ in range(50):
            transport._count("read")
        transport._count("write")

    threads = [threading.Thread(target=serve, args=(u,)) for u in ("A", "B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert transport.stats.reads == 100 and transport.stats.writes == 2
    assert transport.stats.by_unit == {u: {"reads": 50, "writes": 1, "drive": 0}
                                       for u in ("A", "B")}
    assert transport.unit is None  # this thread never served a unit


@pytest.fixture
def sheet(emulator):
    emulator.reset()
    info = emulator.make_service_account()
    emulator.seed_values("S1", {"Tab": [["a", 1]]}, shared_with=[info["client_email"]])
    yield emulator, info
    emulator.reset()


def test_persistent_503_stops_after_max_attempts(sheet):
    emu, info = sheet
    emu.add_fault(spreadsheet_id="S1", status=503, times=None)
    client, transport = make_client(info, emu.base_url,
                                    RetryPolicy(max_attempts=4, base_delay=0.001,
                                                max_delay=0.002))
    with pytest.raises(gspread.exceptions.APIError) as e:
        client.http_client.values_get("S1", "Tab")
    assert e.value.response.status_code == 503
    assert transport.stats.reads == 4 and transport.stats.retries == 3
    assert emu.stats()["sheets"]["reads"] == 4


@pytest.mark.parametrize("status", [400, 403, 404])
def test_permanent_errors_are_sent_once(sheet, status):
    emu, info = sheet
    emu.add_fault(spreadsheet_id="S1", status=status, times=None)
    client, transport = make_client(info, emu.base_url, RetryPolicy(base_delay=0.001))
    with pytest.raises(gspread.exceptions.APIError):
        client.http_client.values_get("S1", "Tab")
    assert transport.stats.reads == 1 and transport.stats.retries == 0
    assert emu.stats()["sheets"]["reads"] == 1


def test_every_request_has_a_timeout(sheet):
    emu, info = sheet
    emu.add_fault(spreadsheet_id="S1", status=None, delay_s=0.6, times=None)
    client, transport = make_client(info, emu.base_url,
                                    RetryPolicy(timeout=(1.0, 0.15), max_attempts=2,
                                                base_delay=0.001))
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        client.http_client.values_get("S1", "Tab")
    assert time.monotonic() - started < 1.0
    assert transport.stats.reads == 2 and transport.stats.retries == 1


def test_every_puller_and_writer_thread_keeps_its_connection(sheet, caplog):
    """``[google] workers = 8`` (the default) sends from 24 threads at once: 8 pulling, 16
    writing. With requests' default pool of 10 connections, urllib3 opened a new connection for
    each request beyond it and closed it afterwards (a TLS handshake each time with Google),
    with a "Connection pool is full" warning in the operator's log."""
    from sheets_sync.sync.pipeline import DEFAULT_WORKERS, writers_for

    emu, info = sheet
    emu.add_fault(spreadsheet_id="S1", status=None, delay_s=0.05, times=None)
    client, _ = make_client(info, emu.base_url)
    client.http_client.values_get("S1", "Tab")  # the token first, as a run's Drive listing does
    threads_at_once = DEFAULT_WORKERS + writers_for(DEFAULT_WORKERS)
    start = threading.Barrier(threads_at_once)
    failed: list[BaseException] = []

    def send() -> None:
        try:
            start.wait(10)
            for _ in range(2):  # 49 reads in all: within a minute's quota (60)
                client.http_client.values_get("S1", "Tab")
        except BaseException as e:  # noqa: BLE001 — reported by the assertion below
            failed.append(e)

    with caplog.at_level("WARNING", logger="urllib3"):
        threads = [threading.Thread(target=send) for _ in range(threads_at_once)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert not failed
    assert not [r for r in caplog.records if "pool is full" in r.getMessage()]


def test_json_bodies_go_out_as_utf8_by_orjson_and_a_refused_one_the_standard_way(sheet):
    """``JsonSession``: the same JSON value as requests would send, Vietnamese unescaped; a
    value orjson refuses (a lone surrogate) is still sent, encoded by the standard library."""
    import json

    emu, info = sheet
    client, transport = make_client(info, emu.base_url)
    sent: list[tuple[str, bytes]] = []
    send = transport.send

    def keep(request, *args, **kwargs):  # the bodies as they leave, then the real transport
        if request.body:
            sent.append((request.headers["Content-Type"], request.body))
        return send(request, *args, **kwargs)

    transport.send = keep  # type: ignore[method-assign]
    text = 'Chưa nhập "Ngày họp" — tháng 05/2026'
    client.http_client.values_update("S1", "Tab!A1", params={"valueInputOption": "RAW"},
                                     body={"values": [[text, 7]]})
    ctype, body = sent[-1]
    assert ctype == "application/json" and json.loads(body)["values"] == [[text, 7]]
    assert "Ngày họp".encode() in body  # not "Ng\u00e0y h\u1ecdp"
    assert client.http_client.values_get("S1", "Tab!A1")["values"][0][0] == text
    client.http_client.values_update("S1", "Tab!A1", params={"valueInputOption": "RAW"},
                                     body={"values": [["x\ud800"]]})
    assert b"x\\ud800" in sent[-1][1]  # escaped ASCII, as requests writes it
