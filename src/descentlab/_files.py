"""Files written whole or not at all, and only where writing cannot destroy what the user has.

Every output of the lab, the benchmark and the command line goes through :func:`replacing`. What
happens depends on what is at the destination (symbolic links followed):

* nothing, or a regular file: the new content is written to a temporary file in the same folder
  and renamed over the destination in one step, so a reader sees the old file or the new one,
  never half of one. The new file keeps the old one's permission bits (a private ``0600`` file
  stays private); a new file gets the usual ``0o666`` less the umask.
* a symbolic link: written through. The file the link points to is replaced (as above, next to
  it); the link stays a link. A dangling link creates the file it names.
* a FIFO or a character device (``/dev/stdout``, ``/dev/null``, a named pipe): written in place,
  after the content is complete (it is assembled in a temporary file first), because renaming a
  file over a device or a pipe would replace it rather than write to it.
* a folder, a block device or a socket: refused with an OSError that names the path and says what
  is there; nothing is written.

Whose file may be replaced. :func:`replacing` itself replaces whatever regular file is at the
destination; every writer of a file that the user names (``race/sweep/basins --out``, ``--csv``,
``--json``, ``--metrics``, ``--save-config``, ``Runs.to_csv/to_json``, the figure and animation
writers) first calls :func:`check_replaceable`: an existing file is replaced only when descentlab
wrote it, as its signature says (:func:`is_descentlab_file`), or when it is empty (nothing to
lose: a file made by ``touch`` or ``mktemp``). Anything else is a :class:`ForeignFileError` (a
ValueError: the command line's exit status 2) naming the file and saying how to go on. Pipes,
devices and symbolic links behave as above (a link's target is the file checked). Output
folders (``tour --out``, ``bench --out``) follow their manifest instead:
:func:`check_output_folder`.

On Linux the temporary file is anonymous (``O_TMPFILE``): it has no name until the content is
complete, so a ``kill -9`` while writing leaves nothing behind. Where that is not available (or a
separate program must open the file by name, such as ffmpeg), the temporary file is named
``.NAME.~HOST-PID-RANDOM.SUFFIX``; such a file left by a killed run (its process no longer exists
on this host) is removed the next time anything is written to NAME. The temporary files of a
live process, of another host, or that this module did not name are never touched.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
import shutil
import socket
import stat
import struct
import tempfile
from pathlib import Path

__all__ = ["umask", "replacing", "atomic_write_text", "output_target", "remove_stale_temporaries",
           "temporary_name", "is_stale_temporary", "signature", "is_descentlab_file",
           "check_replaceable", "ForeignFileError", "check_output_folder"]


def umask() -> int:
    """The process's file-creation mask (read without changing it for long)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _host() -> str:
    """Eight hex digits naming this machine in temporary names (a PID means something only on
    the host that gave it)."""
    return hashlib.sha1(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


def temporary_name(name: str, suffix: str = ".tmp") -> str:
    """A hidden temporary name for ``name`` that says which process on which host made it.

    >>> import re
    >>> bool(re.fullmatch(r"\\.race\\.png\\.~[0-9a-f]{8}-\\d+-[0-9a-f]{6}\\.png",
    ...                   temporary_name("race.png", ".png")))
    True
    """
    return f".{name}.~{_host()}-{os.getpid()}-{secrets.token_hex(3)}{suffix}"


_TEMP = re.compile(r"\.(?P<name>.+)\.~(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-[0-9a-f]{6}(?P<rest>.*)")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def is_stale_temporary(entry: str, name: str | None = None) -> bool:
    """Whether ``entry`` (a file name) is a temporary file of :func:`temporary_name` (for
    ``name``, if given) left by a process of this host that no longer runs.

    >>> is_stale_temporary(temporary_name("a.csv"), "a.csv")  # this process runs
    False
    >>> is_stale_temporary("a.csv", "a.csv")
    False
    """
    m = _TEMP.fullmatch(entry)
    if m is None or (name is not None and m["name"] != name) or m["host"] != _host():
        return False
    pid = int(m["pid"])
    return pid != os.getpid() and not _alive(pid)


def remove_stale_temporaries(folder, name: str | None = None) -> list[Path]:
    """Remove the stale temporary files (and folders) of ``name`` (default: any name) in
    ``folder``; returns what was removed. Errors (a file another process removed meanwhile, no
    permission) are ignored: cleaning is a courtesy, never a reason to fail a write."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for e in entries:
        if not is_stale_temporary(e.name, name):
            continue
        try:
            if e.is_dir(follow_symlinks=False):
                shutil.rmtree(e.path)
            else:
                os.unlink(e.path)
        except OSError:
            continue
        removed.append(Path(e.path))
    return removed


def output_target(path) -> tuple[Path, str, int | None]:
    """Where and how a write to ``path`` lands: ``(target, how, mode)``.

    ``how`` is ``"replace"`` (``target`` is a regular file or does not exist yet; for a symbolic
    link, the file it points to) or ``"in place"`` (a FIFO or a character device, opened at
    ``path``). ``mode``: the permission bits of the file being replaced (None for a new file).
    A folder, a block device or a socket raises OSError naming ``path``.
    """
    path = Path(path)
    try:
        st = os.stat(path)  # follows symbolic links
    except FileNotFoundError:
        # missing, or a dangling link: create the file the link names
        return (Path(os.path.realpath(path)) if os.path.islink(path) else path), "replace", None
    if stat.S_ISREG(st.st_mode):
        target = Path(os.path.realpath(path)) if os.path.islink(path) else path
        return target, "replace", stat.S_IMODE(st.st_mode)
    if stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode):
        return path, "in place", None
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", os.fspath(path))
    what = "a block device" if stat.S_ISBLK(st.st_mode) else (
        "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
    raise OSError(errno.EINVAL, f"is {what}; refusing to write over it (choose a file name)",
                  os.fspath(path))


def _anonymous_file(folder) -> int | None:
    """An unnamed file in ``folder`` (Linux ``O_TMPFILE``), or None where unsupported."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None or not os.path.isdir("/proc/self/fd"):
        return None
    try:
        return os.open(folder, flag | os.O_RDWR, 0o600)
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT,
                         errno.ENOTSUP):
            return None  # the file system cannot; fall back to a named temporary file
        raise


