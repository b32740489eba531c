"""Benchmarks of sheets-sync (not timed tests): ``scripts/bench [--quick] [--json FILE]``.

Modules: ``synthetic`` (units generated in memory), ``emu_proc`` (the emulator in its own
process), ``sync`` (the tool's run against the emulator, bounds from the bucket model),
``concurrent`` (prototype of a concurrent run), ``naive`` (the gspread baseline), ``checking``
(parse + check and roll-up time and peak RSS, one subprocess per size), ``__main__`` (CLI,
tables, JSON). Method and results: BENCHMARKS.md.
"""
