"""The run lock: real contention between real processes (no mocks)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sheets_sync.core.errors import EXIT_TRY_LATER, TryLater
from sheets_sync.sync.lock import INFO_NAME, lock_path, run_lock

ROOT = Path(__file__).resolve().parent.parent

# Holds the lock until a line arrives on stdin (or the process is killed).
HOLDER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from sheets_sync.sync.lock import run_lock
    with run_lock(Path(sys.argv[1]), "run"):
        print("held", flush=True)
        sys.stdin.readline()
    print("released", flush=True)
""")

# Tries the lock once, as the CLI would: exit 75 with the message on stderr when it is held.
TRIER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from sheets_sync.core.errors import TryLater
    from sheets_sync.sync.lock import run_lock
    state, go, hold = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.005)
    try:
        with run_lock(state, "run"):
            print("ran", flush=True)
            time.sleep(hold)
    except TryLater as e:
        print(f"Lỗi: {e}", file=sys.stderr)
        sys.exit(e.exit_code)
""")


def _python(script: str, *args: str, **kw) -> subprocess.Popen:
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    return subprocess.Popen([sys.executable, "-c", script, *args], cwd=ROOT, env=env,
                            text=True, encoding="utf-8", stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, **kw)


@pytest.fixture
def holder(tmp_path):
    proc = _python(HOLDER, str(tmp_path), stdin=subprocess.PIPE)
    assert proc.stdout.readline().strip() == "held", proc.stderr.read()
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_second_run_gets_try_later_while_another_process_holds_the_lock(tmp_path, holder):
    with pytest.raises(TryLater) as info:
        with run_lock(tmp_path, "check"):
            pytest.fail("the body must not run while another process holds the lock")
    err = info.value
    assert err.exit_code == EXIT_TRY_LATER == 75
    assert "Đang có một lần chạy khác" in str(err)
    assert str(lock_path(tmp_path)) in str(err)
    assert f"tiến trình {holder.pid}" in str(err)  # who holds it, from the hint file
    assert "thử lại sau" in str(err)

    # A third process, as a scheduled job would be: exits 75 with the Vietnamese message.
    go = tmp_path / "go"
    go.touch()
    trier = _python(TRIER, str(tmp_path), str(go), "0")
    out, errtext = trier.communicate(timeout=60)
    assert trier.returncode == 75
    assert out.split() == ["ready"]
    assert "Đang có một lần chạy khác" in errtext

    # Released: the next run proceeds.
    holder.stdin.write("\n")
    holder.stdin.flush()
    assert holder.stdout.readline().strip() == "released"
    holder.wait(timeout=30)
    with run_lock(tmp_path, "run") as path:
        assert path == lock_path(tmp_path)
        assert (tmp_path / INFO_NAME).exists()
    assert not (tmp_path / INFO_NAME).exists()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_killed_run_never_leaves_a_stale_lock(tmp_path, holder):
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    assert (tmp_path / INFO_NAME).exists()  # the hint survives the crash, the lock does not
    with run_lock(tmp_path, "run"):
        pass


def test_overlapping_runs_started_together_exactly_one_runs(tmp_path):
    go = tmp_path / "go"
    procs = [_python(TRIER, str(tmp_path), str(go), "1.5") for _ in range(5)]
    for p in procs:  # every interpreter started and waits for the signal
        assert p.stdout.readline().strip() == "ready"
    go.touch()
    results = [p.communicate(timeout=120) + (p.returncode,) for p in procs]
    ran = [r for r in results if r[2] == 0]
    refused = [r for r in results if r[2] == 75]
    assert len(ran) == 1, results
    assert len(refused) == 4, results
    assert all("Đang có một lần chạy khác" in r[1] for r in refused)


def test_lock_is_released_when_the_body_fails(tmp_path):
    with pytest.raises(RuntimeError):
        with run_lock(tmp_path):
            raise RuntimeError("boom")
    with run_lock(tmp_path):
        pass


def test_state_folder_is_created(tmp_path):
    state = tmp_path / "nested" / "state"
    with run_lock(state):
        assert lock_path(state).exists()
