"""End to end on tiny budgets: outputs, determinism, resume after SIGKILL, bad arguments."""

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from bench_helpers import wait_for_first_trial

from descentlab.benchmark import SUMMARY_COLUMNS, Store, run_benchmark
from descentlab.cli import main


def trials(path):
    with sqlite3.connect(path) as db:
        return {row[0]: row[1] for row in db.execute("SELECT id, result FROM trials")}


def test_outputs_and_summary_columns(reference):
    out, A, stats = reference
    with open(out / "summary.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    required = ["problem", "ruleset", "optimizer", "lr", "test_metric", "test_metric_ci_low",
                "test_metric_ci_high", "epochs_to_target", "diverged_fraction"]
    assert list(rows[0])[:len(required)] == required
    assert tuple(rows[0]) == SUMMARY_COLUMNS
    n_rows = 3 * 3 * 2  # NumPy problems x optimizers x rulesets
    if "torch-mlp" in A.settings.problems:
        n_rows += 4 * 2  # the torch problem also has the torch:Adam reference row
    assert len(rows) == n_rows
    for r in rows:
        lo, m, hi = (float(r[k]) for k in ("test_metric_ci_low", "test_metric",
                                           "test_metric_ci_high"))
        assert lo <= m <= hi
        assert 0.0 <= float(r["diverged_fraction"]) <= 1.0
    # the tuned rows come from the lr grid, the default rows from the library defaults
    adam = [r for r in rows if r["optimizer"] == "Adam" and r["ruleset"] == "defaults"]
    assert {float(r["lr"]) for r in adam} == {0.001}
    # every problem's best tuned method reaches its own target
    for problem, (_, ruleset, optimizer) in A.targets.items():
        assert A.row(problem, ruleset, optimizer)["epochs_to_target"] is not None
    run = json.loads((out / "run.json").read_text())
    assert run["trials_run"] == len(trials(out / "results.sqlite")) > 0
    assert 0 < run["utilisation"] <= 1.0 and run["trials_per_minute"] > 0
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "Published findings" in html
    assert "trials per minute" in html and "utilisation" in html
    assert "http://" not in html and "https://" not in html  # self-contained
    assert len(A.findings) == 4 and all(f["verdict"] for f in A.findings)


def test_same_seed_same_numbers_in_this_process(reference, tiny, tmp_path):
    kw, _ = tiny
    out, _, _ = reference
    run_benchmark(tmp_path, workers=1, report=False, **kw)
    assert (tmp_path / "summary.csv").read_bytes() == (out / "summary.csv").read_bytes()
    assert trials(tmp_path / "results.sqlite") == trials(out / "results.sqlite")


def test_rerun_redoes_nothing(reference, tiny):
    kw, _ = tiny
    out, _, _ = reference
    before = trials(out / "results.sqlite")
    _, stats = run_benchmark(out, workers=1, report=False, **kw)
    assert stats["trials_run"] == 0 and stats["in_store_at_start"] == len(before)
    assert trials(out / "results.sqlite") == before


