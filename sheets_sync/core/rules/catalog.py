"""Every rule as data: ID, severity, source, tab, parameters, Vietnamese description, and the
short Vietnamese name and fix that staff read in the flag cells.

The check functions live in one module per family; this table is what `sheets-sync rules`
prints and what the README's rule table is generated from.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..severity import ERROR, INFO, WARNING


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str  # "error", "warning", "info", or "error/warning" for two-level rules
    source: str
    family: str
    tab: str | None  # template tab name the findings are about
    params: tuple[str, ...]
    description: str
    name_vi: str = ""  # short name starting a staff-facing line ("Thiếu họp chi ủy")
    fix_vi: str = ""  # what to do, lower-case, after "→ " ("nhập ngày họp chi ủy chuẩn bị")


# Rule ID -> (short Vietnamese name, what to do). Every rule must have an entry (checked at
# import time by ``_r``). Staff read "<name>: <what is wrong with the row> → <what to do>".
TEXTS: dict[str, tuple[str, str]] = {
    "TPL-TAB-MISSING": ("Thiếu tab", "thêm tab theo mẫu (xem tab Hướng dẫn) hoặc sửa lại tên tab"),
    "TPL-COLUMN-MISSING": ("Thiếu cột",
                           "thêm cột theo mẫu hoặc sửa tiêu đề cột cho đúng (xem tab Hướng dẫn)"),
    "TPL-COLUMN-DUPLICATE": ("Trùng cột", "xóa hoặc đổi tên một trong hai cột trùng tên"),
    "DATA-REQUIRED": ("Thiếu số liệu", "nhập ô còn trống"),
    "DATA-INVALID": ("Giá trị không đọc được",
                     "sửa lại giá trị theo đúng kiểu của cột (xem tab Hướng dẫn)"),
    "DATA-FUTURE-DATE": ("Ngày chưa tới", "kiểm tra lại ngày đã nhập"),
    "DATA-UNKNOWN-CELL": ("Mã chi bộ không có trong danh sách",
                          "sửa mã chi bộ, hoặc thêm chi bộ vào tab Chi bộ"),
    "DATA-DUPLICATE-CELL": ("Trùng mã chi bộ", "mỗi chi bộ chỉ một dòng: sửa hoặc xóa dòng trùng"),
    "DATA-ATTENDANCE-SUM": ("Số dự không khớp",
                            "kiểm tra lại số phải dự, số có mặt và số vắng"),
    "CELL-ASSIGNEE": ("Chưa phân công phụ trách", "nhập tên đảng ủy viên phụ trách chi bộ"),
    "CELL-SIZE": ("Chi bộ ít đảng viên chính thức", "báo Đảng ủy xem xét kiện toàn chi bộ"),
    "CELL-SECRETARY-DUAL": ("Bí thư chưa kiêm nhiệm",
                            ("xem xét bố trí bí thư kiêm trưởng thôn, tổ trưởng hoặc thủ trưởng "
                             "(thực hiện từng bước)")),
    "MEET-MISSING": ("Thiếu sinh hoạt thường kỳ",
                     ("nhập buổi sinh hoạt của tháng vào tab Sinh hoạt; nếu chưa sinh hoạt thì "
                      "báo cáo lý do với Đảng ủy")),
    "MEET-DUPLICATE": ("Trùng buổi sinh hoạt",
                       "xóa dòng nhập trùng, hoặc sửa loại sinh hoạt / kỳ tháng cho đúng"),
    "MEET-WINDOW": ("Sinh hoạt ngoài ngày quy định",
                    ("sửa ngày nếu nhập sai; nếu đúng thì ghi lý do vào cột \"Lý do ngoài ngày "
                     "quy định\"")),
    "MEET-PREFERRED-DAY": ("Không vào ngày sinh hoạt ưu tiên",
                           "nên sinh hoạt vào ngày ưu tiên (chỉ lưu ý, không phải vi phạm)"),
    "MEET-DURATION": ("Chưa đủ thời lượng",
                      ("sinh hoạt đủ thời gian; nếu nhập sai thì sửa thời lượng hoặc giờ bắt đầu, "
                       "kết thúc")),
    "MEET-ATTENDANCE": ("Tỷ lệ dự thấp",
                        "kiểm tra lại số phải dự và số có mặt; đôn đốc đảng viên dự sinh hoạt"),
    "MEET-UNEXCUSED": ("Vắng không lý do",
                       "chi bộ nhắc nhở, kiểm điểm đảng viên vắng không lý do"),
    "MEET-PREMEETING": ("Thiếu họp chi ủy", "nhập ngày họp chi ủy chuẩn bị"),
    "MEET-MINUTES": ("Biên bản chưa đầy đủ",
                     "ghi biên bản đầy đủ rồi sửa cột \"Biên bản ghi đầy đủ\""),
    "MEET-CONTENT": ("Nội dung chưa gắn nghị quyết",
                     "gắn nội dung sinh hoạt với Nghị quyết TW4 hoặc học tập, làm theo Bác"),
    "MEET-CRITICISM": ("Chưa tự phê bình và phê bình",
                       "tiến hành tự phê bình và phê bình, ghi vào biên bản"),
    "MEET-DOCS-APP": ("Đăng tài liệu muộn",
                      "đăng tài liệu lên Sổ tay đảng viên trước buổi sinh hoạt ít nhất 1 ngày"),
    "MEET-RATING-MISSING": ("Chưa xếp loại",
                            "nhập xếp loại buổi sinh hoạt (Tốt, Khá, Trung bình, Kém)"),
    "MEET-RATING-INFLATED": ("Xếp loại chưa sát",
                             "xem lại xếp loại cho sát với kết quả buổi sinh hoạt"),
    "THEME-QUARTERLY": ("Thiếu sinh hoạt chuyên đề",
                        "tổ chức sinh hoạt chuyên đề trong quý và nhập vào tab Sinh hoạt"),
    "BRIEF-DEADLINE": ("Triển khai muộn",
                       ("triển khai nhiệm vụ tháng sau cho bí thư chi bộ trước ngày 30 và nhập "
                        "vào tab Triển khai")),
    "SUP-MONTHLY": ("Cấp ủy cấp trên chưa dự sinh hoạt",
                    ("đồng chí được phân công dự sinh hoạt ít nhất một chi bộ mỗi tháng; nhập "
                     "vào tab Dự sinh hoạt")),
    "SUP-RECORD": ("Thiếu ghi sổ, xác nhận",
                   "ghi Sổ dự sinh hoạt và lấy xác nhận của chi ủy và đảng ủy"),
    "SUP-NO-MEETING": ("Ngày dự không có buổi sinh hoạt",
                       "kiểm tra lại ngày dự, hoặc nhập buổi sinh hoạt của chi bộ ngày đó"),
    "MEMBER-EXCUSED-STREAK": ("Vắng có lý do nhiều kỳ liên tiếp",
                              "chi bộ gặp gỡ, nhắc nhở đảng viên"),
    "MEMBER-ABANDON": ("Vắng không lý do nhiều tháng",
                       "chi bộ xem xét, đề nghị xóa tên theo Điều lệ Đảng"),
    "ANNUAL-RATING": ("Tự xếp loại năm cao",
                      "xem lại tự xếp loại năm cho sát với xếp loại các tháng"),
    "HOUSE-NEED": ("Nhà văn hóa chưa đáp ứng",
                   "đề xuất xây mới hoặc nâng cấp trong kế hoạch ngân sách"),
    "DATA-DELETED": ("Dòng bị xóa",
                     "khôi phục dòng nếu xóa nhầm; nếu xóa đúng thì báo người vận hành xác nhận"),
    "DATA-CHANGED-CLOSED": ("Sửa số liệu tháng đã khóa sổ",
                            "báo lý do sửa cho người vận hành để xác nhận"),
}


# Two-level rules whose lower level needs another fix (MEET-WINDOW is a warning when a reason
# was written: nothing left to type, a person reviews it).
FIX_BY_SEVERITY: dict[tuple[str, str], str] = {
    ("MEET-WINDOW", WARNING): "không cần sửa nếu ngày đúng; nếu nhập sai thì sửa ngày",
}


def _r(id: str, severity: str, source: str, family: str, tab: str | None,
       params: tuple[str, ...], description: str) -> Rule:
    name_vi, fix_vi = TEXTS[id]
    return Rule(id, severity, source, family, tab, tuple(params), description, name_vi, fix_vi)


RULES: tuple[Rule, ...] = (
    # Template and data (every tab)
    _r("TPL-TAB-MISSING", ERROR, "template", "template", None, (),
       "Thiếu tab bắt buộc (so tên sau khi chuẩn hóa)."),
    _r("TPL-COLUMN-MISSING", ERROR, "template", "template", None, (),
       "Thiếu cột bắt buộc trong tab; gợi ý cột gần giống nếu có."),
    _r("TPL-COLUMN-DUPLICATE", ERROR, "template", "template", None, (),
       "Hai tiêu đề cột trùng nhau sau khi chuẩn hóa; dùng cột đầu tiên."),
    _r("DATA-REQUIRED", WARNING, "template", "data", None, (),
       "Ô bắt buộc để trống trong một dòng có số liệu."),
    _r("DATA-INVALID", WARNING, "template", "data", None, (),
       "Giá trị không đọc được theo kiểu dữ liệu của cột hoặc ngoài khoảng cho phép."),
    _r("DATA-FUTURE-DATE", WARNING, "template", "data", None, (),
       "Ngày của việc đã diễn ra nằm sau ngày kiểm tra."),
    _r("DATA-UNKNOWN-CELL", ERROR, "template", "data", None, (),
       "Mã chi bộ không có trong tab Chi bộ."),
    _r("DATA-DUPLICATE-CELL", ERROR, "template", "data", "Chi bộ", (),
       "Một mã chi bộ xuất hiện hai lần trong tab Chi bộ."),
    _r("DATA-ATTENDANCE-SUM", WARNING, "template", "data", "Sinh hoạt", (),
       "Có mặt + vắng có lý do + vắng không lý do khác số phải dự, "
       "hoặc có mặt nhiều hơn số phải dự."),
    # Cell register
    _r("CELL-ASSIGNEE", WARNING, "CT §4", "cells", "Chi bộ", (),
       "Chưa phân công đảng ủy viên phụ trách chi bộ."),
    _r("CELL-SIZE", WARNING, "ĐL", "cells", "Chi bộ", ("min_official_members",),
       "Chi bộ có ít hơn số đảng viên chính thức tối thiểu."),
    _r("CELL-SECRETARY-DUAL", INFO, "CT §3", "cells", "Chi bộ", (),
       "Bí thư chi bộ thôn/tổ dân phố chưa đồng thời là trưởng thôn/tổ trưởng, hoặc bí thư chi bộ "
       "cơ quan, đơn vị chưa đồng thời là thủ trưởng (thực hiện từng bước, chỉ lưu ý)."),
    # Regular monthly meetings
    _r("MEET-MISSING", ERROR, "ĐL, CT §5", "meetings", "Sinh hoạt",
       ("window_end_day", "report_grace_days"),
       "Chi bộ không có buổi sinh hoạt thường kỳ của tháng sau thời hạn."),
    _r("MEET-DUPLICATE", WARNING, "data", "meetings", "Sinh hoạt", (),
       "Nhiều hơn một buổi sinh hoạt thường kỳ cho cùng chi bộ và tháng."),
    _r("MEET-WINDOW", "error/warning", "CT §5", "meetings", "Sinh hoạt",
       ("window_start_day", "window_end_day"),
       "Sinh hoạt thường kỳ ngoài khung ngày quy định của tháng; cảnh báo khi có ghi lý do."),
    _r("MEET-PREFERRED-DAY", INFO, "CT §5", "meetings", "Sinh hoạt", ("preferred_day",),
       "Sinh hoạt trong khung ngày nhưng không vào ngày ưu tiên (mùng 3)."),
    _r("MEET-DURATION", ERROR, "HD12, HD42", "meetings", "Sinh hoạt",
       ("min_minutes_regular", "min_minutes_combined", "small_cell_members",
        "min_minutes_small_cell", "duration_tolerance_minutes"),
       "Thời lượng sinh hoạt dưới mức tối thiểu (90 phút; kết hợp chuyên đề 120 phút)."),
    _r("MEET-ATTENDANCE", ERROR, "HD12", "meetings", "Sinh hoạt", ("min_attendance_rate",),
       "Tỷ lệ đảng viên có mặt không vượt quá mức tối thiểu (trên 85%)."),
    _r("MEET-UNEXCUSED", ERROR, "HD12", "meetings", "Sinh hoạt", (),
       "Có đảng viên vắng mặt không có lý do."),
    _r("MEET-PREMEETING", ERROR, "HD12, CT §4", "meetings", "Sinh hoạt", ("premeeting_max_days",),
       "Không có ngày họp chi ủy chuẩn bị, hoặc họp sau buổi sinh hoạt, hoặc quá sớm."),
    _r("MEET-MINUTES", ERROR, "HD12, CT §2", "meetings", "Sinh hoạt", (),
       "Biên bản sinh hoạt không ghi đầy đủ."),
    _r("MEET-CONTENT", WARNING, "CT §2", "meetings", "Sinh hoạt", (),
       "Nội dung sinh hoạt không gắn với Nghị quyết TW4 và học tập, làm theo Bác."),
    _r("MEET-CRITICISM", WARNING, "CT §2", "meetings", "Sinh hoạt", (),
       "Không tiến hành tự phê bình và phê bình."),
    _r("MEET-DOCS-APP", ERROR, "HD42", "meetings", "Sinh hoạt",
       ("docs_app_enabled", "docs_app_effective_from", "docs_app_lead_days"),
       "Tài liệu không được đăng lên Sổ tay đảng viên ít nhất 1 ngày trước buổi sinh hoạt."),
    _r("MEET-RATING-MISSING", WARNING, "CT §2", "meetings", "Sinh hoạt", (),
       "Buổi sinh hoạt thường kỳ chưa được xếp loại chất lượng."),
    _r("MEET-RATING-INFLATED", WARNING, "CT §2", "meetings", "Sinh hoạt", ("rating_thresholds",),
       "Xếp loại Tốt nhưng buổi sinh hoạt vi phạm tiêu chí, "
       "hoặc điểm tự chấm thấp hơn mức xếp loại."),
    # Thematic meetings
    _r("THEME-QUARTERLY", ERROR, "HD12", "thematic", "Sinh hoạt",
       ("thematic_per_quarter", "report_grace_days"),
       "Chi bộ không sinh hoạt chuyên đề trong quý."),
    # Commune duties
    _r("BRIEF-DEADLINE", ERROR, "CT §4", "briefing", "Triển khai",
       ("brief_deadline_day", "brief_deadline_inclusive", "report_grace_days"),
       "Đảng ủy triển khai nhiệm vụ tháng sau cho bí thư chi bộ muộn (từ ngày 30) "
       "hoặc không triển khai."),
    # Supervision
    _r("SUP-MONTHLY", ERROR, "CT §8", "supervision", "Dự sinh hoạt", ("report_grace_days",),
       "Đồng chí cấp ủy cấp trên được phân công không dự sinh hoạt chi bộ nào trong tháng."),
    _r("SUP-RECORD", WARNING, "CT §8", "supervision", "Dự sinh hoạt", (),
       "Lần dự sinh hoạt chưa ghi Sổ dự sinh hoạt hoặc chưa có xác nhận của chi ủy và đảng ủy."),
    _r("SUP-NO-MEETING", WARNING, "CT §8", "supervision", "Dự sinh hoạt", (),
       "Ngày dự sinh hoạt không trùng buổi sinh hoạt nào của chi bộ đó."),
    # Members
    _r("MEMBER-EXCUSED-STREAK", "error/warning", "HD12", "members", "Điểm danh",
       ("max_consecutive_excused",),
       "Đảng viên vắng có lý do nhiều kỳ liên tiếp (cảnh báo ở kỳ thứ 3, vi phạm ở kỳ thứ 4)."),
    _r("MEMBER-ABANDON", ERROR, "ĐL art. 8", "members", "Điểm danh", ("abandon_months",),
       "Đảng viên vắng không lý do từ 3 tháng trở lên trong năm: chi bộ phải xem xét xóa tên."),
    # Annual rating
    _r("ANNUAL-RATING", WARNING, "CT §7, §10", "annual", "Đánh giá năm",
       ("annual_min_tot", "annual_max_kem"),
       "Tự xếp loại năm cao hơn mức suy ra từ xếp loại các tháng."),
    # Cultural houses
    _r("HOUSE-NEED", INFO, "CT §9", "halls", "Nhà văn hóa", (),
       "Chưa có nhà văn hóa, nhà văn hóa xuống cấp hoặc không đủ chỗ cho đảng viên chi bộ."),
    # History (need the history store)
    _r("DATA-DELETED", WARNING, "history", "history", None, (),
       "Một dòng có ở lần đọc trước đã bị xóa."),
    _r("DATA-CHANGED-CLOSED", WARNING, "history", "history", None, (),
       "Dòng của tháng đã khóa sổ bị sửa sau đó."),
)

BY_ID: dict[str, Rule] = {r.id: r for r in RULES}


def rule_name_vi(rule_id: str) -> str:
    """The rule's short Vietnamese name ("Thiếu họp chi ủy"); the ID itself when unknown."""
    rule = BY_ID.get(rule_id)
    return rule.name_vi if rule is not None and rule.name_vi else rule_id


def rule_fix_vi(rule_id: str, severity: str | None = None) -> str:
    """What to do about a finding of this rule (lower-case); "" when unknown."""
    if severity is not None and (rule_id, severity) in FIX_BY_SEVERITY:
        return FIX_BY_SEVERITY[(rule_id, severity)]
    rule = BY_ID.get(rule_id)
    return rule.fix_vi if rule is not None else ""
