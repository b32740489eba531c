"""Config loading: the template.md contract, rejection of wrong types and unknown keys."""
from __future__ import annotations

from datetime import date

import pytest

from sheets_sync.core.config import load_config
from sheets_sync.core.errors import ConfigError

BASE = """
[parent]
name = "Đảng bộ huyện Lý Nhân"

[[units]]
code = "NT"
name = "Đảng ủy xã Nhân Thịnh"
path = "data/nhan-thinh.xlsx"

[[units]]
code = "NM"
name = "Đảng ủy xã Nhân Mỹ"
spreadsheet = "1AbCdEf"
rules = { window_end_day = 10, preferred_day = false }

[[supervisors]]
name = "Trần Văn Bình"
role = "Ủy viên Ban Thường vụ"
units = ["NT", "NM"]
aliases = ["Trần V. Bình"]

[labels]
parent = "Huyện ủy"

[rules]
window_end_day = 6
docs_app_effective_from = 2025-12-01

[[accepted]]
unit = "NT"
rule = "MEET-WINDOW"
period = "2026-02"
"""


def write(tmp_path, text):
    p = tmp_path / "sub" / "config.toml"
    p.parent.mkdir(exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


def test_full_config(tmp_path):
    c = load_config(write(tmp_path, BASE))
    assert c.parent_name == "Đảng bộ huyện Lý Nhân"
    nt, nm = c.units
    assert nt.path == tmp_path / "sub" / "data" / "nhan-thinh.xlsx"
    assert nm.is_google and nm.spreadsheet == "1AbCdEf"
    assert nt.rules["window_end_day"] == 6 and nt.rules["preferred_day"] == 3
    assert nm.rules["window_end_day"] == 10 and nm.rules["preferred_day"] is None
    assert nt.rules["docs_app_effective_from"] == date(2025, 12, 1)
    assert c.supervisors[0].names() == ("Trần Văn Bình", "Trần V. Bình")
    assert c.labels["parent"] == "Huyện ủy" and c.labels["cell"] == "Chi bộ"
    assert c.accepted[0].rule == "MEET-WINDOW"
    assert c.state_dir == tmp_path / "sub" / "state"
    assert c.unit("nt") is nt


@pytest.mark.parametrize("change, words", [
    (("[labels]", "[labels]\ncolour = 1"), ["labels", "colour"]),
    (("window_end_day = 6", "window_end_day = \"6\""), ["window_end_day"]),
    (("window_end_day = 6", "window_end_dya = 6"), ["window_end_dya"]),
    (("rules = { window_end_day = 10,", "rules = { window = 10,"), ["units[2].rules", "window"]),
    (('units = ["NT", "NM"]', 'units = ["NT", "XX"]'), ["supervisors[1].units", "XX"]),
    (('spreadsheet = "1AbCdEf"', 'spreadsheet = "1AbCdEf"\npath = "x.xlsx"'), ["units[2]"]),
    (('code = "NM"', 'code = "NT"'), ["units[2]", "trùng"]),
    (("[parent]", "[parnet]"), ["parnet"]),
    (('name = "Đảng bộ huyện Lý Nhân"', 'name = 5'), ["parent.name"]),
])
def test_rejected_with_key_and_file(tmp_path, change, words):
    path = write(tmp_path, BASE.replace(*change, 1))
    with pytest.raises(ConfigError) as e:
        load_config(path)
    msg = str(e.value)
    assert str(path) in msg
    for w in words:
        assert w in msg


def test_missing_and_broken_file(tmp_path):
    with pytest.raises(ConfigError, match="Không tìm thấy"):
        load_config(tmp_path / "none.toml")
    with pytest.raises(ConfigError, match="TOML"):
        load_config(write(tmp_path, "[parent\n"))


@pytest.mark.parametrize("change, words", [
    # a Windows path in double quotes: "\s" is no TOML escape
    (('path = "data/nhan-thinh.xlsx"', 'path = "D:\\so-lieu\\nhan-thinh.xlsx"'),
     ["dòng 8, cột 13: dấu '\\' trong chuỗi", "dấu '/'", "nháy đơn",
      'Dòng 8: path = "D:\\so-lieu\\nhan-thinh.xlsx"']),
    (('name = "Đảng bộ huyện Lý Nhân"', "name = Đảng bộ huyện Lý Nhân"),
     ["dòng 3, cột 8: giá trị không hợp lệ (chữ phải đặt trong dấu nháy"]),
    (('name = "Đảng bộ huyện Lý Nhân"', 'name = "Đảng bộ huyện Lý Nhân'),
     ["dòng 3", "chuỗi chưa có dấu nháy đóng trước khi hết dòng"]),
    (("[labels]", "[parent]"), ["mục parent được khai báo hai lần", "Dòng 22: [parent]"]),
    (('code = "NT"', 'code = "NT" name = "X"'), ["thừa nội dung sau giá trị"]),
    (('aliases = ["Trần V. Bình"]', 'aliases = ["Trần V. Bình"'), ["danh sách [ … ] chưa"]),
])
def test_toml_syntax_errors_say_where_and_what_in_vietnamese(tmp_path, change, words):
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, BASE.replace(*change)))
    msg = str(e.value)
    assert "không đúng cú pháp TOML" in msg and str(tmp_path) in msg
    for w in words:
        assert w in msg, msg
    assert "(at line" not in msg and "Expected" not in msg and "Invalid" not in msg


@pytest.mark.parametrize("where, line", [
    ("units[1].path", 'path = "D:\\new\\table.xlsx"'),  # valid TOML: a newline and a tab
    ("state.dir", '[state]\ndir = "E:\\tmp\\new"'),
])
def test_a_backslash_escape_in_a_path_is_refused_with_the_fix(tmp_path, where, line):
    text = BASE.replace('path = "data/nhan-thinh.xlsx"', line) if "units" in where \
        else BASE + line + "\n"
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, text))
    msg = str(e.value)
    assert f"mục {where}: đường dẫn" in msg and "ký tự xuống dòng/tab" in msg
    assert "dấu '/'" in msg and "nháy đơn" in msg
