"""One ``bench`` per ``--out``, workers that die with it, a store that says when it is damaged or
altered, and a warning for more workers than cores (issue 12, item 6)."""

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest
from bench_helpers import wait_for_first_trial

from descentlab.cli import main

pytest.importorskip("filelock")
pytest.importorskip("sklearn")

HOLD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from descentlab.benchmark._run_benchmark import _claim
    lock = _claim(Path(sys.argv[1]))  # as run_benchmark claims its folder
    print("locked", flush=True)
    time.sleep(120)
""")


@pytest.fixture
def held(tmp_path):
    """``tmp_path`` locked by another process, as a running ``descentlab bench`` holds it."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        assert proc.stdout.readline().strip() == "locked"
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_a_second_bench_on_the_same_out_is_refused_naming_the_first(held, tmp_path, tiny,
                                                                      capsys):
    _, args = tiny
    assert main(["bench", *args, "--no-progress", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"descentlab bench: error: another descentlab bench (PID {held.pid}) "
                          f"is writing to {tmp_path}")
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "results.sqlite").exists()


def test_the_lock_is_free_again_after_its_holder_is_killed(held, tmp_path):
    from descentlab.benchmark._run_benchmark import _lock, _unlock

    held.send_signal(signal.SIGKILL)
    held.wait()
    lock = _lock(tmp_path)  # the OS released it; the stale bench.pid is overwritten
    assert (tmp_path / "bench.pid").read_text().split()[0] == str(os.getpid())
    _unlock(tmp_path, lock)


def test_more_workers_than_cores_warns(held, tmp_path, tiny, capsys):
    _, args = tiny
    n = (os.cpu_count() or 1) + 1
    assert main(["bench", *args, "--no-progress", "--workers", str(n), "--out",
                 str(tmp_path)]) == 1  # then refused: the folder is held (nothing started)
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"descentlab bench: warning: --workers {n} is more than the "
                             f"{os.cpu_count()} CPU core")
    from descentlab.benchmark import run_benchmark
    from descentlab.benchmark._run_benchmark import OversubscribedWarning

    kw, _ = tiny
    with pytest.warns(OversubscribedWarning), pytest.raises(ValueError, match="another"):
        run_benchmark(tmp_path, workers=n, **kw)


def _bench_folder(folder):
    """Make ``folder`` a bench folder of this version: its manifest, as run_benchmark writes it."""
    from descentlab.benchmark._run_benchmark import _claim, _unlock

    _unlock(folder, _claim(folder))


def test_a_corrupt_store_is_one_line_naming_it(tmp_path, tiny, capsys):
    _, args = tiny
    _bench_folder(tmp_path)  # a bench folder (its manifest) whose store got damaged
    db = tmp_path / "results.sqlite"
    db.write_bytes(b"this is not an SQLite database, just some text that got here" * 20)
    assert main(["bench", *args, "--no-progress", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err == (f"descentlab bench: error: {db} is damaged or not a results store (SQLite: "
                   "file is not a database); delete it to restart the benchmark from scratch "
                   "(its finished trials are lost).\n")
    assert db.read_bytes().startswith(b"this is not")  # untouched


def test_an_altered_trial_is_detected_and_run_again(reference, tiny, tmp_path):
    from descentlab.benchmark import run_benchmark
    from descentlab.benchmark._store import AlteredTrialsWarning

    out, _, _ = reference
    kw, _ = tiny
    shutil.copy(out / "results.sqlite", tmp_path / "results.sqlite")
    with sqlite3.connect(tmp_path / "results.sqlite") as db:
        (tid, result), = db.execute("SELECT id, result FROM trials ORDER BY id LIMIT 1")
        db.execute("UPDATE trials SET result = ? WHERE id = ?",
                   (result.replace("0.", "0.9", 1), tid))  # one digit, silently
    with pytest.warns(AlteredTrialsWarning, match=f"1 stored trial no longer matches its "
                                                  f"checksum \\(first: {tid}\\)"):
        _, stats = run_benchmark(tmp_path, workers=1, report=False, **kw)
    assert stats["trials_run"] == 1
    with sqlite3.connect(tmp_path / "results.sqlite") as db:
        assert db.execute("SELECT result FROM trials WHERE id = ?", (tid,)).fetchone()[0] == result
    assert (tmp_path / "summary.csv").read_bytes() == (out / "summary.csv").read_bytes()


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                out.append(int(entry))
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_die_when_bench_is_killed_with_sigkill(tmp_path, tiny):
    """An OOM kill or a CI timeout: ~500 MB workers used to wait for ever."""
    _, args = tiny
    proc = subprocess.Popen([sys.executable, "-m", "descentlab.cli", "bench", *args,
                             "--workers", "2", "--no-progress", "--no-report",
                             "--out", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers = []
    try:
        wait_for_first_trial(proc, tmp_path / "results.sqlite", timeout=120)
        workers = [p for p in _children(proc.pid)
                   if "multiprocessing" in open(f"/proc/{p}/cmdline").read()]
        assert proc.poll() is None and len(workers) >= 2, "no workers seen before the end"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.time() + 15
        while any(_alive(p) for p in workers) and time.time() < deadline:
            time.sleep(0.1)
        assert not any(_alive(p) for p in workers)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for p in workers:
            if _alive(p):
                os.kill(p, signal.SIGKILL)
