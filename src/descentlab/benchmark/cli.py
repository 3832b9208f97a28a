"""``descentlab bench``: the command (cheap to import: the work is imported inside
``_run_benchmark``)."""

from __future__ import annotations

import argparse
import sys

__all__ = ["register"]


def _lr_grid(text: str):
    try:
        low, high = (float(v) for v in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--lr-grid must be LOW:HIGH, e.g. 1e-4:1. Got {text!r} instead.") from None
    return low, high


def _one_line_warnings(show):
    """``warnings.showwarning`` printing the benchmark's own warnings (more workers than cores,
    altered stored trials) as one ``descentlab bench: warning: ...`` line; others as ``show``."""
    from descentlab.benchmark._run_benchmark import OversubscribedWarning
    from descentlab.benchmark._store import AlteredTrialsWarning

    def showwarning(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, (OversubscribedWarning, AlteredTrialsWarning)):
            print(f"descentlab bench: warning: {message}", file=sys.stderr, flush=True)
        else:
            show(message, category, filename, lineno, file, line)

    return showwarning


def _bench(args: argparse.Namespace) -> int:
    import warnings
    from pathlib import Path

    from descentlab.benchmark._run_benchmark import OutputInUseError, run_benchmark
    from descentlab.benchmark._store import CorruptStoreError

    if Path(args.out).exists() and not Path(args.out).is_dir():
        print(f"descentlab bench: error: --out must be a directory ({args.out} is a file)",
              file=sys.stderr)
        return 2
    try:
        with warnings.catch_warnings():  # the benchmark's own warnings, one line each
            warnings.showwarning = _one_line_warnings(warnings.showwarning)
            A, stats = _run(run_benchmark, args)
    except (OutputInUseError, CorruptStoreError) as exc:  # not a usage error: exit 1
        print(f"descentlab bench: error: {exc}", file=sys.stderr)
        return 1
    except (ValueError, ImportError) as exc:
        print(f"descentlab bench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"interrupted: finished trials are saved in {args.out}/results.sqlite; run the same "
              "command again to resume.", file=sys.stderr)
        return 130
    return _print_summary(A, stats, args)


def _run(run_benchmark, args):
    return run_benchmark(
        args.out, quick=args.quick, problems=args.problems, optimizers=args.optimizers,
        rulesets=args.ruleset, seeds=args.seeds, tune_seeds=args.tune_seeds,
        workers=args.workers, ray=args.ray, lr_grid=args.lr_grid,
        per_decade=args.per_decade, epochs=args.epochs, report=not args.no_report,
        progress=not args.no_progress,
    )


def _print_summary(A, stats, args) -> int:
    import math

    def f(x):
        if x is None or (isinstance(x, float) and math.isnan(x)):
            return "-"
        return f"{x:.4g}" if isinstance(x, float) else str(x)

    main = A.tuned_ruleset or "defaults"
    print(f"\nSummary ({main}; test metric = mean over {A.settings.seeds} seeds [95% CI], "
          "lower is better; * = best or tied):")
    print(f"{'problem':<16} {'optimizer':<15} {'lr':>9} {'test_metric':>11} {'95% CI':>21} "
          f"{'ep->target':>10} {'diverged':>8}")
    for r in A.rows:
        if r["ruleset"] != main:
            continue
        ci = f"[{f(r['test_metric_ci_low'])}, {f(r['test_metric_ci_high'])}]"
        print(f"{r['problem']:<16} {r['optimizer'] + ('*' if r['tied_best'] else ''):<15} "
              f"{f(r['lr']):>9} {f(r['test_metric']):>11} {ci:>21} "
              f"{f(r['epochs_to_target']):>10} {r['diverged_fraction']:>8.0%}")
    edge = [f"{r['optimizer']} on {r['problem']}" for r in A.rows
            if r["ruleset"] == main and r["lr_at_grid_edge"]]
    if edge:
        print("Tuned lr at the edge of its grid after the last extension (the best lr may lie "
              f"outside it): {', '.join(edge)}.")
    print("\nPublished findings:")
    for fd in A.findings:
        print(f"  [{fd['verdict']}] {fd['claim']}\n      {fd['evidence']}")
    print()
    print(_performance_summary(stats, args.out))
    files = ["summary.csv", "timing.csv", "run.json"]
    if stats["trials_run"] > 0:
        files.append("performance.json")
    if not args.no_report:
        files.append("report.html")
    print(f"Wrote {args.out}/{', '.join(files)} (trials: {args.out}/results.sqlite)")
    return 0


def _performance_summary(stats: dict, out) -> str:
    """This invocation's speed; or, when it ran no trial, that nothing was left to run and the
    speed of the last invocation that ran trials (kept in OUT/performance.json)."""
    if stats["trials_run"] > 0:
        return (f"{stats['trials_run']} trials run in {stats['wall_s']:.1f} s "
                f"({stats['trials_per_minute']:.0f} trials/min, worker utilisation "
                f"{stats['utilisation']:.0%}, {stats['executor']}); "
                f"{stats['in_store_at_start']} were already stored.")
    line = (f"Nothing left to run: all {stats['in_store_at_start']} trials were already in "
            f"{out}/results.sqlite.")
    last = stats.get("last_performance")
    if not last:
        return line + (f" The performance of the run that computed them was not recorded "
                       f"({out}/performance.json is missing).")
    from descentlab.benchmark._report import run_sentence

    return line + (f" The last invocation that ran trials ran {run_sentence(last)} (kept in "
                   f"{out}/performance.json).")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "bench", help="tuned, seeded comparison of the optimizers on bundled data sets",
        description="Train every optimizer on every problem under the same budget, tune the "
        "learning rate on validation data, re-run the chosen settings with fresh seeds and write "
        "DIR/results.sqlite (one row per trial; rerun the same command to resume), "
        "DIR/summary.csv, DIR/performance.json (the speed of the last invocation that ran trials) "
        "and DIR/report.html.",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--quick", action="store_true",
                   help="short budgets, 5 final seeds, 1 tuning seed (about a minute on 2 cores)")
    p.add_argument("--problems", metavar="LIST", help="comma-separated problems (default: all)")
    p.add_argument("--optimizers", metavar="LIST",
                   help="comma-separated optimizers (default: all, plus torch:* reference rows "
                   "on torch problems)")
    p.add_argument("--ruleset", metavar="LIST",
                   help="comma-separated rulesets among defaults, lr-grid, random "
                   "(default: defaults,lr-grid)")
    p.add_argument("--seeds", type=int, help="final seeds (default 10; --quick 5)")
    p.add_argument("--tune-seeds", type=int, help="tuning seeds per setting (default 2; --quick 1)")
    p.add_argument("--workers", type=int,
                   help="worker processes (default: all CPUs; more than that gets a warning)")
    p.add_argument("--ray", metavar="ADDRESS",
                   help="run trials as Ray tasks on this cluster ('local' starts one here)")
    p.add_argument("--lr-grid", type=_lr_grid, metavar="LOW:HIGH",
                   help="absolute lr range of the lr grid and of random search (default: 1/100 "
                   "to 10 times each optimizer's default)")
    p.add_argument("--per-decade", type=int, default=3, help="lr grid points per decade (3)")
    p.add_argument("--epochs", type=int, help="one budget in epochs for every problem")
    p.add_argument("--no-report", action="store_true", help="skip report.html")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_bench)