def test_resume_after_sigkill_gives_the_uninterrupted_numbers(reference, tiny, tmp_path):
    kw, args = tiny
    out, _, _ = reference
    total = len(trials(out / "results.sqlite"))
    db = tmp_path / "results.sqlite"
    cmd = [sys.executable, "-c", "from descentlab.cli import main; main()", "bench",
           "--out", str(tmp_path), "--workers", "1", "--no-report", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    done = 0
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        if db.exists():
            try:
                with sqlite3.connect(db, timeout=0.1) as con:
                    done = con.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
            except sqlite3.OperationalError:
                pass  # locked by a commit in progress
        if done >= total // 3:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = len(trials(db))
    assert 0 < killed_at < total
    run_benchmark(tmp_path, workers=1, report=False, **kw)
    assert (tmp_path / "summary.csv").read_bytes() == (out / "summary.csv").read_bytes()
    assert trials(db) == trials(out / "results.sqlite")


def test_a_half_written_task_is_never_counted(tmp_path):
    db = tmp_path / "results.sqlite"
    Store(db).close()
    # a process dies (SIGKILL) in the middle of a transaction: rows inserted, not committed
    code = (
        "import os, signal, sqlite3, sys\n"
        "con = sqlite3.connect(sys.argv[1]); con.execute('BEGIN')\n"
        "con.execute(\"INSERT INTO trials (id, kind, problem, optimizer, config, seed, budget, "
        "result, timing, created) VALUES ('x', 'train', 'p', 'o', '{}', 0, 1, '{}', '{}', 0)\")\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    r = subprocess.run([sys.executable, "-c", code, str(db)])
    assert r.returncode == -signal.SIGKILL
    store = Store(db)
    assert len(store) == 0 and "x" not in store
    store.close()


@pytest.mark.parametrize("args, match", [
    (["--problems", "mnist"], "Unknown problem 'mnist'. Valid choices: quadratic-k100"),
    (["--optimizers", "Adamw"], "Unknown optimizer 'Adamw'. Valid choices: GD, SGD"),
    (["--optimizers", ","], "No optimizers given (empty list). Valid choices: GD"),
    (["--ruleset", "grid"], "Unknown ruleset 'grid'. Valid choices: defaults, lr-grid, random"),
    (["--lr-grid", "1:0.1"], "Empty lr grid: need 0 < LOW <= HIGH"),
    (["--per-decade", "0"], "Empty lr grid"),
    (["--seeds", "0"], "seeds must be at least 1"),
])
def test_bad_arguments_list_the_valid_choices(args, match, tmp_path, capsys):
    assert main(["bench", "--out", str(tmp_path), *args]) == 2
    assert match in capsys.readouterr().err
    assert not (tmp_path / "results.sqlite").exists()


def test_cli_prints_the_summary_and_shows_progress(reference, tiny, capsys):
    _, args = tiny
    out, _, _ = reference
    assert main(["bench", "--out", str(out), "--workers", "1", "--no-report", *args]) == 0
    cap = capsys.readouterr()
    assert "Summary (lr-grid" in cap.out and "Published findings" in cap.out
    assert "bench:" in cap.err  # the tqdm bar (every trial of it is in the store already)
    assert cap.err.rstrip().endswith("time left ~00:00 for the trials planned so far]")


def test_the_progress_bar_estimates_the_time_left(tmp_path, capsys):
    run_benchmark(tmp_path, workers=1, report=False, progress=True, problems="quadratic-k100",
                  optimizers="SGD,Adam", seeds=2, tune_seeds=1, quick=True, epochs=1,
                  per_decade=1)
    err = capsys.readouterr().err
    assert "time left ~00:00 for the trials planned so far" in err  # at the end: none left


def test_time_left_weighs_each_problem_by_its_own_seconds_per_task():
    from descentlab.benchmark._runner import _TimeLeft

    def fmt(seconds):
        return f"{seconds:.1f}s"

    eta = _TimeLeft(workers=2)
    eta.planned("torch-mlp", 10)  # ten tasks of one torch trial each
    eta.planned("quadratic", 10)  # ten tasks of up to 64 NumPy trials each
    assert eta.seconds() == (0.0, 2) and eta.describe(fmt) == "time left: measuring"
    eta.finished("torch-mlp", 2, busy_s=8.0)  # 4 s per torch task: 8 left, on 2 workers
    assert eta.seconds() == (16.0, 1)  # the NumPy problem has tasks left and no measurement
    assert eta.describe(fmt) == "time left > 16.0s (1 problem not measured yet)"
    eta.finished("quadratic", 1, busy_s=0.2)  # 0.2 s per NumPy task
    # (8 torch tasks * 4 s + 9 NumPy tasks * 0.2 s) / 2 workers
    assert eta.seconds()[0] == pytest.approx((8 * 4.0 + 9 * 0.2) / 2)
    assert eta.describe(fmt) == "time left ~16.9s for the trials planned so far"
    eta.finished("torch-mlp", 8, busy_s=40.0)  # done: its tasks no longer count
    assert eta.seconds() == (pytest.approx(9 * 0.2 / 2), 0)


def test_lr_grid_grows_until_the_best_lr_is_inside(reference):
    out, A, _ = reference
    s = A.settings
    initial = 2 * s.per_decade + 1  # --quick: one decade either side of the default
    grew = 0
    for (ruleset, problem, optimizer), pts in A.tuning.items():
        if ruleset != "lr-grid":
            continue
        lrs = sorted(lr for lr, _ in pts)
        assert all(b / a == pytest.approx(10 ** (1 / s.per_decade), rel=0.02)
                   for a, b in zip(lrs, lrs[1:], strict=False))
        chosen = A.row(problem, ruleset, optimizer)["lr"]
        extensions = (len(lrs) - initial) // s.per_decade
        grew += extensions > 0
        at_edge = chosen in (lrs[0], lrs[-1])
        assert not at_edge or extensions == s.max_extensions
    assert grew > 0  # e.g. SGD's default 0.01 is far below its best lr on these problems


def test_random_ruleset_draws_every_hyperparameter_reproducibly(tmp_path):
    from descentlab.benchmark._protocol import plan

    kw = dict(problems="digits-softmax", optimizers="Adam,Momentum", rulesets="random", seeds=2,
              tune_seeds=1, quick=True, epochs=1, workers=1, report=False, progress=False)
    A, _ = run_benchmark(tmp_path / "a", **kw)
    store = Store(tmp_path / "a" / "results.sqlite")
    for optimizer in ("Adam", "Momentum"):
        p = plan(A.settings, ("random", "digits-softmax", optimizer), store)
        configs = [c for c, *_ in p.tuning]
        assert len(configs) == A.settings.random_samples
        assert p.chosen in configs
        chosen = json.loads(A.row("digits-softmax", "random", optimizer)["hyperparameters"])
        assert chosen == p.chosen
        for c in configs:
            momentum = c["beta1"] if optimizer == "Adam" else c["gamma"]
            assert 1 - 10 ** -0.5 - 1e-3 <= momentum <= 1 - 10 ** -2.5 + 1e-3
            if optimizer == "Adam":
                assert 1e-10 <= c["eps"] <= 1e-4 and 0.9 - 1e-3 <= c["beta2"] < 1
        assert len({c["lr"] for c in configs}) == len(configs)
    store.close()
    run_benchmark(tmp_path / "b", **kw)
    assert (tmp_path / "a" / "summary.csv").read_bytes() == (tmp_path / "b" / "summary.csv"
                                                             ).read_bytes()


def test_out_must_be_a_directory(tmp_path, capsys):
    f = tmp_path / "afile"
    f.write_text("keep me")
    assert main(["bench", "--quick", "--no-progress", "--out", str(f)]) == 2
    assert capsys.readouterr().err == (
        f"descentlab bench: error: --out must be a directory ({f} is a file)\n")
    with pytest.raises(ValueError, match=r"out must be a directory \(.*afile is a file\)"):
        run_benchmark(f, quick=True, progress=False)
    assert f.read_text() == "keep me"


def test_a_store_that_cannot_be_opened_is_one_line(tmp_path, capsys):
    """SQLite says only "unable to open database file"; the message says which file and why.
    (Through the command, a folder named results.sqlite is not the bench's: the folder is
    refused before any work, naming it.)"""
    (tmp_path / "results.sqlite").mkdir()  # a folder where the database file should be
    with pytest.raises(OSError, match="Is a directory") as info:
        Store(tmp_path / "results.sqlite")
    assert info.value.filename == str(tmp_path / "results.sqlite")
    assert main(["bench", "--quick", "--no-progress", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "did not write: results.sqlite/" in err and len(err.splitlines()) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["results.sqlite"]


def test_sqlite_errors_while_running_are_oserrors_naming_the_store(tmp_path):
    store = Store(tmp_path / "results.sqlite")
    store._db.execute("PRAGMA busy_timeout=0")
    try:
        other = sqlite3.connect(tmp_path / "results.sqlite", timeout=0)
        other.execute("BEGIN EXCLUSIVE")  # another process holds the lock
        record = {"id": "x", "kind": "train", "problem": "p", "optimizer": "o", "config": {},
                  "seed": 0, "budget": 1, "result": {}, "timing": {}}
        with pytest.raises(OSError) as exc:
            store.put_task([record])
        assert exc.value.filename == str(tmp_path / "results.sqlite")
        assert exc.value.strerror == "database is locked (SQLite)"
        other.rollback()
        other.close()
    finally:
        store.close()


def test_sigterm_to_the_process_group_stops_bench_like_ctrl_c(reference, tiny, tmp_path):
    """``timeout`` and CI runners send SIGTERM to the whole process group: the workers stop, the
    finished trials stay stored, nothing temporary is left and the exit status is 143."""
    kw, args = tiny
    out, _, _ = reference
    db = tmp_path / "results.sqlite"
    cmd = [sys.executable, "-m", "descentlab.cli", "bench", "--out", str(tmp_path),
           "--workers", "2", "--no-report", "--no-progress", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        wait_for_first_trial(proc, db, timeout=90)
        assert proc.poll() is None, "the run finished before SIGTERM"
        os.killpg(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 143, err
    assert "Traceback" not in err and "interrupted: finished trials are saved" in err
    deadline = time.time() + 10
    while time.time() < deadline:  # the workers are gone with it
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("worker processes survived SIGTERM")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert 0 < len(trials(db)) < len(trials(out / "results.sqlite"))
    run_benchmark(tmp_path, workers=1, report=False, **kw)  # resumes to the same numbers
    assert (tmp_path / "summary.csv").read_bytes() == (out / "summary.csv").read_bytes()


def test_a_failed_atomic_write_names_the_file_not_its_temporary_twin(tmp_path, monkeypatch):
    from descentlab._files import atomic_write_text as atomic_write

    target = tmp_path / "summary.csv"

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied", src, dst)

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError) as exc:
        atomic_write(target, "a,b\n")
    assert (exc.value.filename, exc.value.strerror) == (str(target), "Permission denied")
    assert list(tmp_path.iterdir()) == []
