"""The Organization Board's roll-up workbook (xlsxwriter).

Public API:
- ``build_rollup(config, report, reads, run_info, path) -> Path``: the workbook (sheets
  `Tổng hợp`, `Biểu đồ`, `Ma trận`, `Vi phạm`, `Dự sinh hoạt`, `Đánh giá năm`, `Nhà văn hóa`,
  `Nhật ký`), written to a temporary file and renamed, plus ``<stem>-vi-pham.csv`` next to it.
- ``rollup_path(config, as_of)``: ``out/tong-hop-<parent-slug>-<YYYY-MM>.xlsx``.
- ``write_latest(config, path, as_of)``: ``out/latest.json`` naming the newest workbook.
- ``csv_path(path)``: where the findings CSV of a workbook goes.

Modules: ``indicators`` (summary numbers), ``extract`` (detail-sheet values), ``layout``
(formats, print setup, Party document layout), ``summary`` / ``sheets`` / ``violations``
(sheet writers), ``build`` (assembly).
"""
from .build import SHEETS, build_rollup, csv_path, rollup_path, write_latest

__all__ = ["SHEETS", "build_rollup", "csv_path", "rollup_path", "write_latest"]