@contextlib.contextmanager
def replacing(path, *, suffix: str = ".tmp", anonymous: bool = True):
    """Yield a temporary path for the block to write; when the block succeeds, its content
    becomes ``path`` (see the module's docstring for symbolic links, pipes and devices), else
    the temporary file is removed and ``path`` is untouched.

    With ``anonymous`` (default) and Linux's ``O_TMPFILE``, the yielded path is
    ``/proc/self/fd/N`` of an unnamed file: open it by that path from this process only (pass
    ``anonymous=False`` when another program, such as ffmpeg, must write it).

    An OSError (from the block or from the rename) names ``path``, not its temporary twin, so
    that ``descentlab``'s "cannot write PATH: REASON" names the file the user asked for.
    """
    path = Path(path)
    fd = tmp = None
    try:
        target, how, mode = output_target(path)
        folder = (target.parent if str(target.parent) else Path(".")) if how == "replace" \
            else Path(tempfile.gettempdir())
        if how == "replace":
            remove_stale_temporaries(folder, target.name)
        fd = _anonymous_file(folder) if anonymous else None
        if fd is not None:
            yield Path(f"/proc/self/fd/{fd}")
        else:
            tmp = folder / temporary_name(target.name, suffix)
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            yield tmp
        if how == "in place":
            with open(f"/proc/self/fd/{fd}" if fd is not None else tmp, "rb") as src, \
                    open(path, "wb") as dst:
                shutil.copyfileobj(src, dst)
            return
        mode = (0o666 & ~umask()) if mode is None else mode
        if fd is not None:
            os.fsync(fd)
            os.fchmod(fd, mode)
            tmp = folder / temporary_name(target.name, suffix)
            # named for the moment of the rename only. (A directory fd makes CPython call
            # linkat(AT_SYMLINK_FOLLOW), which links the file /proc's link stands for; plain
            # link() would try to link the /proc entry itself and fail with EXDEV.)
            dfd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.link(f"/proc/self/fd/{fd}", tmp.name, dst_dir_fd=dfd, follow_symlinks=True)
            finally:
                os.close(dfd)
        else:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
        tmp = None
    except BaseException as exc:
        if isinstance(exc, OSError):
            raise OSError(exc.errno, exc.strerror or str(exc), os.fspath(path)) from exc
        raise
    finally:
        if fd is not None:
            os.close(fd)
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def atomic_write_text(path, text: str) -> None:
    """Write ``text`` (UTF-8, newlines as given) to ``path`` whole or not at all."""
    with replacing(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


# --------------------------------------------------------------------------- output folders
def check_output_folder(out, *, command: str, manifest: str, ours, not_ours_why: str) -> set[str]:
    """The files of a previous run of ``descentlab COMMAND`` in folder ``out`` that a new run
    may replace (empty for a new or empty folder); a ValueError before any work otherwise.

    The rule shared by the tour and the benchmark: an output folder is new, empty, or one that
    the command wrote itself, as its manifest (``manifest``, a file the command writes into the
    folder listing its files) says. ``ours(out)`` returns the names that a previous run wrote
    there (None when the folder has no manifest and is not recognised otherwise). Any other
    entry, or a sub-folder, is named in the error (the first five, then a count); ``not_ours_why``
    says why the folder is not the command's own (used when ``ours`` is None). Nothing is
    created, replaced or deleted here.
    """
    out = Path(out)
    if out.is_symlink() and not out.exists():
        raise ValueError(f"{out} is a dangling symbolic link; --out must be a folder.")
    if not out.exists():
        return set()
    if not out.is_dir():
        raise ValueError(f"{out} exists and is not a directory; --out must be a folder.")
    entries = {e.name: e for e in os.scandir(out)}
    if not entries:
        return set()
    known = ours(out)
    mine = known or set()

    def own(name, entry):
        if not entry.is_file(follow_symlinks=False):
            return False
        if name in mine:
            return True
        m = _TEMP.fullmatch(name)  # a named temporary twin of one of its files (a killed run)
        return m is not None and m["name"] in mine

    foreign = sorted(name + ("/" if e.is_dir() else "") for name, e in entries.items()
                     if not own(name, e))
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5
                                          else "")
        why = not_ours_why if known is None else f"its {manifest} does not list them"
        raise ValueError(
            f"{out} holds files that descentlab {command} did not write: {shown} "
            f"({why}); refusing to replace or delete them. Choose a new or empty folder for "
            "--out.")
    return mine


