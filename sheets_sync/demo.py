"""``python -m sheets_sync.demo --out DIR --as-of DATE``: the demo district generator.

The generator is a development tool in its own package (``tools/demo``, installed by
``scripts/demo`` and ``scripts/test``), so a production install does not carry it; this module
only forwards to it.
"""
from __future__ import annotations

import sys

_MISSING = ("Chưa cài bộ tạo dữ liệu demo (gói sheets-sync-demo). Trong thư mục mã nguồn, chạy "
            "scripts/demo, hoặc: pip install -e tools/demo")


def main(argv: list[str] | None = None) -> int:
    try:
        from sheets_sync_demo import main as demo_main
    except ModuleNotFoundError:
        print(_MISSING, file=sys.stderr)
        return 2
    return demo_main(argv)


if __name__ == "__main__":
    sys.exit(main())
