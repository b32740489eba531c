"""Why a file operation failed, in Vietnamese (``faults.os_reason``): the operator's PC may
speak English, and the system's ``strerror`` is in its language."""
from __future__ import annotations

import errno
import os
import unicodedata

import pytest

from sheets_sync.core.faults import describe, os_reason

USUAL = [errno.ENOENT, errno.EACCES, errno.EPERM, errno.EISDIR, errno.ENOTDIR, errno.EEXIST,
         errno.ENOSPC, errno.EROFS, errno.EBUSY, errno.ENAMETOOLONG, errno.ELOOP, errno.EIO,
         errno.EMFILE, errno.EINVAL, errno.ETIMEDOUT]


@pytest.mark.parametrize("code", USUAL, ids=errno.errorcode.get)
def test_usual_errors_are_said_in_vietnamese(code):
    error = OSError(code, os.strerror(code), "/srv/out/tong-hop.xlsx")
    reason = os_reason(error)
    assert reason != os.strerror(code)
    assert unicodedata.normalize("NFC", reason) == reason
    assert any(ch in reason for ch in "ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ")


def test_a_file_open_in_another_program_on_windows_says_so():
    error = PermissionError(errno.EACCES, "The process cannot access the file because it is "
                                          "being used by another process")
    error.winerror = 32  # type: ignore[attr-defined]  # as Windows sets it
    assert os_reason(error) == "tệp đang mở trong chương trình khác"


def test_an_unusual_error_keeps_the_systems_words():
    error = OSError(errno.EXDEV, os.strerror(errno.EXDEV))
    assert os_reason(error) == os.strerror(errno.EXDEV)
    assert os_reason(OSError("no errno at all")) == "no errno at all"


def test_the_fault_boundary_says_it_in_vietnamese():
    line, _ = describe(OSError(errno.EIO, os.strerror(errno.EIO), "/srv/state/x"))
    assert "lỗi đọc/ghi ổ đĩa" in line and os.strerror(errno.EIO) not in line