# --------------------------------------------------------------------------- signatures
class ForeignFileError(ValueError):
    """An output path names an existing file that descentlab did not write."""


def signature() -> str:
    """What every output file carries to say that descentlab wrote it: ``"descentlab X.Y.Z"``
    (PNG ``Software`` chunk, SVG/PDF creator, GIF comment, MP4 ``comment`` tag)."""
    from descentlab import __version__

    return f"descentlab {__version__}"


_SIGNED = b"descentlab"
_HEAD = 1 << 16


def _png_signed(f) -> bool:
    """A ``Software`` text chunk starting with "descentlab" before the image data."""
    if f.read(8) != b"\x89PNG\r\n\x1a\n":
        return False
    while True:
        head = f.read(8)
        if len(head) < 8:
            return False
        size, kind = struct.unpack(">I4s", head)
        if kind in (b"IDAT", b"IEND") or size > _HEAD:
            return False
        data = f.read(size)
        f.read(4)  # CRC
        key, _, value = data.partition(b"\0")
        if key != b"Software":
            continue
        if kind == b"tEXt" and value.startswith(_SIGNED):
            return True
        if kind == b"iTXt" and value[:1] == b"\0":  # uncompressed; language, keyword, text
            parts = value[2:].split(b"\0", 2)
            if len(parts) == 3 and parts[2].startswith(_SIGNED):
                return True


