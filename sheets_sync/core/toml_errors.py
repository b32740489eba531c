"""A TOML syntax error of the config file, said in Vietnamese: where (line, column, the line
itself) and what is wrong, with the fix for the usual slips — first of all a Windows path
written with backslashes inside double quotes.

``tomllib`` words its errors in English as "<what> (at line L, column C)"; the known ones are
matched here, any other keeps its English words after the Vietnamese "where".
"""
from __future__ import annotations

import re

_WHERE = re.compile(r"^(?P<what>.*) \(at (?:line (?P<line>\d+), column (?P<col>\d+)"
                    r"|(?P<end>end of document))\)$", re.S)

# tomllib's message (a regular expression over it) -> Vietnamese (groups kept).
_WHAT_VI = [
    (r"Unescaped '\\' in a string",
     "dấu '\\' trong chuỗi. Đường dẫn Windows hãy viết bằng dấu '/' (ví dụ "
     "\"D:/so-lieu/nhan-my.xlsx\") hoặc đặt trong dấu nháy đơn ('D:\\so-lieu\\nhan-my.xlsx')"),
    (r"Unterminated string", "chuỗi chưa có dấu nháy đóng"),
    (r"Unclosed array", "danh sách [ … ] chưa có dấu ']' đóng"),
    (r"Unclosed inline table", "bảng { … } chưa có dấu '}' đóng"),
    (r"Invalid value", "giá trị không hợp lệ (chữ phải đặt trong dấu nháy \"…\")"),
    (r"Invalid statement", "dòng không phải 'khóa = giá trị' hay '[mục]'"),
    (r"Invalid initial character for a key part", "tên khóa bắt đầu bằng ký tự không hợp lệ"),
    (r"Expected '=' after a key in a key/value pair", "thiếu dấu '=' sau tên khóa"),
    (r"Expected newline or end of document after a statement",
     "thừa nội dung sau giá trị (mỗi khóa một dòng; chữ phải đặt trong dấu nháy \"…\")"),
    (r"Expected ']' at the end of a table declaration", "thiếu dấu ']' cuối tên mục"),
    (r"Expected ']]' at the end of an array declaration", "thiếu ']]' cuối tên mục"),
    (r"Cannot declare (.+) twice", r"mục \1 được khai báo hai lần"),
    (r"Cannot overwrite a value", "một khóa được gán giá trị hai lần"),
    (r"Invalid date or datetime", "ngày hoặc giờ không hợp lệ (dạng YYYY-MM-DD)"),
    (r"Illegal character '\\n'", "chuỗi chưa có dấu nháy đóng trước khi hết dòng"),
    (r"Illegal character (.+)", r"ký tự không được phép \1"),
    (r"Found invalid character (.+)", r"ký tự không hợp lệ \1"),
    (r"Duplicate inline table key (.+)", r"khóa \1 lặp lại trong bảng { … }"),
    (r"Invalid hex value", "mã ký tự \\u… không hợp lệ"),
]


def toml_error_vi(message: str, text: str) -> str:
    """``message``: tomllib's (``str(TOMLDecodeError)``); ``text``: the file's text. "dòng L,
    cột C: <what>. Dòng L: <the line>" (or "cuối tệp: <what>")."""
    m = _WHERE.match(message)
    what, where, shown = message, "", ""
    if m is not None:
        what = m["what"]
        if m["end"]:
            where = "cuối tệp"
        else:
            line = int(m["line"])
            where = f"dòng {line}, cột {m['col']}"
            lines = text.splitlines()
            if 0 < line <= len(lines) and lines[line - 1].strip():
                shown = f" Dòng {line}: {lines[line - 1].strip()}"
    for pattern, vi in _WHAT_VI:
        found = re.fullmatch(pattern, what)
        if found:  # (not ``re.sub``: the texts hold backslashes)
            what = vi.replace("\\1", _key(found[1])) if found.groups() else vi
            break
    return f"{where}: {what}.{shown}" if where else f"{what}.{shown}"


def _key(text: str) -> str:
    """tomllib's key tuple ("('units', 'a')") as the file writes it ("units.a")."""
    parts = re.findall(r"'((?:[^'\\]|\\.)*)'", text) if text.startswith("(") else []
    return ".".join(parts) if parts else text
