"""`sheets-sync history ack`: acknowledging History findings so they are not reported again."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from ..core.errors import SheetsSyncError
from ..core.text import fold
from .history import CHANGED, DELETED, RULES, TAB_KEY, HistoryState, fmt_keys, load_state
from .store import (
    KnownRow,
    Store,
    row_ref,
)

# --- acknowledgements ----------------------------------------------------------------------------

@dataclass
class AckResult:
    acked: list[dict]  # {"ref", "rule", "tab", "keys"} of every acknowledged item
    unknown: list[str]  # references given that match nothing open


def _ack_candidates(state: HistoryState) -> list[dict]:
    """What can be acknowledged, relative to the unit's last recorded pull."""
    out: list[dict] = []
    in_last: dict[str, int] = {}
    gone_by_tab: dict[str, list[KnownRow]] = {}
    for k in state.known:
        if k.last_pull == state.last_pull:
            in_last[k.tab_id] = in_last.get(k.tab_id, 0) + 1
            chain = state.chain(k)
            if len(chain) > 1:
                latest = chain[-1]
                out.append({"rule": CHANGED, "tab_id": k.tab_id, "tab": k.tab, "rkey": k.rkey,
                            "ref": k.ref, "keys": k.keys, "state": latest.vhash,
                            "vals": latest.vals})
        elif k.replaced_by is None:
            gone_by_tab.setdefault(k.tab_id, []).append(k)
            out.append({"rule": DELETED, "tab_id": k.tab_id, "tab": k.tab, "rkey": k.rkey,
                        "ref": k.ref, "keys": k.keys, "state": str(k.last_pull), "vals": None})
    for tab_id, keys in gone_by_tab.items():
        if in_last.get(tab_id):
            continue
        out.append({"rule": DELETED, "tab_id": tab_id, "tab": keys[0].tab, "rkey": TAB_KEY,
                    "ref": row_ref(state.unit, tab_id, TAB_KEY), "keys": [],
                    "state": str(max(k.last_pull for k in keys)), "vals": None})
    return out


def ack(store: Store, unit: str, rule: str | None = None, keys: Iterable[str] | None = None,
        all: bool = False, tab: str | None = None, note: str = "",
        now: datetime | None = None) -> AckResult:
    """Acknowledge History findings of a unit (``sheets-sync history ack``).

    ``keys``: references (the ``[mã …]`` of a finding or of ``sheets-sync history``); ``all``:
    everything open (deleted rows, changed rows), optionally narrowed by ``rule`` and ``tab``
    (name or id). Acknowledges the state of the unit's last recorded pull. Already acknowledged
    items are acknowledged again (harmless)."""
    if rule is not None and rule not in RULES:
        raise SheetsSyncError(f"Quy tắc '{rule}' không phải quy tắc lịch sử "
                              f"({', '.join(RULES)}).")
    wanted = [k.strip().lower() for k in (keys or ()) if k.strip()]
    if not wanted and not all:
        raise SheetsSyncError("Cần chỉ rõ mã dòng (--key) hoặc --all.")
    state = load_state(store, unit)
    candidates = _ack_candidates(state)
    if rule is not None:
        candidates = [c for c in candidates if c["rule"] == rule]
    if tab is not None:
        t = fold(tab)
        candidates = [c for c in candidates if fold(c["tab"]) == t or c["tab_id"] == tab]
    if wanted:
        chosen = [c for c in candidates if c["ref"] in wanted]
        unknown = [k for k in wanted if not any(c["ref"] == k for c in candidates)]
    else:
        chosen, unknown = candidates, []
    store.add_acks(unit, [(c["rule"], c["tab_id"], c["rkey"], c["state"], c["vals"])
                          for c in chosen],
                   (now or datetime.now()).replace(microsecond=0), note)
    return AckResult([{"ref": c["ref"], "rule": c["rule"], "tab": c["tab"], "keys": c["keys"]}
                      for c in chosen], unknown)


def render_ack(result: AckResult, unit: str) -> str:
    lines = [f"Đã xác nhận {len(result.acked)} mục lịch sử của đơn vị {unit}."]
    for a in result.acked:
        what = "dòng đã xóa" if a["rule"] == DELETED else "dòng sửa sau khi khóa sổ"
        keys = fmt_keys(a["keys"]) if a["keys"] else "cả tab"
        lines.append(f"  [{a['ref']}] {a['tab']}: {what} — {keys}")
    for k in result.unknown:
        lines.append(f"  Không tìm thấy mục nào có mã {k} "
                     f"(xem 'sheets-sync history --unit {unit}').")
    return "\n".join(lines) + "\n"