def _json_signed(path: Path) -> bool:
    """``{"format": "descentlab.…", …}`` (runs), the metrics table (a list of rows with the
    metrics' keys), or a saved configuration (``{"command": …, "settings": {…}}``)."""
    import json

    with open(path, "rb") as f:  # the runs' export starts so: no need to parse it all
        if re.match(rb'\s*\{\s*"format"\s*:\s*"descentlab\.', f.read(256)) is not None:
            return True
    if os.path.getsize(path) > 1 << 28:  # 256 MB and not so: not a table or a config
        return False
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if isinstance(doc, dict):
        if str(doc.get("format", "")).startswith("descentlab."):
            return True
        return (set(doc) == {"command", "settings"} and isinstance(doc["command"], str)
                and isinstance(doc["settings"], dict))
    if isinstance(doc, list) and doc and all(isinstance(r, dict) for r in doc):
        from descentlab.lab._io import METRICS_COLUMNS

        return all(list(r) == list(METRICS_COLUMNS) for r in doc)
    return False


def is_descentlab_file(path) -> bool:
    """Whether the regular file ``path`` carries descentlab's signature, by its content (its
    name does not matter): a PNG's ``Software`` text chunk, an SVG's ``dc:creator``, a PDF's
    ``/Creator``, a GIF's comment extension, an MP4's ``comment`` tag (each starting with
    "descentlab"), a JSON file's ``"format": "descentlab.…"`` or the known structure of the
    metrics table and saved settings, a CSV file's exact header line (the trajectories' or the
    metrics table's, :func:`descentlab.lab._io.is_written_header`)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(_HEAD)
            if head.startswith(b"\x89PNG"):
                f.seek(0)
                return _png_signed(f)
            if head[:6] in (b"GIF87a", b"GIF89a"):
                return re.search(rb"\x21\xfe.descentlab", head, re.DOTALL) is not None
            if head.startswith(b"%PDF"):
                f.seek(max(0, os.path.getsize(path) - _HEAD))
                return b"/Creator (descentlab" in f.read()
            if head[4:8] == b"ftyp":  # MP4: ffmpeg writes the tags at the end (or the start)
                f.seek(max(0, os.path.getsize(path) - (1 << 20)))
                pattern = re.compile(rb"\xa9cmt.{4}data.{8}descentlab", re.DOTALL)
                return bool(pattern.search(f.read()) or pattern.search(head))
    except OSError:
        return False
    text = head.decode("utf-8", "replace").lstrip("\ufeff")
    if re.search(r"<svg[\s>]", text[:_HEAD]):
        return re.search(r"<dc:creator>\s*<cc:Agent>\s*<dc:title>descentlab", text) is not None
    if text.lstrip().startswith(("{", "[")):
        return _json_signed(path)
    from descentlab.lab._io import is_written_header

    return is_written_header(text.split("\n", 1)[0].rstrip("\r"))


def check_replaceable(path) -> None:
    """Raise :class:`ForeignFileError` when writing ``path`` would replace an existing file that
    descentlab did not write (see the module's docstring); return quietly for a new path, an
    empty file, a file with descentlab's signature, a pipe or a character device (written in
    place). A folder, socket or block device is left to the write itself to refuse."""
    try:
        target, how, mode = output_target(path)
    except OSError:
        return
    if how != "replace" or mode is None:
        return
    try:
        if os.path.getsize(target) == 0 or is_descentlab_file(target):
            return
    except OSError:
        return  # vanished meanwhile: nothing to replace
    raise ForeignFileError(
        f"{os.fspath(path)} exists and descentlab did not write it (it has no descentlab "
        "signature); refusing to replace it. Write to a new path, or delete it yourself if "
        "you no longer need it.")
