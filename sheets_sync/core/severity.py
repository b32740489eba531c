"""Severities of findings: the three levels, their order and Vietnamese names. The lowest piece
of the finding model: the rule catalog and ``findings`` both build on it."""
from __future__ import annotations

ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITY_ORDER = {ERROR: 0, WARNING: 1, INFO: 2}
SEVERITY_VI = {ERROR: "Vi phạm", WARNING: "Cảnh báo", INFO: "Lưu ý"}
