"""Click's own words reach the operator in Vietnamese: a mistyped command or option, a missing
value, a value not allowed, and the frames around them ("Cách dùng", "Xem hướng dẫn", "Lỗi");
the headings and built-in options of every help page (``sheets_sync._click_vi``)."""
from __future__ import annotations

import ast
import inspect
import re
import unicodedata

import pytest
from click.testing import CliRunner

from sheets_sync import _click_vi
from sheets_sync.cli import cli

ENGLISH = re.compile(r"\b(Usage|Error|Try|No such|Did you mean|Missing|requires|Invalid value|"
                     r"is not one of|Show this message|Options|Commands|default)\b")


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), prog_name="sheets-sync")


@pytest.mark.parametrize("args, expected", [
    (["chek"], "Lỗi: Không có lệnh 'chek'. Có phải ý bạn là 'check'?"),
    (["check", "--bogus"], "Lỗi: Không có tùy chọn '--bogus'."),
    (["check", "--config"], "Lỗi: Tùy chọn '--config' cần một giá trị."),
    (["check", "--format", "xml"],
     "Lỗi: Giá trị không hợp lệ cho '--format': 'xml' không phải một trong 'table', 'json', "
     "'csv'."),
    (["status", "--limit", "0"], "Lỗi: Giá trị không hợp lệ cho '--limit': 0 nằm ngoài khoảng"),
    (["status", "--limit", "mười"], "'mười' không phải là số hợp lệ."),
    (["check", "thừa"], "Lỗi: Thừa tham số: thừa."),
])
def test_usage_errors_are_in_vietnamese(args, expected):
    result = invoke(*args)
    assert result.exit_code == 2
    assert expected in result.output
    if "Cách dùng" in result.output:  # (a common option's missing value: the message alone)
        assert "Cách dùng: sheets-sync" in result.output
        assert "Xem hướng dẫn: 'sheets-sync" in result.output
    assert not ENGLISH.search(result.output), result.output


def test_help_headings_and_built_in_options_are_in_vietnamese():
    top = invoke("--help").output
    assert "Cách dùng: sheets-sync" in top and "\nTùy chọn:\n" in top and "\nLệnh:\n" in top
    assert "In số phiên bản rồi thoát." in top and "In hướng dẫn này rồi thoát." in top
    status = invoke("status", "--help").output
    assert "[mặc định: 10; x>=1]" in status
    assert not ENGLISH.search(top + status)
    assert invoke("--version").output.startswith("sheets-sync, phiên bản ")


def test_every_translated_message_is_still_one_of_clicks():
    """A click upgrade that rewords a message would leave it in English: each key is a
    message of the installed click, and each translation keeps its placeholders."""
    messages = {arg.value for module in _click_vi._MODULES
                for node in ast.walk(ast.parse(inspect.getsource(module)))
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("_", "ngettext")
                for arg in node.args
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str)}
    for msgid, vi in _click_vi.MESSAGES.items():
        assert msgid in messages, msgid
        assert set(re.findall(r"\{\w+", vi)) <= set(re.findall(r"\{\w+", msgid)), msgid
        assert unicodedata.normalize("NFC", vi) == vi
