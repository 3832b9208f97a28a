"""Files written whole or not at all: every output of the lab, the benchmark and the CLI.

A file is written to a temporary file next to its destination, given the usual permissions
(``0o666`` less the umask, not ``mkstemp``'s private 0600) and renamed over the destination in
one step; if anything fails, the temporary file is removed and the destination is untouched.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["umask", "replacing", "atomic_write_text"]


def umask() -> int:
    """The process's file-creation mask (read without changing it for long)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def replacing(path, *, suffix: str = ".tmp"):
    """Yield a temporary path next to ``path`` (named ``.NAME.XXXX`` + ``suffix``) for the
    block to write; when the block succeeds, it replaces ``path``, else it is removed.

    An OSError (from the block or from the rename) names ``path``, not its temporary twin, so
    that ``descentlab``'s "cannot write PATH: REASON" names the file the user asked for.
    """
    path = Path(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".",
                                   prefix=f".{path.name}.", suffix=suffix)
        os.close(fd)
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~umask())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OSError(exc.errno, exc.strerror or str(exc), os.fspath(path)) from exc
        raise


def atomic_write_text(path, text: str) -> None:
    """Write ``text`` (UTF-8, newlines as given) to ``path`` whole or not at all."""
    with replacing(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
