"""Faults of the machine the job runs on, described for the operator (Vietnamese).

``describe(error)``: one line naming what failed and what to do, and the exit code, for any
exception — disk full, read-only or missing folders, a damaged history database, memory.
``usable_folder(path, what)``: make sure a folder the job writes into exists, is a folder and
takes a new file (a real write probe: permission bits say nothing when the job runs as root or
the file system is mounted read-only); raises ``StateFolderError`` otherwise. Nothing is ever
renamed or deleted here.
"""
from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import stat
import tempfile
from pathlib import Path

from .errors import (
    EXIT_UNITS_FAILED,
    EXIT_USAGE,
    HistoryDamaged,
    SheetsSyncError,
    StateFolderError,
)

_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG}
_READ_ONLY = {errno.EROFS, errno.EACCES, errno.EPERM}
_NOT_A_FOLDER = {errno.ENOTDIR, errno.EEXIST}
NOTHING_TOUCHED = "Không có tệp nào bị đổi tên hay xóa."


# What the system says of a file-system error, in Vietnamese (``os_reason``): the operator's
# PC may speak English, and ``strerror`` is in the system's language.
_REASONS_VI = {
    errno.ENOENT: "không tìm thấy tệp hoặc thư mục",
    errno.EACCES: "không có quyền truy cập, hoặc tệp đang mở trong chương trình khác",
    errno.EPERM: "hệ điều hành không cho phép thao tác này",
    errno.EISDIR: "đây là một thư mục, không phải tệp",
    errno.ENOTDIR: "một phần của đường dẫn là tệp, không phải thư mục",
    errno.EEXIST: "đã có tệp hoặc thư mục trùng tên",
    errno.ENOSPC: "ổ đĩa đã đầy",
    errno.EFBIG: "tệp quá lớn so với ổ đĩa",
    errno.EROFS: "ổ đĩa chỉ cho đọc",
    errno.EBUSY: "tệp hoặc ổ đĩa đang bận",
    errno.ENAMETOOLONG: "tên tệp hoặc đường dẫn quá dài",
    errno.ELOOP: "đường dẫn có liên kết vòng",
    errno.EIO: "lỗi đọc/ghi ổ đĩa",
    errno.EMFILE: "đang mở quá nhiều tệp cùng lúc",
    errno.ENFILE: "đang mở quá nhiều tệp cùng lúc",
    errno.EINVAL: "tên tệp hoặc đường dẫn không hợp lệ",
    errno.ETIMEDOUT: "ổ mạng không phản hồi",
    errno.EHOSTUNREACH: "không kết nối được ổ mạng",
    errno.ENETUNREACH: "không kết nối được ổ mạng",
    errno.ENXIO: "thiết bị không có sẵn (ổ đĩa đã rút ra?)",
    getattr(errno, "EDQUOT", errno.ENOSPC): "hết hạn mức dung lượng trên ổ đĩa",
}
# Windows: a file another program holds open (Excel, Word) or has locked.
_WINERROR_VI = {32: "tệp đang mở trong chương trình khác",
                33: "tệp đang bị khóa bởi chương trình khác"}


def os_reason(e: OSError) -> str:
    """Why a file operation failed, in Vietnamese; the system's own words when the error is
    none of the usual ones."""
    winerror = getattr(e, "winerror", None)
    if winerror in _WINERROR_VI:
        return _WINERROR_VI[winerror]
    if e.errno in _REASONS_VI:
        return _REASONS_VI[e.errno]
    return e.strerror or str(e) or type(e).__name__


def _where(path: str | os.PathLike[str] | None, what: str) -> str:
    return f"{what} {path}" if path else what


def full_message(path: str | os.PathLike[str] | None, what: str = "thư mục trạng thái") -> str:
    folder = Path(path).parent if path and Path(path).suffix and not Path(path).is_dir() \
        else path
    return (f"Ổ đĩa chứa {_where(folder, what)} đã đầy (hết chỗ trống) nên không ghi được. "
            "Hãy giải phóng dung lượng trên ổ đĩa đó (xóa tệp không cần, dọn thùng rác) hoặc "
            f"đổi [state] dir / [output] dir sang ổ khác, rồi chạy lại. {NOTHING_TOUCHED}")


