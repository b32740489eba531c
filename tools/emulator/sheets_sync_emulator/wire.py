"""Request and reply values exchanged between the HTTP server and the API handlers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import orjson

from . import errors
from .proto import json_numbers

JSON_TYPE = "application/json; charset=UTF-8"


@dataclass
class HttpRequest:
    method: str
    path: str  # raw (still percent-encoded) path
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""

    @classmethod
    def parse(cls, method: str, target: str, headers: dict[str, str], body: bytes) -> HttpRequest:
        path, _, query = target.partition("?")
        return cls(method.upper(), path, parse_qs(query, keep_blank_values=True),
                   {k.lower(): v for k, v in headers.items()}, body)

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def flag(self, name: str) -> bool:
        return (self.param(name) or "").lower() == "true"

    def json(self) -> Any:
        """The JSON body (None when empty); malformed JSON is Google's 400."""
        if not self.body.strip():
            return None
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise errors.bad_request(
                f"Invalid JSON payload received. Unexpected token.\n{exc}") from None


@dataclass
class Reply:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
        printed = json_numbers(payload)
        try:  # UTF-8, as Google answers; by orjson (a grid answer in a twentieth of json's time)
            data = orjson.dumps(printed)
        except orjson.JSONEncodeError:
            try:  # an integer beyond 64 bits
                data = json.dumps(printed, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError:  # half a UTF-16 pair (Sheets' LEFT() of an emoji)
                data = json.dumps(printed).encode("ascii")
        return cls(status, data, JSON_TYPE, dict(headers or {}))

    @classmethod
    def error(cls, exc: errors.ApiError) -> Reply:
        if isinstance(exc.body, str):
            return cls(exc.status, exc.body.encode("utf-8"), "text/html; charset=UTF-8",
                       dict(exc.headers))
        return cls.json(exc.status, exc.body, exc.headers)
