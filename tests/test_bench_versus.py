"""``python -m benchmarks.versus``: issue 17's targets as ratios to the base measured in the
same minutes. Nothing about speed is asserted: the arithmetic, and that the store driver still
runs against this tree's API (it also runs against the base's, which CI does not check out)."""
from __future__ import annotations

from pathlib import Path

from benchmarks.versus import ISSUE_17, Target, compare, measure

ROOT = Path(__file__).resolve().parent.parent


def test_each_target_is_judged_by_its_ratio_pair_by_pair():
    targets = (Target("check_s", "parse + check", 10, 20), Target("rollup_s", "roll-up", 15, 100))
    base = [{"check_s": 40.0, "rollup_s": 160.0}, {"check_s": 30.0, "rollup_s": 100.0}]
    # pairs: 19/40 = 0.475 and 12/30 = 0.4 -> median 0.4375 ≤ 0.5; the roll-up's 0.15 and
    # 0.16 -> 0.155 > 0.15 although 24 s is faster than the base ever was
    now = [{"check_s": 19.0, "rollup_s": 24.0}, {"check_s": 12.0, "rollup_s": 16.0}]
    rows = {r["key"]: r for r in compare(base, now, targets)}
    assert rows["check_s"]["ratios"] == [0.475, 0.4] and rows["check_s"]["ratio"] == 0.438
    assert rows["check_s"]["target_ratio"] == 0.5 and rows["check_s"]["met"] is True
    assert rows["rollup_s"]["ratio"] == 0.155 and rows["rollup_s"]["met"] is False


def test_a_figure_not_measured_is_left_out():
    rows = compare([{"check_s": 40.0}], [{"check_s": 12.0}])
    assert [r["key"] for r in rows] == ["check_s"]


def test_the_issue_targets_are_the_ratios_it_asks_for():
    by_key = {t.key: t for t in ISSUE_17}
    assert round(by_key["check_s"].ratio, 3) == 0.455  # 10 s against 13 + 9 s
    assert round(by_key["rollup_from_store_s"].ratio, 3) == 0.085  # 30 s against 352 s


def test_the_store_driver_runs_on_this_tree():
    got = measure(ROOT, store=True, size="one", timeout=300)
    for key in ("check_s", "rollup_s", "first_pull_s", "rollup_from_store_s",
                "peak_first_pull_mb", "store_file_mb"):
        assert isinstance(got[key], float) and got[key] > 0, (key, got)


def test_another_tree_runs_its_own_modules_not_this_trees(tmp_path):
    """A base without ``sheets_sync.core`` must not borrow this tree's (editable install)."""
    import subprocess
    import sys

    from benchmarks.versus import ISOLATED

    (tmp_path / "sheets_sync").mkdir()
    (tmp_path / "sheets_sync" / "__init__.py").write_text("", encoding="utf-8")
    probe = "import sheets_sync.core.text as p; print(p.__file__)"
    borrowed = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path,
                              capture_output=True, text=True)
    own = subprocess.run([sys.executable, "-c", ISOLATED + probe], cwd=tmp_path,
                         capture_output=True, text=True)
    assert borrowed.returncode == 0 and str(ROOT) in borrowed.stdout  # what the prelude prevents
    assert own.returncode != 0 and "No module named 'sheets_sync.core'" in own.stderr


def test_memory_is_judged_by_its_absolute_limit_every_run():
    from benchmarks.versus import within_limits

    base = [{"peak_check_mb": 1582.0}, {"peak_check_mb": 1582.0}]
    rows = within_limits(base, [{"peak_check_mb": 1347.0}, {"peak_check_mb": 1501.0}])
    assert [(r["key"], r["met"]) for r in rows] == [("peak_check_mb", False)]
    rows = within_limits(base, [{"peak_check_mb": 1347.0, "store_file_mb": 588.1}])
    assert [(r["key"], r["met"]) for r in rows] == [("peak_check_mb", True),
                                                    ("store_file_mb", True)]


def test_the_command_measures_a_base_checked_out_from_git(tmp_path, capsys):
    """End to end at the smallest size, against HEAD checked out as the base: the worktree is
    made, both trees measured, the tables printed and the JSON written, the worktree removed."""
    import json
    import subprocess

    from benchmarks.versus import main

    out = tmp_path / "versus.json"
    assert main(["--base", "HEAD", "--pairs", "1", "--store", "--size", "one",
                 "--json", str(out)]) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert [r["key"] for r in doc["compared"]] == [t.key for t in ISSUE_17]
    assert [r["key"] for r in doc["memory"]] == ["peak_check_mb", "peak_first_pull_mb",
                                                  "store_file_mb"]
    assert doc["base_runs"][0]["findings"] == doc["now_runs"][0]["findings"] > 0
    printed = capsys.readouterr().out
    assert "national parse + check" in printed and "peak RSS, first pull" in printed
    worktrees = subprocess.run(["git", "worktree", "list"], cwd=ROOT, capture_output=True,
                               text=True, check=True).stdout
    assert "versus-" not in worktrees