def output_error(e: BaseException, what: str, path: Path, app: str) -> SheetsSyncError:
    """The operator's message when an output file (``what``: "bảng tổng hợp", "báo cáo") could
    not be written: a full disk, a read-only one, else why (``os_reason`` of the file-system
    error ``e`` is or wraps) and the advice for a file open in ``app`` or a folder it may not
    write into."""
    causes = [x for x in (e, e.__cause__ or e.__context__) if isinstance(x, OSError)]
    if any(x.errno in _FULL for x in causes):
        return SheetsSyncError(full_message(path, f"thư mục {what}"))
    if any(x.errno == errno.EROFS for x in causes):  # no file open can be the cause
        return SheetsSyncError(read_only_message(path.parent, f"thư mục {what}"))
    reason = os_reason(causes[0]) if causes else type(e).__name__
    return SheetsSyncError(
        f"Không ghi được {what} {path} ({reason}). Nếu tệp đang mở (ví dụ trong {app}), hãy "
        f"đóng tệp rồi chạy lại; nếu không, kiểm tra quyền ghi thư mục {path.parent}.")


def read_only_message(path: str | os.PathLike[str] | None, what: str = "thư mục trạng thái") -> str:
    return (f"Không ghi được vào {_where(path, what)}: thư mục chỉ đọc hoặc tài khoản chạy "
            "sheets-sync không có quyền ghi. Hãy cấp quyền ghi cho thư mục đó (hoặc bỏ thuộc "
            f"tính chỉ đọc) hoặc đổi [state] dir / [output] dir trong tệp cấu hình. "
            f"{NOTHING_TOUCHED}")


def not_a_folder_message(path: str | os.PathLike[str] | None, what: str = "thư mục trạng thái"
                         ) -> str:
    return (f"{_where(path, what).capitalize()} là một tệp (hoặc nằm dưới một tệp), không phải "
            "thư mục. Hãy sửa [state] dir / [output] dir trong tệp cấu hình thành một thư mục. "
            f"{NOTHING_TOUCHED}")


def os_error(e: OSError, what: str = "thư mục trạng thái") -> StateFolderError | None:
    """The operator's message for a file-system error, None when it is none of these. The
    folder named is the one holding the file that could not be written."""
    path = e.filename
    if path and not Path(path).is_dir() and e.errno not in _NOT_A_FOLDER:
        path = str(Path(path).parent)
    if e.errno in _FULL:
        return StateFolderError(full_message(path, what), EXIT_UNITS_FAILED)
    if e.errno in _READ_ONLY or isinstance(e, PermissionError):
        return StateFolderError(read_only_message(path, what), EXIT_USAGE)
    if e.errno in _NOT_A_FOLDER or isinstance(e, NotADirectoryError):
        return StateFolderError(not_a_folder_message(path, what), EXIT_USAGE)
    return None


def sqlite_kind(e: sqlite3.Error) -> str:
    """"full", "read-only", "damaged", "locked" or "" for an sqlite3 error."""
    text = str(e).lower()
    if "disk is full" in text or "database or disk is full" in text:
        return "full"
    if "readonly" in text or "read-only" in text or "unable to open database" in text:
        return "read-only"
    if "locked" in text or "busy" in text:
        return "locked"
    if ("malformed" in text or "not a database" in text or "encrypted" in text
            or "disk image" in text or "corrupt" in text or "could not decode" in text):
        return "damaged"
    if "disk i/o error" in text:
        return "io"
    return ""


def damaged_message(path: str | os.PathLike[str]) -> str:
    return (f"Kho lịch sử {path} bị hỏng. Tệp được giữ nguyên, không bị đổi tên hay xóa; lần "
            "chạy vẫn đọc, kiểm tra và ghi kết quả từ bảng tính, chỉ các quy tắc lịch sử "
            "(DATA-DELETED, DATA-CHANGED-CLOSED) tạm không kiểm tra được và lần đọc không được "
            "lưu. Hãy chạy 'sheets-sync history repair' để khôi phục kho.")


