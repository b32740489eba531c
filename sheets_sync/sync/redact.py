"""Redaction of credentials: access tokens, a service-account private key (any 32-character
slice of its body), private_key_id, plus generic patterns (Bearer tokens, PEM blocks, JWTs)."""
from __future__ import annotations

import json
import logging
import os
import re
import traceback
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass


MASK = "[đã ẩn]"
KEY_MASK = "[khóa riêng đã ẩn]"
SLICE = 32  # a private key is recognised from any 32-character slice of its body


# --- redaction -----------------------------------------------------------------------------------

_PEM_BLOCK = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)", re.S)
_PATTERNS: tuple[tuple[re.Pattern, str], ...] = (
    (re.compile(r"\b(Bearer)\s+[A-Za-z0-9\-._~+/]+=*", re.I), r"\1 " + MASK),
    (re.compile(r"(\"?\b(?:private_key_id|private_key|access_token|refresh_token|id_token|"
                r"client_secret|assertion|password|api_key)\b\"?\s*[:=]\s*\"?)(?!\[)"
                r"([^\"\s,&}]+)", re.I), r"\1" + MASK),
    (re.compile(r"\bya29\.[0-9A-Za-z\-_.]+"), MASK),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), MASK),
)
_B64 = re.compile(r"[A-Za-z0-9+/=]+")


def _key_body_parts(secret: str) -> list[str]:
    """Base64 runs of a PEM private key (its lines, and the lines joined)."""
    body = re.sub(r"-----(BEGIN|END) [A-Z0-9 ]*PRIVATE KEY-----", " ", secret)
    body = body.replace("\\n", " ")
    parts = [p for p in _B64.findall(body) if len(p) >= SLICE]
    joined = "".join(_B64.findall(body))
    if len(joined) >= SLICE:
        parts.append(joined)
    return parts


class Redactor:
    """Replaces secrets in text. ``add`` more at any time (an access token once obtained)."""

    def __init__(self, secrets: Iterable[str] = ()):
        self._literals: set[str] = set()
        self._slices: set[str] = set()
        self._literal_re: re.Pattern | None = None
        for s in secrets:
            self.add(s)

    def add(self, secret: str | None) -> None:
        if not secret or not isinstance(secret, str):
            return
        secret = secret.strip()
        if "PRIVATE KEY" in secret:
            for part in _key_body_parts(secret):
                for i in range(len(part) - SLICE + 1):
                    self._slices.add(part[i:i + SLICE])
            return
        if len(secret) < 8:  # too short to be a credential; masking it would garble text
            return
        self._literals.add(secret)
        self._literal_re = re.compile("|".join(
            re.escape(s) for s in sorted(self._literals, key=len, reverse=True)))

    def __call__(self, text: str) -> str:
        if not text:
            return text
        text = _PEM_BLOCK.sub(KEY_MASK, text)
        if self._literal_re is not None:
            text = self._literal_re.sub(MASK, text)
        if self._slices:
            text = self._mask_slices(text)
        for pattern, repl in _PATTERNS:
            text = pattern.sub(repl, text)
        return text

    def _mask_slices(self, text: str) -> str:
        spans: list[list[int]] = []
        slices = self._slices
        for i in range(len(text) - SLICE + 1):
            if text[i:i + SLICE] in slices:
                if spans and i <= spans[-1][1]:
                    spans[-1][1] = i + SLICE
                else:
                    spans.append([i, i + SLICE])
        if not spans:
            return text
        out, pos = [], 0
        for start, end in spans:
            out.append(text[pos:start])
            out.append(MASK)
            pos = end
        out.append(text[pos:])
        return "".join(out)

    def obj(self, value: Any) -> Any:
        """Redact every string inside a JSON-like value."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {k: self.obj(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.obj(v) for v in value]
        return value


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Generic patterns plus the given secrets (for one-off messages, e.g. the CLI's errors)."""
    return Redactor(secrets)(text)


def secrets_from_credentials(path: str | os.PathLike | None) -> list[str]:
    """The secret fields of a Google service-account (or OAuth client) JSON file; [] when it
    cannot be read (that error is reported elsewhere)."""
    if not path:
        return []
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(doc, dict):
        return []
    out = []
    for section in (doc, doc.get("installed") or {}, doc.get("web") or {}):
        if isinstance(section, dict):
            for field in ("private_key", "private_key_id", "client_secret", "refresh_token"):
                v = section.get(field)
                if isinstance(v, str) and v:
                    out.append(v)
    return out


class RedactingFilter(logging.Filter):
    """Rewrites a record's message, fields and traceback through a ``Redactor``."""

    def __init__(self, redactor: Redactor):
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        r = self.redactor
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not stop the run
            message = str(record.msg)
        record.msg, record.args = r(message), None
        fields = getattr(record, "fields", None)
        if fields:
            record.fields = r.obj(fields)
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        if record.exc_text:
            record.exc_text = r(record.exc_text)
        if record.stack_info:
            record.stack_info = r(record.stack_info)
        return True
