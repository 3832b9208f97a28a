"""A re-run of a finished bench says that nothing was left to run and repeats the speed of the
run that computed the trials (kept in OUT/performance.json), not "0 trials/min"."""

import json

from descentlab.cli import main

ARGS = ["--problems", "quadratic-k100", "--optimizers", "SGD", "--ruleset", "defaults",
        "--seeds", "2", "--tune-seeds", "1", "--quick", "--epochs", "1", "--per-decade", "1",
        "--workers", "1", "--no-progress", "--no-report"]


def test_a_rerun_of_a_finished_bench_repeats_the_last_performance(tmp_path, capsys):
    out = tmp_path / "bench"
    assert main(["bench", "--out", str(out), *ARGS]) == 0
    first = capsys.readouterr().out
    saved = json.loads((out / "performance.json").read_text())
    assert saved["trials_run"] > 0 and saved["trials_per_minute"] > 0
    assert f"{saved['trials_run']} trials run in" in first
    wrote = next(line for line in first.splitlines() if line.startswith("Wrote "))
    assert "performance.json" in wrote

    assert main(["bench", "--out", str(out), *ARGS]) == 0
    again = capsys.readouterr().out
    assert "0 trials/min" not in again
    assert (f"Nothing left to run: all {saved['trials_run']} trials were already in "
            f"{out}/results.sqlite.") in again
    speed = f"{saved['trials_per_minute']:.0f} trials per minute"
    assert f"The last invocation that ran trials ran {saved['trials_run']} trials" in again
    assert speed in again and f"{out}/performance.json" in again
    # the re-run keeps the saved performance as it was
    assert json.loads((out / "performance.json").read_text()) == saved


def test_a_rerun_without_a_saved_performance_says_so(tmp_path, capsys):
    out = tmp_path / "bench"
    assert main(["bench", "--out", str(out), *ARGS]) == 0
    (out / "performance.json").unlink()
    capsys.readouterr()
    assert main(["bench", "--out", str(out), *ARGS]) == 0
    again = capsys.readouterr().out
    assert "0 trials/min" not in again and "Nothing left to run" in again
    assert "was not recorded" in again
