"""Replay Google's recorded exchanges (gspread's cassettes) against the emulator.

Every recording is split into sessions (README of the recordings). Each exchange is
classified by method + path pattern:

* ``TOOL``: the operations sheets-sync itself sends - always replayed and compared;
* ``EXTRA``: operations the emulator implements although the tool does not use them
  (values:clear/batchClear/append, files.delete) - replayed too, they build the state;
* ``SEEDED``: Drive files.create/files.copy - a service account owns no storage, so the
  emulator answers them 403; the spreadsheet they made is seeded emulator-side instead
  (same id and title, owned by the caller);
* ``OUT_OF_SCOPE``: not part of the tool's subset and not emulated (listed with a reason).

Compared: status code and the body after normalisation (ids and timestamps replaced;
keys, value types, ranges, values arrays, counts and error bodies kept verbatim).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from google.auth.transport.requests import AuthorizedSession
from google.oauth2 import service_account

from emulator_helpers import RECORDINGS, redirect
from sheets_sync_emulator import Emulator

# The recordings' service account: Google made it an editor of protected ranges.
RECORDED_EMAIL = "telegram-budgeter@telegram-budgeter.iam.gserviceaccount.com"

_S = r"https://sheets\.googleapis\.com/v4/spreadsheets"
_D = r"https://www\.googleapis\.com/drive/v3/files"
_ID = r"[^/:?]+"
OPERATIONS = [  # (method, URI regex, operation, class)
    ("GET", rf"{_S}/{_ID}(\?.*)?", "spreadsheets.get", "TOOL"),
    ("POST", rf"{_S}/{_ID}:batchUpdate", "spreadsheets.batchUpdate", "TOOL"),
    ("GET", rf"{_S}/{_ID}/values:batchGet\?.*", "values.batchGet", "TOOL"),
    ("POST", rf"{_S}/{_ID}/values:batchUpdate", "values.batchUpdate", "TOOL"),
    ("POST", rf"{_S}/{_ID}/values:batchClear", "values.batchClear", "EXTRA"),
    ("POST", rf"{_S}/{_ID}/values/[^/]+:append(\?.*)?", "values.append", "EXTRA"),
    ("POST", rf"{_S}/{_ID}/values/[^/]+:clear", "values.clear", "EXTRA"),
    ("GET", rf"{_S}/{_ID}/values/[^/]+", "values.get", "TOOL"),
    ("PUT", rf"{_S}/{_ID}/values/[^/]+", "values.update", "TOOL"),
    ("GET", rf"{_D}\?.*", "files.list", "TOOL"),
    ("POST", rf"{_D}(\?.*)?", "files.create", "SEEDED"),
    ("POST", rf"{_D}/{_ID}/copy(\?.*)?", "files.copy", "SEEDED"),
    ("GET", rf"{_D}/{_ID}/export\?.*", "files.export", "OUT_OF_SCOPE"),
    ("GET", rf"{_D}/{_ID}/comments\?.*", "comments.list", "OUT_OF_SCOPE"),
    ("GET", rf"{_D}/{_ID}/permissions(\?.*)?", "permissions.list", "TOOL"),
    ("GET", rf"{_D}/{_ID}(\?.*)?", "files.get", "TOOL"),
    ("DELETE", rf"{_D}/{_ID}(\?.*)?", "files.delete", "EXTRA"),
    ("PATCH", r"https://www\.googleapis\.com/upload/drive/v3/files/[^/?]+(\?.*)?",
     "files.upload", "TOOL"),
]
OUT_OF_SCOPE = {
    "files.export": "Drive export (CSV/PDF/XLSX rendering of a sheet) is not used by "
                    "sheets-sync and not emulated.",
    "comments.list": "Drive comments are not used by sheets-sync and not emulated.",
}
_ID_KEYS = {"spreadsheetId", "sheetId", "protectedRangeId", "id"}
_TIME_KEYS = {"createdTime", "modifiedTime"}
_LEARNED_KEYS = {"sheetId", "protectedRangeId"}


def classify(method: str, uri: str) -> tuple[str, str]:
    for verb, pattern, operation, kind in OPERATIONS:
        if verb == method and re.fullmatch(pattern, uri):
            return operation, kind
    raise AssertionError(f"unclassified exchange {method} {uri}")


def sessions(path: Path) -> list[list[dict]]:
    cls, test = path.stem.split(".")
    fixture = f"Test {cls} {test}"
    out: list[list[dict]] = []
    for exchange in json.loads(path.read_text(encoding="utf-8"))["interactions"]:
        request = exchange["request"]
        starts = (request["method"] == "POST"
                  and request["uri"].startswith("https://www.googleapis.com/drive/v3/files?")
                  and json.loads(request["body"] or "{}").get("name") == fixture)
        if starts or not out:
            out.append([])
        out[-1].append(exchange)
    return out


def _json(text: str | None) -> Any:
    return json.loads(text) if text and text.strip() else None


def normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "<id>" if k in _ID_KEYS else "<time>" if k in _TIME_KEYS
                else normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    return value


def learn_ids(recorded: Any, actual: Any, ids: dict[int, int]) -> None:
    """Map recorded generated ids (sheetId, protectedRangeId) to the emulator's."""
    if isinstance(recorded, dict) and isinstance(actual, dict):
        for key, value in recorded.items():
            if key in _LEARNED_KEYS and isinstance(value, int) and isinstance(actual.get(key), int):
                ids[value] = actual[key]
            elif key in actual:
                learn_ids(value, actual[key], ids)
    elif isinstance(recorded, list) and isinstance(actual, list):
        for r, a in zip(recorded, actual):
            learn_ids(r, a, ids)


