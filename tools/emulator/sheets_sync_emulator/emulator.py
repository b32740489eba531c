"""The :class:`Emulator`: state, the request pipeline and the Python control API.

Pipeline of one API request (Sheets, Drive or token):

1. simulated latency (Sheets and Drive only), outside the state lock;
2. ``total`` is counted; token requests skip to 5;
3. bearer token -> caller e-mail, else 401;
4. Sheets only: the caller's read/write quota bucket, else 429 (see quota.py);
5. the first matching injected fault is taken: its ``delay_s`` is slept, then its status
   is answered instead of running the request (``apply_first``: after running it);
6. the request runs under the state lock (writes are atomic);
7. hooks due on this request run before the answer is sent.
"""

from __future__ import annotations

import json
import math
import os
import random
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from . import edits, errors, metadata, routes, seed
from .auth import Accounts, TokenError
from .drive_api import DriveApi
from .faults import Fault, Hook, Injector, Matcher
from .formula import ErrorValue, Evaluator
from .quota import Quota
from .routes import RequestInfo, Route
from .server import Server
from .sheets_api import SheetsApi
from .spreadsheet import Spreadsheet
from .stats import Stats
from .store import SPREADSHEET_MIME, XLSX_MIME, DriveFile, Store
from .wire import HttpRequest, Reply

DEFAULT_SERVICE_ACCOUNT = "sheets-sync@test-project.iam.gserviceaccount.com"


