"""The one HTTP transport under gspread: redirect, timeouts, retries, pacing, request counts.

gspread and google-auth run unchanged. ``make_client`` builds real service-account credentials
and mounts ``GoogleTransport`` on gspread's session for the two Google API hosts; with an
``endpoint`` (the local emulator) the adapter rewrites scheme and host, path and query untouched.
"""
from __future__ import annotations

import random
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import gspread
import orjson
import requests
from google.auth.transport.requests import AuthorizedSession
from google.oauth2.service_account import Credentials
from requests.adapters import HTTPAdapter

SHEETS_PREFIX = "https://sheets.googleapis.com/"
GOOGLE_APIS_PREFIX = "https://www.googleapis.com/"
SHEETS_HOST = "sheets.googleapis.com"
SCOPES = ["https://www.googleapis.com/auth/spreadsheets", "https://www.googleapis.com/auth/drive"]

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass
class RetryPolicy:
    timeout: tuple[float, float] = (10.0, 60.0)  # connect, read
    max_attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 32.0
    max_total_sleep: float = 300.0  # per run, shared by every request
    jitter: float = 0.25


@dataclass
class Quota:
    """Client-side pacer: at most ``reads``/``writes`` Sheets requests per ``window`` seconds."""

    reads: int = 60
    writes: int = 60
    window: float = 60.0
    margin: float = 0.02  # the window is stretched by this fraction: send and arrival times differ


@dataclass
class RequestStats:
    reads: int = 0
    writes: int = 0
    drive: int = 0
    retries: int = 0
    waited_s: float = 0.0  # backoff sleeps
    paced_s: float = 0.0  # pacer sleeps
    quota_exhausted: bool = False
    by_unit: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"reads": self.reads, "writes": self.writes, "drive": self.drive,
                "retries": self.retries, "waited_s": round(self.waited_s, 3),
                "paced_s": round(self.paced_s, 3), "quota_exhausted": self.quota_exhausted,
                "by_unit": {u: dict(c) for u, c in self.by_unit.items()}}


def request_kind(method: str, url: str) -> str:
    """"read" / "write" for the Sheets API (the quota buckets), "drive" for everything else."""
    if urllib.parse.urlsplit(url).hostname != SHEETS_HOST:
        return "drive"
    return "read" if method.upper() == "GET" else "write"