def substitute(value: Any, ids: dict[int, int]) -> Any:
    if isinstance(value, dict):
        return {k: ids.get(v, v) if k in _LEARNED_KEYS and isinstance(v, int)
                else substitute(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, ids) for v in value]
    return value


def _spreadsheet_id(uri: str) -> str | None:
    m = re.match(rf"{_S}/({_ID})", uri)
    return m.group(1) if m else None


def inventory() -> dict[str, list[tuple[str, int, str, str]]]:
    """class -> [(session id, exchange index, operation, "METHOD uri")]."""
    table: dict[str, list] = {"TOOL": [], "EXTRA": [], "SEEDED": [], "OUT_OF_SCOPE": []}
    for path in sorted(RECORDINGS.glob("*.*.json")):
        for n, session in enumerate(sessions(path)):
            for i, exchange in enumerate(session):
                request = exchange["request"]
                operation, kind = classify(request["method"], request["uri"])
                table[kind].append((f"{path.stem}#{n}", i, operation,
                                    f"{request['method']} {request['uri'][:100]}"))
    return table


SESSION_IDS = [f"{p.stem}#{n}" for p in sorted(RECORDINGS.glob("*.*.json"))
               for n in range(len(sessions(p)))]


def test_recordings_are_in_the_repository():
    """No silent empty parametrisation: the 37 cassettes ship with the tests."""
    assert len(list(RECORDINGS.glob("*.*.json"))) == 37
    assert len(SESSION_IDS) >= 37
    assert (RECORDINGS / "PROVENANCE.md").is_file()


@pytest.fixture(scope="module")
def replay_env():
    with Emulator(seed=7) as emu:
        info = emu.make_service_account(email=RECORDED_EMAIL)
        credentials = service_account.Credentials.from_service_account_info(
            info, scopes=["https://www.googleapis.com/auth/spreadsheets",
                          "https://www.googleapis.com/auth/drive"])
        http = AuthorizedSession(credentials)
        redirect(http, emu.base_url)
        yield emu, http


def test_inventory_covers_every_exchange():
    """Every recorded exchange is classified; only the listed operations are skipped."""
    table = inventory()
    assert sum(len(v) for v in table.values()) == sum(
        len(json.loads(p.read_text(encoding="utf-8"))["interactions"])
        for p in RECORDINGS.glob("*.*.json"))
    assert {op for _, _, op, _ in table["OUT_OF_SCOPE"]} == set(OUT_OF_SCOPE)
    tool_operations = {op for _, _, op, _ in table["TOOL"]}
    assert tool_operations >= {"spreadsheets.get", "spreadsheets.batchUpdate", "values.get",
                               "values.batchGet", "values.update", "values.batchUpdate",
                               "files.get", "files.list"}
    summary = {kind: len(rows) for kind, rows in table.items()}
    print("\nexchanges by class:", summary)
    for _, _, operation, request in table["OUT_OF_SCOPE"]:
        print(f"  out of scope ({OUT_OF_SCOPE[operation]}): {request}")


@pytest.mark.parametrize("session_id", SESSION_IDS)
def test_replay_session(replay_env, session_id):
    emu, http = replay_env
    stem, n = session_id.rsplit("#", 1)
    session = sessions(RECORDINGS / f"{stem}.json")[int(n)]
    emu.reset()
    created = {json.loads(e["response"]["body"]["string"] or "{}").get("id") for e in session
               if classify(e["request"]["method"], e["request"]["uri"])[1] == "SEEDED"}
    for exchange in session:  # a spreadsheet the caller was never given: seed it unshared
        sid = _spreadsheet_id(exchange["request"]["uri"])
        if exchange["response"]["status"]["code"] == 403 and sid and sid not in created:
            emu.seed_values(sid, {"Sheet1": []}, title="Somebody else's spreadsheet")
    ids: dict[int, int] = {}
    for i, exchange in enumerate(session):
        request, response = exchange["request"], exchange["response"]
        operation, kind = classify(request["method"], request["uri"])
        if kind == "OUT_OF_SCOPE":
            continue
        recorded = _json(response["body"]["string"])
        if kind == "SEEDED":
            emu.seed_values(recorded["id"], {"Sheet1": []}, title=recorded["name"])
            emu.share(recorded["id"], RECORDED_EMAIL, role="owner")
            continue
        body = _json(request["body"])
        data = None if body is None else json.dumps(substitute(body, ids)).encode("utf-8")
        headers = {"Content-Type": "application/json"} if data is not None else {}
        answer = http.request(request["method"], request["uri"], data=data, headers=headers,
                              timeout=10)
        where = f"{session_id} exchange {i} ({operation}) {request['method']} {request['uri']}"
        assert answer.status_code == response["status"]["code"], f"{where}: {answer.text}"
        actual = _json(answer.text)
        assert normalise(actual) == normalise(recorded), where
        learn_ids(recorded, actual, ids)
