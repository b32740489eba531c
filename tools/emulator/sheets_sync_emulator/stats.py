"""Request counters (``emu.stats()`` and ``GET /__emulator/stats``).

* ``total``: every API request (Sheets, Drive, token, unknown routes), not control calls;
* ``sheets.reads`` / ``sheets.writes``: authenticated Sheets requests the quota accepted
  (whatever they answered afterwards: 200, 400, 403, 404 or an injected fault);
* ``rejected_429``: Sheets requests rejected by the quota (not in reads/writes);
* ``drive``: authenticated Drive requests; ``token``: token endpoint requests;
* ``unauthenticated``: API requests answered 401; ``faults_injected``: faulted answers;
* ``by_spreadsheet[id]`` / ``by_account[email]``: reads, writes, drive, rejected_429.
"""

from __future__ import annotations

import copy
from collections import defaultdict

_EMPTY = {"reads": 0, "writes": 0, "drive": 0, "rejected_429": 0}
_FIELD = {"read": "reads", "write": "writes", "drive": "drive"}


class Stats:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.total = self.token = self.unauthenticated = self.faults_injected = 0
        self.counts = dict.fromkeys(("reads", "writes", "drive", "rejected_429"), 0)
        self.by_spreadsheet: dict[str, dict[str, int]] = defaultdict(lambda: dict(_EMPTY))
        self.by_account: dict[str, dict[str, int]] = defaultdict(lambda: dict(_EMPTY))

    def accepted(self, kind: str, email: str, file_id: str | None) -> None:
        self._count(_FIELD[kind], email, file_id)

    def rejected(self, email: str, file_id: str | None) -> None:
        self._count("rejected_429", email, file_id)

    def _count(self, name: str, email: str, file_id: str | None) -> None:
        self.counts[name] += 1
        self.by_account[email][name] += 1
        if file_id:
            self.by_spreadsheet[file_id][name] += 1

    def snapshot(self) -> dict:
        return {
            "total": self.total,
            "sheets": {"reads": self.counts["reads"], "writes": self.counts["writes"]},
            "drive": self.counts["drive"],
            "token": self.token,
            "rejected_429": self.counts["rejected_429"],
            "unauthenticated": self.unauthenticated,
            "faults_injected": self.faults_injected,
            "by_spreadsheet": copy.deepcopy(dict(self.by_spreadsheet)),
            "by_account": copy.deepcopy(dict(self.by_account)),
        }
