"""``--ray``: the same trials as Ray tasks on a local Ray instance give the local run's numbers."""

import sqlite3

import pytest

pytest.importorskip("ray", reason="Ray is not installed (pip install 'descentlab[ray]'); the "
                    "--ray executor is tested only where it is")


def test_ray_local_instance_gives_the_same_results_as_local_workers(reference, tiny, tmp_path):
    from descentlab.benchmark import run_benchmark

    out, _, _ = reference
    kw, _ = tiny
    _, stats = run_benchmark(tmp_path, ray="local", workers=2, report=False, **kw)
    assert stats["executor"].startswith("Ray") and stats["trials_run"] > 0
    assert (tmp_path / "summary.csv").read_bytes() == (out / "summary.csv").read_bytes()
    with sqlite3.connect(tmp_path / "results.sqlite") as a, \
            sqlite3.connect(out / "results.sqlite") as b:
        query = "SELECT id, result FROM trials ORDER BY id"
        assert a.execute(query).fetchall() == b.execute(query).fetchall()
