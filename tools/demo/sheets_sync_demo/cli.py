"""``python -m sheets_sync_demo`` / ``python -m sheets_sync.demo``: the command line."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from .generator import default_period, generate_demo


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m sheets_sync.demo",
        description="Tạo dữ liệu demo: các sổ tính của đảng ủy xã và tệp config.toml.")
    p.add_argument("--out", default="demo", help="thư mục đích (mặc định: demo)")
    p.add_argument("--year", type=int, default=None,
                   help="năm của dữ liệu (mặc định: năm kiểm tra)")
    p.add_argument("--as-of", default=None, help="ngày kiểm tra YYYY-MM-DD (mặc định: hôm nay)")
    p.add_argument("--seed", type=int, default=2026)
    args = p.parse_args(argv)
    if args.as_of:
        try:
            as_of = date.fromisoformat(args.as_of)
        except ValueError:
            p.error(f"--as-of không hợp lệ: {args.as_of!r} (cần dạng YYYY-MM-DD)")
    elif args.year is not None and args.year < date.today().year:
        as_of = date(args.year, 12, 31)
    else:
        as_of = date.today()
    year, as_of = default_period(as_of, args.year)
    config = generate_demo(Path(args.out), year, as_of, args.seed)
    print(config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
