"""The ``descentlab`` command.

Built on argparse (standard library) so that the core keeps NumPy as its only dependency. Each part
of the project registers its own subcommands from a module listed in ``_COMMAND_MODULES``; such a
module must be cheap to import (heavy imports go inside the command's function) and define
``register(subparsers)``, which adds parsers whose ``func`` takes the parsed arguments and
returns an exit code.

Errors and signals are handled here, once for every subcommand:

* exit status 0: done; 1: the command could not finish: a file or folder could not be written
  (any ``OSError``: read-only disk, no permission, no space, a file where a folder should be) or an
  optional dependency is missing; each is ONE line on stderr,
  ``descentlab COMMAND: error: cannot write PATH: REASON``; 2: bad arguments or settings (argparse
  and the commands' own checks); 130: Ctrl-C (SIGINT); 143 (128 + 15, what a shell reports for
  a process killed by SIGTERM): SIGTERM, from ``kill``, ``timeout`` or a CI runner; 141
  (128 + SIGPIPE), silently: stdout is a pipe whose reader has gone (``descentlab list | head``),
  as for ``cat`` or ``ls``.
* Any other exception is a bug: it is not caught, so its traceback shows.
* SIGTERM takes the same path as Ctrl-C: while a command runs, the first SIGTERM raises
  ``KeyboardInterrupt`` in the main thread, so the commands' cleanup (temporary files and
  folders removed, the benchmark's workers stopped) runs exactly as for Ctrl-C; a second SIGTERM
  ends the process at once. The previous handler is restored when ``main`` returns, a SIGTERM
  that is ignored (``SIG_IGN``) stays ignored, and processes forked from this one die of SIGTERM
  as usual. ``descentlab serve`` is unchanged: uvicorn handles SIGINT / SIGTERM itself while it
  serves, shuts down cleanly, then passes the signal on.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import inspect
import os
import re
import signal
import sys
import threading
from pathlib import Path

from descentlab._extras import MissingExtraError

_COMMAND_MODULES = (
    "descentlab.cli",
    "descentlab.lab.cli",
    "descentlab.web.cli",
    "descentlab.benchmark.cli",
)


def _list(args: argparse.Namespace) -> int:
    """Print the optimizers and losses with their defaults."""
    from descentlab import optim

    print("Optimizers (descentlab.optim; lecture order):")
    for name, fam in optim.family_tree().items():
        cls = optim.lookup(name)
        hps = ", ".join(f"{h.name}={h.default!r}" for h in cls.hyperparameter_specs())
        parents = "+".join(fam.parents) or "-"
        print(f"  {name:<9} {hps}")
        print(f"  {'':<9} branch: {fam.branch}; from: {parents}; {fam.paper}")
    try:
        from descentlab import losses
    except ImportError:  # pragma: no cover - losses are part of the core
        return 0
    print("\nLosses (descentlab.losses; each has .grad(...) = dLoss/dy_pred):")
    for name in losses.names():
        print(f"  {name}{inspect.signature(getattr(losses, name))}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "list", help="print the optimizers and losses with their defaults",
        description="Print every optimizer (with its hyperparameters' defaults and its place in "
        "the lecture's family tree) and every loss (with its keyword arguments).",
    )
    p.set_defaults(func=_list)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="descentlab",
        description="The lecture's loss functions and optimizers: "
        "use them, see them, compare them.",
        epilog="Exit status: 0 done; 1 a file could not be written or an optional dependency "
        "is missing (one line on stderr); 2 bad arguments; 130 Ctrl-C; 143 SIGTERM (the "
        "temporary files are removed as for Ctrl-C); 141 the reader of stdout went away "
        "(descentlab list | head).",
    )
    from descentlab import __version__

    parser.add_argument("--version", action="version", version=f"descentlab {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for module_name in _COMMAND_MODULES:
        module = sys.modules[__name__] if module_name == __name__ else None
        module = module or importlib.import_module(module_name)
        module.register(subparsers)
    return parser


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """While the block runs, the first SIGTERM raises KeyboardInterrupt (see the module doc).

    Yields a list that holds the signal number once a SIGTERM has arrived.
    """
    received: list[int] = []
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM) if main_thread else None
    if previous is None or previous == signal.SIG_IGN:  # not ours to install, or ignored on purpose
        yield received
        return
    pid = os.getpid()

    def on_sigterm(signum, frame):
        if os.getpid() != pid or received:  # a forked child, or the second SIGTERM: die now
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        received.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield received
    finally:
        signal.signal(signal.SIGTERM, previous)


def _shown_path(path, args: argparse.Namespace) -> str:
    """The path to name in an error: the user's --out (--csv, --json, --save-config), not the hidden
    temporary file or folder written next to it (``.NAME-XXXX.png``, ``.NAME.tmp-XXXX/...``).

    >>> args = argparse.Namespace(out="figs/race.png", csv="figs/race.csv")
    >>> _shown_path("figs/.race-k2x9.png", args), _shown_path("figs/.race.csv.k2x9.tmp", args)
    ('figs/race.png', 'figs/race.csv')
    >>> _shown_path(".tour.tmp-k2x9/race.png", argparse.Namespace(out="tour"))
    'tour'
    >>> _shown_path("figs/other.png", args)
    'figs/other.png'
    """
    given = [Path(v) for k in ("out", "csv", "json", "save_config")
             if isinstance(v := getattr(args, k, None), (str, os.PathLike))]
    for part in (Path(path), *Path(path).parents):
        for target in given:
            if part.parent == target.parent and part != target and (
                    part.name.startswith(f".{target.name}.")
                    or part.name.startswith(f".{target.stem}-")
                    and part.name.endswith(target.suffix)):
                return str(target)
    return str(path)


def _os_error(err: OSError, args: argparse.Namespace) -> str:
    """``cannot write PATH: REASON`` (PATH: the destination of a rename, else the file named)."""
    reason = err.strerror or str(err)
    path = err.filename2 if err.filename2 is not None else err.filename
    if path is None:  # e.g. a full disk while writing an open file
        return f"cannot write: {reason}"
    return f"cannot write {_shown_path(os.fsdecode(path), args)}: {reason}"


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush of what is still
    buffered for a closed pipe does not fail again at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


#: Options whose values are coordinates, which often start with a minus sign.
_COORDINATE_OPTIONS = ("--start", "--minimum", "--bounds")


def _attach_negative_coordinates(argv: list[str]) -> list[str]:
    """``--start -1,0`` as ``--start=-1,0``: argparse takes a value that starts with ``-`` and is
    not a plain number (``-1,0``) for an option, and then reports the option's value missing."""
    out: list[str] = []
    for token in argv:
        if out and out[-1] in _COORDINATE_OPTIONS and re.match(r"-[0-9.]", token):
            out[-1] = f"{out[-1]}={token}"
        else:
            out.append(token)
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns its exit status (see the module doc for the codes)."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(_attach_negative_coordinates(argv))
    with _sigterm_as_interrupt() as terminated:
        try:
            try:
                code = int(args.func(args) or 0)
                sys.stdout.flush()  # (a closed pipe shows here, not at the interpreter's exit)
            except BrokenPipeError:  # the reader went away (descentlab list | head -3)
                _silence_stdout()
                code = 128 + signal.SIGPIPE
            except KeyboardInterrupt:
                print("terminated" if terminated else "interrupted", file=sys.stderr)
                code = 130
            except MissingExtraError as err:
                print(f"descentlab {args.command}: {err}", file=sys.stderr)
                code = 1
            except OSError as err:
                print(f"descentlab {args.command}: error: {_os_error(err, args)}",
                      file=sys.stderr)
                code = 1
        except KeyboardInterrupt:  # the signal came while a message above was printed
            code = 130
    return 128 + signal.SIGTERM if terminated else code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