class Emulator:
    """A local Google Sheets v4 + Drive v3 + OAuth2 token server.

    ``latency_ms`` (+ uniform ``jitter_ms``) is added to every Sheets/Drive request.
    ``read_quota``/``write_quota`` are Sheets requests per ``quota_window_s`` per service
    account (None = unlimited); ``quota_retry_after`` adds ``Retry-After`` to 429s.
    ``seed`` makes generated ids and jitter reproducible; ``clock`` (monotonic seconds)
    drives the quota windows and can be replaced in tests.
    """

    def __init__(self, latency_ms: float = 0, read_quota: int | None = None,
                 write_quota: int | None = None, quota_window_s: float = 60.0, *,
                 jitter_ms: float = 0, quota_retry_after: bool = False, seed: int | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.latency_ms = latency_ms
        self.jitter_ms = jitter_ms
        self.quota_retry_after = quota_retry_after
        self._lock = threading.RLock()
        self._rng = random.Random(seed)  # generated ids
        self._jitter = random.Random(seed)  # latency jitter, apart so ids stay reproducible
        self._store = Store()
        self._accounts = Accounts()
        self._quota = Quota(read_quota, write_quota, quota_window_s, clock)
        self._injector = Injector()
        self._stats = Stats()
        self._sheets = SheetsApi(self._store, self._rng)
        self._drive = DriveApi(self._store)
        self._server: Server | None = None

    # --- lifecycle ------------------------------------------------------------------
    def start(self, port: int = 0) -> Emulator:
        """Serve on 127.0.0.1:``port`` (0 = any free port) in a background thread."""
        if self._server is None:
            self._server = Server(self.handle, port)
            self._server.start()
            self._quota.reset()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        return self._server.base_url

    # --- the request pipeline -------------------------------------------------------
    def handle(self, req: HttpRequest) -> Reply:
        """Answer one HTTP request (the server calls this from its worker threads)."""
        route = routes.resolve(req.method, req.path)
        if route is not None and route.api == "control":
            return self._control(route, req)
        if route is not None and route.api != "token":
            self._pause()
        with self._lock:
            self._stats.total += 1
            if route is None:
                return Reply.json(404, {"error": {
                    "code": 404, "message": f"Method not found: {req.method} {req.path}",
                    "status": "NOT_FOUND"}})
            info = RequestInfo(req.method, req.path, req.query, route)
            early = self._admit(req, route, info)
            fault = self._injector.take_fault(info) if early is None else None
        if early is not None:
            return self._finish(info, early)
        if fault is not None and fault.delay_s:
            time.sleep(fault.delay_s)
        if fault is not None and fault.status and not fault.apply_first:
            return self._finish(info, self._fault_reply(fault, route))
        reply = self._execute(req, route, info)
        if fault is not None and fault.status:
            reply = self._fault_reply(fault, route)
        return self._finish(info, reply)

    def _pause(self) -> None:
        with self._lock:
            jitter = self._jitter.uniform(0, self.jitter_ms) if self.jitter_ms else 0
        if self.latency_ms or jitter:
            time.sleep((self.latency_ms + jitter) / 1000)

    def _admit(self, req: HttpRequest, route: Route, info: RequestInfo) -> Reply | None:
        """Count the request; a 401/429 answer when it is not admitted."""
        if route.api == "token":
            self._stats.token += 1
            return None
        email = self._accounts.caller(req.headers.get("authorization"), req.param("access_token"))
        if email is None:
            self._stats.unauthenticated += 1
            return Reply.error(errors.unauthenticated(drive=route.api == "drive"))
        info.email = email
        if route.api == "sheets":
            wait = self._quota.admit(email, route.kind)
            if wait is not None:
                self._stats.rejected(email, route.file_id)
                reply = Reply.error(errors.quota_exceeded(route.kind))
                if self.quota_retry_after:
                    reply.headers["Retry-After"] = str(max(1, math.ceil(wait)))
                return reply
        self._stats.accepted(route.kind, email, route.file_id)
        return None

    def _execute(self, req: HttpRequest, route: Route, info: RequestInfo) -> Reply:
        with self._lock:
            try:
                if route.api == "token":
                    form = parse_qs(req.body.decode("utf-8", "replace"))
                    return Reply.json(200, self._accounts.exchange(form))
                api = self._sheets if route.api == "sheets" else self._drive
                status, payload = api.handle(req, route, info.email)
                return Reply(status) if payload is None else Reply.json(status, payload)
            except TokenError as exc:
                return Reply.json(400, exc.body)
            except errors.ApiError as exc:
                return Reply.error(exc)
            except Exception:  # noqa: BLE001 - answer like Google, keep serving
                traceback.print_exc()
                return Reply.error(errors.sheets_error(500))

    def _fault_reply(self, fault: Fault, route: Route) -> Reply:
        with self._lock:
            self._stats.faults_injected += 1
        if fault.body is None:
            reply = Reply.error(errors.injected(fault.status, drive=route.api == "drive"))
        else:
            reply = Reply.error(errors.ApiError(fault.status, fault.body))
        if fault.retry_after is not None:
            reply.headers["Retry-After"] = f"{fault.retry_after:g}"
        return reply

    def _finish(self, info: RequestInfo, reply: Reply) -> Reply:
        info.status = reply.status
        with self._lock:
            due = self._injector.due_hooks(info)
        for hook in due:
            try:
                hook(self, info)
            except Exception:  # noqa: BLE001 - a broken hook must not hang the client
                traceback.print_exc()
        return reply

    # --- HTTP control API (/__emulator/...) ------------------------------------------
    def _control(self, route: Route, req: HttpRequest) -> Reply:
        action, method = route.action, req.method
        try:
            body = req.json() or {}
            if (action, method) == ("stats", "GET"):
                return Reply.json(200, self.stats())
            if (action, method) == ("reset", "POST"):
                self.reset()
            elif (action, method) == ("faults", "POST"):
                return Reply.json(200, {"id": self.add_fault(**body)})
            elif (action, method) == ("faults", "DELETE"):
                self.clear_faults()
            elif (action, method) == ("edit", "POST"):
                spreadsheet_id, sheet = body.pop("spreadsheet_id"), body.pop("sheet")
                self.edit(spreadsheet_id, sheet, body)
            elif (action, method) == ("revoke", "POST"):
                self.revoke(body["spreadsheet_id"], body["email"])
            else:
                return Reply.json(404, {"error": f"no control endpoint {method} {req.path}"})
            return Reply.json(200, {})
        except (KeyError, TypeError, ValueError, errors.ApiError) as exc:
            return Reply.json(400, {"error": str(exc)})

    # --- accounts -------------------------------------------------------------------
    def make_service_account(self, path: str | os.PathLike | None = None,
                             email: str = DEFAULT_SERVICE_ACCOUNT) -> dict:
        """A service-account key whose ``token_uri`` is this emulator's ``/token``."""
        info = self._accounts.create(email, self.base_url + "/token")
        if path is not None:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(info, handle, indent=2)
            os.chmod(path, 0o600)
        return info

    # --- seeding and sharing --------------------------------------------------------
    def _add_spreadsheet(self, ss: Spreadsheet, shared_with: Iterable[str],
                         parents: Iterable[str]) -> None:
        with self._lock:
            file = DriveFile(ss.spreadsheet_id, SPREADSHEET_MIME, self._store.now_ms(),
                             spreadsheet=ss, parents=list(parents))
            for email in shared_with:
                file.share(email, "writer")
            self._store.add(file)

    def seed_values(self, spreadsheet_id: str, sheets: dict[str, Iterable[Iterable[Any]]],
                    shared_with: Iterable[str] = (), title: str | None = None, *,
                    parents: Iterable[str] = (), locale: str = "en_US",
                    time_zone: str = "Etc/GMT") -> None:
        """Create (or replace) a spreadsheet from ``{sheet title: rows}`` (see seed.py)."""
        ss = seed.from_values(spreadsheet_id, sheets, title or spreadsheet_id, locale,
                              time_zone, self._rng)
        self._add_spreadsheet(ss, shared_with, parents)

    def seed_xlsx(self, spreadsheet_id: str, path: str | os.PathLike,
                  shared_with: Iterable[str] = (), title: str | None = None, *,
                  parents: Iterable[str] = (), locale: str = "en_US",
                  time_zone: str = "Etc/GMT") -> None:
        """Create (or replace) a spreadsheet from every sheet of an .xlsx file."""
        ss = seed.from_xlsx(spreadsheet_id, path, title, locale, time_zone, self._rng)
        self._add_spreadsheet(ss, shared_with, parents)

    def create_binary_file(self, file_id: str, name: str, shared_with: Iterable[str] = (),
                           content: bytes = b"", *, mime_type: str = XLSX_MIME,
                           parents: Iterable[str] = ()) -> None:
        """A non-Google Drive file (e.g. the roll-up .xlsx) whose content can be replaced."""
        with self._lock:
            file = DriveFile(file_id, mime_type, self._store.now_ms(), name=name,
                             content=bytes(content), parents=list(parents))
            for email in shared_with:
                file.share(email, "writer")
            self._store.add(file)

    def share(self, spreadsheet_id: str, email: str, role: str = "writer") -> None:
        """Grant ``email`` a role on a spreadsheet (or any Drive file id)."""
        with self._lock:
            self._store.require(spreadsheet_id).share(email, role)

    def share_anyone(self, file_id: str, role: str = "reader") -> None:
        """Share "with anyone who has the link" (listed as an ``anyone`` permission)."""
        with self._lock:
            self._store.require(file_id).share(None, role)

    def revoke(self, spreadsheet_id: str, email: str | None) -> None:
        """Remove a user's access (``email=None`` removes link sharing)."""
        with self._lock:
            self._store.require(spreadsheet_id).revoke(email)

    def delete_spreadsheet(self, spreadsheet_id: str) -> None:
        """Remove a spreadsheet (or any Drive file) as if its owner deleted it."""
        with self._lock:
            self._store.require(spreadsheet_id)
            del self._store.files[spreadsheet_id]

    def edit(self, spreadsheet_id: str, sheet_title: str, op: dict[str, Any]) -> None:
        """An edit by a person (see edits.py); bumps the Drive version."""
        with self._lock:
            file = self._require_spreadsheet(spreadsheet_id)
            copy = file.spreadsheet.clone()
            edits.apply(copy, sheet_title, op)
            file.spreadsheet = copy
            self._store.touch(file)

    # --- faults and hooks -----------------------------------------------------------
    def add_fault(self, method: str | None = None, path_regex: str | None = None,
                  spreadsheet_id: str | None = None, status: int | None = 503,
                  times: int | None = 1, retry_after: float | None = None, delay_s: float = 0,
                  body: dict | str | None = None, apply_first: bool = False,
                  kind: str | None = None) -> int:
        """Answer the next ``times`` matching requests with ``status`` (see README)."""
        fault = Fault(Matcher(method, path_regex, spreadsheet_id, kind), status, times,
                      retry_after, delay_s, body, apply_first)
        with self._lock:
            return self._injector.add_fault(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._injector.faults.clear()

    def on_request(self, hook: Hook, *, after: int = 1, method: str | None = None,
                   path_regex: str | None = None, spreadsheet_id: str | None = None,
                   kind: str | None = None) -> int:
        """Call ``hook(emulator, request_info)`` once, when the ``after``-th matching API
        request has been processed and before its answer is sent."""
        with self._lock:
            return self._injector.add_hook(hook, after,
                                           Matcher(method, path_regex, spreadsheet_id, kind))

    # --- inspection -----------------------------------------------------------------
    def stats(self) -> dict:
        with self._lock:
            return self._stats.snapshot()

    def reset(self) -> None:
        """Forget files, faults, hooks, statistics and quota usage (accounts stay)."""
        with self._lock:
            self._store.files.clear()
            self._injector.clear()
            self._stats.reset()
            self._quota.reset()

    def _require_spreadsheet(self, spreadsheet_id: str) -> DriveFile:
        file = self._store.require(spreadsheet_id)
        if file.spreadsheet is None:
            raise KeyError(f"not a spreadsheet: {spreadsheet_id}")
        return file

    def get_values(self, spreadsheet_id: str, sheet_title: str, effective: bool = False
                   ) -> list[list[Any]]:
        """The stored grid up to the last value (formulas as their text, blank = None); with
        ``effective``, formulas as their values (an error as its code, e.g. ``#NAME?``)."""
        with self._lock:
            ss = self._require_spreadsheet(spreadsheet_id).spreadsheet
            sheet = ss.sheet_by_title(sheet_title)
            if sheet is None:
                raise KeyError(f"no sheet titled {sheet_title!r}")
            rows, cols = sheet.value_extent()
            evaluator = Evaluator(ss)

            def value(r: int, c: int) -> Any:
                cell = sheet.cell(r, c)
                if cell is None or not (effective and cell.formula):
                    return cell.value if cell is not None else None
                got = evaluator.value(sheet, r, c)
                if isinstance(got, ErrorValue):
                    return got.code
                return str(got) if isinstance(got, str) else got  # a link's label: plain text

            return [[value(r, c) for c in range(cols)] for r in range(rows)]

    def spreadsheet_meta(self, spreadsheet_id: str) -> dict:
        """spreadsheets.get as Google renders it, plus ``sheets[].dataValidations``
        (``[{"range": GridRange, "rule": DataValidationRule}]``, an emulator extension)."""
        with self._lock:
            ss = self._require_spreadsheet(spreadsheet_id).spreadsheet
            out = metadata.render(ss)
            for rendered, sheet in zip(out["sheets"], ss.sheets):
                rendered["dataValidations"] = sheet.validation_ranges()
            return out

    def file_meta(self, file_id: str) -> dict:
        """The full Drive file resource, with its ``permissions``."""
        with self._lock:
            file = self._store.require(file_id)
            return {**file.resource(), "permissions": [dict(p) for p in file.permissions]}

    def file_content(self, file_id: str) -> bytes:
        with self._lock:
            content = self._store.require(file_id).content
            if content is None:
                raise KeyError(f"not a binary file: {file_id}")
            return content
