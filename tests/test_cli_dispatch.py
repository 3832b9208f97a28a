"""The ``descentlab`` dispatcher: an unwritable path is one line (exit 1), a bug keeps its
traceback, and SIGTERM cleans up like Ctrl-C (exit 143)."""

import os
import signal
import subprocess
import sys
import time

import pytest

import descentlab.cli as cli
from descentlab.cli import main

RACE = ["race", "--steps", "5", "--no-progress"]


def _leftovers(folder):
    """Hidden entries (temporary files and folders) left in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("argv, shown", [
    # a path through a regular file: NotADirectoryError / FileExistsError from mkdir
    (RACE + ["--out", "{f}/sub/x.png"], "{f}/sub: Not a directory"),
    (RACE + ["--out", "{f}/x.png"], "{f}: File exists"),
    (["tour", "--quick", "--no-progress", "--out", "{f}/sub/tour"], "{f}/sub: Not a directory"),
    (["bench", "--quick", "--no-progress", "--out", "{f}/sub"], "{f}/sub: Not a directory"),
])
def test_unwritable_out_is_one_line_and_exit_1(argv, shown, tmp_path, capsys):
    f = tmp_path / "afile"
    f.write_text("not a folder")
    argv = [a.format(f=f) for a in argv]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err == f"descentlab {argv[0]}: error: cannot write {shown.format(f=f)}\n"
    assert f.read_text() == "not a folder" and _leftovers(tmp_path) == []


@pytest.mark.parametrize("out, extra", [
    ("x.png", []), ("x.gif", ["--frames", "3"]), ("x.csv", None), ("x.json", None),
    ("cfg.json", ["--save-config"]),
])
def test_a_refused_write_names_the_users_path_not_the_temporary_file(out, extra, tmp_path,
                                                                     capsys, monkeypatch):
    """A read-only disk or a missing permission shows up as a failed write of the temporary file
    (or its rename): the message names the path the user gave, and nothing is left behind."""
    target = tmp_path / out
    argv = list(RACE) + ["--out", str(tmp_path / "ok.png")]
    if extra is None:  # --csv / --json exports, next to a figure that is written
        argv += [f"--{out.split('.')[1]}", str(target)]
    elif extra == ["--save-config"]:
        argv += ["--save-config", str(target), "--dry-run"]
    else:
        argv = list(RACE) + ["--out", str(target), *extra]
    real_replace = os.replace

    def replace(src, dst, *a, **kw):
        if os.fspath(dst) == str(target):
            raise PermissionError(13, "Permission denied", os.fspath(src), os.fspath(dst))
        return real_replace(src, dst, *a, **kw)

    monkeypatch.setattr(os, "replace", replace)
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == (f"descentlab race: error: cannot write {target}: "
                                    "Permission denied")
    assert "Traceback" not in err
    assert not target.exists() and _leftovers(tmp_path) == []


def test_an_error_without_a_file_name_is_still_one_line(monkeypatch, capsys):
    def full_disk(args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cli, "_list", full_disk)
    assert main(["list"]) == 1
    err = capsys.readouterr().err
    assert err == "descentlab list: error: cannot write: No space left on device\n"


@pytest.mark.parametrize("bug", [RuntimeError("a bug"), TypeError("a bug"), KeyError("a bug")])
def test_a_bug_keeps_its_traceback(bug, monkeypatch):
    def broken(args):
        raise bug

    monkeypatch.setattr(cli, "_list", broken)
    with pytest.raises(type(bug), match="a bug"):
        main(["list"])


def test_sigterm_in_process_is_an_interrupt_and_the_handler_is_restored(monkeypatch, capsys):
    cleaned, caught = [], []
    # the handler main() must set aside and restore; it also keeps pytest alive if main() does not
    # catch SIGTERM (the old code: the test then fails instead of killing the run)
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: caught.append(signum))

    def slow(args):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(100):  # 5 s unless interrupted
                time.sleep(0.05)
        finally:
            cleaned.append(True)
        return 0

    monkeypatch.setattr(cli, "_list", slow)
    try:
        t0 = time.perf_counter()
        assert main(["list"]) == 143
        assert time.perf_counter() - t0 < 3
        assert cleaned == [True] and caught == []
        assert capsys.readouterr().err == "terminated\n"
        os.kill(os.getpid(), signal.SIGTERM)  # after main(): the test's handler is back
        assert caught == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_an_ignored_sigterm_stays_ignored(monkeypatch):
    seen = []
    monkeypatch.setattr(cli, "_list", lambda args: seen.append(signal.getsignal(signal.SIGTERM)))
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        assert main(["list"]) == 0
        assert seen == [signal.SIG_IGN] and signal.getsignal(signal.SIGTERM) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, previous)


def _sigterm_when(argv, ready, folder, timeout=90):
    """Start ``descentlab ARGV``, send SIGTERM once ``ready()`` holds; (returncode, stderr, s)."""
    proc = subprocess.Popen([sys.executable, "-m", "descentlab.cli", *argv],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + timeout
        while not ready(proc.pid) and proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, "it finished before SIGTERM: " + proc.stderr.read()[-2000:]
        assert ready(proc.pid), f"nothing temporary appeared in {timeout} s: {os.listdir(folder)}"
        t0 = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        return proc.returncode, err, time.perf_counter() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_sigterm_during_tour_removes_its_temporary_folder(tmp_path):
    out = tmp_path / "tour4"

    def ready(pid):  # the temporary folder holds a first figure: work is under way
        return any(tmp.is_dir() and any(tmp.iterdir()) for tmp in tmp_path.glob(".tour4.*"))

    rc, err, seconds = _sigterm_when(["tour", "--out", str(out), "--no-progress"], ready,
                                     tmp_path)
    assert rc == 143, err
    assert err.strip().splitlines()[-1] == "terminated" and "Traceback" not in err
    assert seconds < 30
    assert os.listdir(tmp_path) == []  # neither the temporary folder nor a half-made tour


def test_sigterm_during_a_gif_race_removes_its_temporary_file(tmp_path):
    out = tmp_path / "b.gif"
    starts = [f"--start={xy}" for xy in ("-1.5,2", "1,2", "-1,-1", "0,2.5")]
    argv = ["race", "--out", str(out), "--frames", "120", "--steps", "4000", "--no-progress",
            *starts]

    def ready(pid):  # the GIF is being written: to an unnamed file (O_TMPFILE) in tmp_path
        # (/proc shows it as "TMP_PATH/#INODE (deleted)"), or where that is not available to a
        # hidden named one
        try:
            links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            links = []
        return (any(link.startswith(f"{tmp_path}/#") for link in links)
                or any(t.stat().st_size > 0 for t in tmp_path.glob(".b.gif.*.gif")))

    rc, err, seconds = _sigterm_when(argv, ready, tmp_path)
    assert rc == 143, err
    assert "Traceback" not in err and err.strip().splitlines()[-1] == "terminated"
    assert seconds < 30
    assert os.listdir(tmp_path) == []


def test_a_closed_pipe_ends_the_command_quietly():
    """``descentlab list | head -1``: when the reader has gone, no error line and no traceback
    (as ``cat`` or ``ls``), exit status 141 (128 + SIGPIPE)."""
    proc = subprocess.Popen([sys.executable, "-m", "descentlab.cli", "list"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader goes away before anything is written
    _, err = proc.communicate(timeout=60)
    assert err.decode() == ""
    assert proc.returncode == 128 + signal.SIGPIPE