def retry_after_seconds(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


Slot = list[float]  # [when its request was sent]: a place taken in a bucket's window


class Pacer:
    """Sliding-window limiter per bucket; thread-safe. Each bucket has its own lock, so a
    thread sleeping until a read slot frees never holds back a write (and vice versa)."""

    def __init__(self, quota: Quota, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.quota, self.clock, self.sleep = quota, clock, sleep
        self.sent: dict[str, deque[Slot]] = {"read": deque(), "write": deque()}
        self.locks = {kind: threading.Lock() for kind in self.sent}

    def wait(self, kind: str) -> float:
        """Wait until the bucket has room, and take a place in it from now: seconds waited."""
        return self.take(kind)[0]

    def take(self, kind: str) -> tuple[float, Slot | None]:
        """``wait``, and the slot taken (None for a kind without a bucket)."""
        if kind not in self.sent:
            return 0.0, None
        limit = self.quota.reads if kind == "read" else self.quota.writes
        waited = 0.0
        with self.locks[kind]:
            sent = self.sent[kind]
            while True:
                now = self.clock()
                window = self.quota.window * (1 + self.quota.margin)
                while sent and sent[0][0] <= now - window:  # oldest first (see sent_now)
                    sent.popleft()
                if len(sent) < limit:
                    slot = [now]
                    sent.append(slot)
                    return waited, slot
                delay = sent[0][0] + window - now + 0.001
                self.sleep(delay)
                waited += delay

    def sent_now(self, kind: str, slot: Slot) -> None:
        """A slot taken earlier is used by a request sent now: counted from now, and moved to
        the end, where the newest slots are (the bucket stays in time order)."""
        with self.locks[kind]:
            self._remove(kind, slot)
            slot[0] = self.clock()
            self.sent[kind].append(slot)

    def give_back(self, kind: str, slot: Slot) -> None:
        """A slot taken but not used."""
        with self.locks[kind]:
            self._remove(kind, slot)

    def _remove(self, kind: str, slot: Slot) -> None:
        sent = self.sent[kind]
        for i, taken in enumerate(sent):
            if taken is slot:
                del sent[i]
                return


POOL_SIZE = 64  # ≥ 3 × the most [google] workers (16): pullers, and twice as many writers


class GoogleTransport(HTTPAdapter):
    """Redirect (optional), timeout, retries with backoff + jitter + Retry-After, pacing, counts.

    Thread-safe: the counts are updated under a lock and ``unit`` (whose requests are being
    counted) is per thread, so several units can be served at once (``pipeline`` workers)."""

    def __init__(self, endpoint: str | None = None, policy: RetryPolicy | None = None,
                 quota: Quota | None = None, stats: RequestStats | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        # Connections kept per host: every puller and writer thread at once (urllib3 opens a
        # new connection for a request beyond the pool, and closes it after: a TLS handshake
        # each time with Google, a thread started each time by the emulator).
        super().__init__(pool_maxsize=POOL_SIZE)
        self.endpoint = urllib.parse.urlsplit(endpoint) if endpoint else None
        self.policy = policy or RetryPolicy()
        self.pacer = Pacer(quota or Quota(), sleep=sleep)
        self.stats = stats or RequestStats()
        self.sleep = sleep
        self._local = threading.local()
        self._stats_lock = threading.Lock()
        self.rng = random.Random()

    @contextmanager
    def write_slot(self) -> Iterator[None]:
        """Wait for room in the write bucket first, and keep the place for this thread's next
        write request: what the caller does meanwhile (the Drive version guard) happens after
        the wait, right before the write, never a quota window before it. The place counts
        from when that write is sent; one not used is given back."""
        waited, slot = self.pacer.take("write")
        self._add(paced_s=waited)
        self._local.slot = slot
        try:
            yield
        finally:
            if self._local.slot is not None:
                self._local.slot = None
                if slot is not None:
                    self.pacer.give_back("write", slot)

    @property
    def retried_here(self) -> int:
        """Retries sent by this thread so far (a write retried may have been applied once)."""
        return int(getattr(self._local, "retried", 0))

    @property
    def unit(self) -> str | None:
        """The unit this thread is serving, for per-unit counts."""
        return getattr(self._local, "unit", None)

    @unit.setter
    def unit(self, value: str | None) -> None:
        self._local.unit = value

    def _add(self, **amounts) -> None:
        with self._stats_lock:
            for key, value in amounts.items():
                setattr(self.stats, key, getattr(self.stats, key) + value)

    def _redirect(self, request: requests.PreparedRequest) -> None:
        if self.endpoint is None:
            return
        assert request.url is not None  # a prepared request has its URL
        u = urllib.parse.urlsplit(request.url)
        request.url = urllib.parse.urlunsplit(
            (self.endpoint.scheme, self.endpoint.netloc, u.path, u.query, ""))

    def _count(self, kind: str) -> None:
        key = {"read": "reads", "write": "writes", "drive": "drive"}[kind]
        unit = self.unit
        with self._stats_lock:
            setattr(self.stats, key, getattr(self.stats, key) + 1)
            if unit is not None:
                per = self.stats.by_unit.setdefault(unit, {"reads": 0, "writes": 0, "drive": 0})
                per[key] += 1

    def _backoff(self, attempt: int, response: requests.Response | None) -> float | None:
        """Seconds to sleep before the next attempt, or None to give up."""
        p = self.policy
        if attempt >= p.max_attempts:
            return None
        delay = min(p.max_delay, p.base_delay * 2 ** (attempt - 1))
        delay *= 1 + self.rng.uniform(-p.jitter, p.jitter)
        hinted = retry_after_seconds(response) if response is not None else None
        if hinted is not None:
            delay = max(delay, hinted)
        if self.stats.waited_s + delay > p.max_total_sleep:
            return None
        return delay

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        kind = request_kind(request.method, request.url)
        self._redirect(request)
        timeout = timeout or self.policy.timeout
        attempt = 0
        while True:
            attempt += 1
            held = getattr(self._local, "slot", None) if kind == "write" else None
            if held is not None:  # a place kept by ``write_slot``
                self._local.slot = None
                self.pacer.sent_now(kind, held)
            else:
                self._add(paced_s=self.pacer.wait(kind))
            self._count(kind)
            response, error = None, None
            try:
                response = super().send(request, stream=stream, timeout=timeout, verify=verify,
                                        cert=cert, proxies=proxies)
            except (requests.ConnectionError, requests.Timeout) as e:
                error = e
            if response is not None and response.status_code not in RETRY_STATUSES:
                return response
            delay = self._backoff(attempt, response)
            if delay is None:
                if response is not None and response.status_code == 429:
                    self.stats.quota_exhausted = True
                if error is not None:
                    raise error
                return response
            if response is not None:
                response.close()
            self._add(retries=1, waited_s=delay)
            self._local.retried = self.retried_here + 1
            self.sleep(delay)


class JsonSession(AuthorizedSession):
    """google-auth's session, with JSON bodies encoded by orjson. requests encodes them with
    the standard library, every Vietnamese character escaped: a first run's ``batchUpdate``
    carries every flag and the Kiểm tra tab, and a third of the tool's CPU in a 100-unit first
    sync went to encoding bodies and grids. A body orjson refuses (a lone surrogate, an integer
    beyond 64 bits, a key that is not text) is encoded the standard way. (orjson writes NaN as
    null where the standard way refuses it: no body of ours holds a float that is not finite.)"""

    def request(self, method, url, data=None, headers=None, **kwargs):  # type: ignore[override]
        body = kwargs.get("json")
        if body is not None and data is None:
            try:
                data = orjson.dumps(body)
            except orjson.JSONEncodeError:
                pass  # requests encodes it
            else:
                kwargs["json"] = None
                headers = {**(headers or {}), "Content-Type": "application/json"}
        return super().request(method, url, data=data, headers=headers, **kwargs)


def make_client(service_account_info: dict, endpoint: str | None = None,
                policy: RetryPolicy | None = None, quota: Quota | None = None,
                stats: RequestStats | None = None):
    """A gspread Client on real google-auth service-account credentials and our transport."""
    credentials = Credentials.from_service_account_info(service_account_info, scopes=SCOPES)
    client = gspread.Client(auth=credentials, session=JsonSession(credentials))
    client.http_client.auth = credentials  # as gspread sets it when it makes the session
    transport = GoogleTransport(endpoint, policy, quota, stats)
    for prefix in (SHEETS_PREFIX, GOOGLE_APIS_PREFIX):
        client.http_client.session.mount(prefix, transport)
    client.set_timeout(transport.policy.timeout)
    return client, transport
