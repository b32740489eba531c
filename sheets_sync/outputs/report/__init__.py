"""The December report (python-docx): "BÁO CÁO tình hình, chất lượng sinh hoạt chi bộ năm
YYYY" in the Party's document format (Hướng dẫn 36-HD/VPTW), for the parent or for one unit.

Public API:
- ``build_report(model, path=None, unit=None) -> Path``: the .docx, every figure from the
  roll-up model (``rollup.model.build_model``), written to a temporary file and renamed.
- ``report_path(model, unit=None)``: ``out/bao-cao-<parent-slug>[-<unit>]-<YYYY>.docx``.
"""
from .build import build_report, report_path

__all__ = ["build_report", "report_path"]