def sqlite_error(e: sqlite3.Error, path: str | os.PathLike[str]) -> SheetsSyncError | None:
    kind = sqlite_kind(e)
    if kind == "full":
        return StateFolderError(full_message(path, "kho lịch sử"), EXIT_UNITS_FAILED)
    if kind == "read-only":
        return StateFolderError(read_only_message(Path(path).parent), EXIT_USAGE)
    if kind == "damaged":
        return HistoryDamaged(damaged_message(path))
    if kind == "io" and _nearly_full(Path(path).parent):
        return StateFolderError(full_message(path, "kho lịch sử"), EXIT_UNITS_FAILED)
    if kind == "io":
        return StateFolderError(
            f"Lỗi đọc/ghi đĩa với kho lịch sử {path} (ổ đĩa lỗi, đầy, hoặc bị rút ra). Hãy "
            f"kiểm tra ổ đĩa rồi chạy lại. {NOTHING_TOUCHED}", EXIT_UNITS_FAILED)
    return None


def _nearly_full(folder: Path, margin: int = 1 << 20) -> bool:
    """Less than ``margin`` bytes free where ``folder`` lives (SQLite reports a full disk as a
    plain I/O error when its shared-memory file cannot grow)."""
    try:
        return shutil.disk_usage(folder).free < margin
    except OSError:
        return False


def describe(e: BaseException, what: str = "thư mục") -> tuple[str, int]:
    """One line for the operator, and the exit code (0/1/2/75), for any failure."""
    if isinstance(e, SheetsSyncError):
        return str(e), e.exit_code
    if isinstance(e, OSError):
        known = os_error(e, what)
        if known is not None:
            return str(known), known.exit_code
        where = f" với {e.filename}" if e.filename else ""
        return ((f"Lỗi hệ thống{where}: {os_reason(e)}. Hãy kiểm tra tệp/thư "
                "mục đó rồi chạy lại."), EXIT_UNITS_FAILED)
    if isinstance(e, sqlite3.Error):
        mapped = sqlite_error(e, "history.sqlite")
        if mapped is not None:
            return str(mapped), mapped.exit_code
        return (f"Kho lịch sử báo lỗi ({type(e).__name__}).", EXIT_UNITS_FAILED)
    if isinstance(e, MemoryError):
        return (("Không đủ bộ nhớ để chạy xong. Hãy đóng bớt chương trình khác hoặc chạy với "
                "--unit từng đơn vị."), EXIT_UNITS_FAILED)
    return (f"Lỗi ngoài dự kiến ({type(e).__name__}).", EXIT_UNITS_FAILED)


def usable_folder(path: str | os.PathLike[str], what: str = "thư mục trạng thái") -> Path:
    """``path`` as a folder the job can write into (created when missing)."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise StateFolderError(not_a_folder_message(folder, what), EXIT_USAGE)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".sheets-sync-probe-", dir=folder)
        try:
            os.write(fd, b"x")
        finally:
            os.close(fd)
            os.unlink(probe)  # our own probe: a unique name created just now
    except OSError as e:
        known = os_error(e, what)
        if known is None:
            raise
        if e.errno in _READ_ONLY or isinstance(e, PermissionError):
            raise StateFolderError(read_only_message(folder, what), EXIT_USAGE) from None
        if e.errno in _FULL:
            raise StateFolderError(full_message(folder, what), EXIT_UNITS_FAILED) from None
        raise StateFolderError(not_a_folder_message(folder, what), EXIT_USAGE) from None
    return folder


def not_regular_file(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` must not be opened as a workbook (None when it is a regular file, or does
    not exist: the caller says "not found"). Checked with ``stat`` alone, so a FIFO, a device
    (``/dev/zero``), a socket or a folder is refused before any ``open`` could block or read
    for ever."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as e:
        return f"không truy cập được ({os_reason(e)})"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "là một thư mục, không phải tệp .xlsx"
    if stat.S_ISFIFO(mode):
        return "là một ống dẫn (FIFO), không phải tệp .xlsx"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "là một thiết bị (device), không phải tệp .xlsx"
    if stat.S_ISSOCK(mode):
        return "là một socket, không phải tệp .xlsx"
    return "không phải tệp thường"
