"""Outputs never replace what is not a file they may replace (issue 12, item 2).

A symbolic link is written through, a FIFO in place; a socket is refused; temporary files of a
killed run are cleaned up by the next write; a kill -9 while writing leaves no hidden file.
"""

import os
import socket
import stat
import subprocess
import sys
import textwrap
import threading

import pytest

from descentlab._files import atomic_write_text, replacing

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file types")


def test_a_symlink_is_written_through_and_stays_a_link(tmp_path):
    real = tmp_path / "data" / "runs.csv"
    real.parent.mkdir()
    real.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    atomic_write_text(link, "new\n")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "new\n"
    assert sorted(p.name for p in real.parent.iterdir()) == ["runs.csv"]  # no temp left


def test_a_dangling_symlink_creates_the_file_it_names(tmp_path):
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "target.csv")
    atomic_write_text(link, "x\n")
    assert link.is_symlink() and (tmp_path / "target.csv").read_text() == "x\n"


def test_race_csv_through_a_symlink_keeps_the_link(tmp_path, monkeypatch):
    """The issue's repro: ``race --csv link.csv`` turned the link into a regular file."""
    pytest.importorskip("matplotlib")
    from descentlab.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "real.csv").write_text("")
    (tmp_path / "link.csv").symlink_to("real.csv")
    assert main(["race", "--steps", "3", "--out", "r.png", "--csv", "link.csv",
                 "--no-progress"]) == 0
    assert (tmp_path / "link.csv").is_symlink()
    assert (tmp_path / "real.csv").read_text().startswith("run,step,")


def test_a_fifo_is_written_in_place(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo).read()), daemon=True)
    reader.start()
    atomic_write_text(fifo, "through the pipe\n")
    reader.join(10)
    assert got == ["through the pipe\n"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_character_device_is_written_in_place():
    """``--csv /dev/stdout`` used to fail with "Permission denied" (a temp file in /dev); as
    root it replaced the device with a regular file. A pseudo-terminal is a character device
    of our own (safe to test even as root)."""
    leader, follower = os.openpty()
    try:
        path = os.ttyname(follower)
        before = os.stat(path)
        atomic_write_text(path, "to the terminal\n")
        after = os.stat(path)
        assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
        assert os.read(leader, 1000).replace(b"\r\n", b"\n") == b"to the terminal\n"
    finally:
        os.close(leader)
        os.close(follower)


def test_a_socket_is_refused_naming_it(tmp_path):
    path = tmp_path / "s.sock"
    srv = socket.socket(socket.AF_UNIX)
    try:
        srv.bind(str(path))
        with pytest.raises(OSError, match="socket") as info:
            atomic_write_text(path, "x")
        assert info.value.filename == str(path)
        assert stat.S_ISSOCK(os.lstat(path).st_mode)
    finally:
        srv.close()


def test_a_folder_is_refused(tmp_path):
    with pytest.raises(IsADirectoryError):
        atomic_write_text(tmp_path, "x")


def test_replacing_keeps_the_permissions_of_the_file_it_replaces(tmp_path):
    p = tmp_path / "private.json"
    p.write_text("{}")
    p.chmod(0o600)
    atomic_write_text(p, "[]")
    assert stat.S_IMODE(p.stat().st_mode) == 0o600 and p.read_text() == "[]"


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temporaries_of_a_killed_run_are_removed_by_the_next_write(tmp_path):
    from descentlab._files import temporary_name

    live = tmp_path / temporary_name("out.gif", ".gif")  # this process: not stale
    stale_name = temporary_name("out.gif", ".gif").replace(f"-{os.getpid()}-",
                                                           f"-{_dead_pid()}-")
    stale = tmp_path / stale_name
    other = tmp_path / ".out.gif.keepme.gif"  # not a name this module makes
    for p in (live, stale, other):
        p.write_bytes(b"partial")
    with replacing(tmp_path / "out.gif", suffix=".gif") as tmp, open(tmp, "wb") as f:
        f.write(b"GIF89a")
    assert not stale.exists()
    assert live.exists() and other.exists()
    assert (tmp_path / "out.gif").read_bytes() == b"GIF89a"


def test_kill_9_while_writing_leaves_no_hidden_file(tmp_path):
    script = textwrap.dedent(f"""
        import os, signal
        from descentlab._files import replacing
        with replacing({str(tmp_path / 'x.gif')!r}, suffix=".gif") as tmp:
            with open(tmp, "wb") as f:
                f.write(b"half a GIF")
                f.flush()
                os.kill(os.getpid(), signal.SIGKILL)
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run([sys.executable, "-c", script], env=env)
    assert proc.returncode == -9
    assert list(tmp_path.iterdir()) == []
