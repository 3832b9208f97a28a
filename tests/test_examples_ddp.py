"""The DDP example (examples/ddp_descentlab_adam.py): two torch.distributed (gloo) processes
train with descentlab.torch.Adam under DDP and agree with one process."""

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("descentlab.torch")
dist = pytest.importorskip("torch.distributed")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def ddp_example(monkeypatch):
    """The example as a module; spawned ranks import it by name (spawn passes sys.path on)."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import ddp_descentlab_adam

    return ddp_descentlab_adam


@pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(),
                    reason="torch.distributed with the gloo backend is not available")
def test_ddp_ranks_agree_with_each_other_and_with_one_process(tmp_path, ddp_example):
    import torch.multiprocessing as mp

    make_problem, train, train_single = (ddp_example.make_problem, ddp_example.train,
                                         ddp_example.train_single)

    # a file store, not a TCP port picked in advance: no race with other processes for the port
    init = f"file://{tmp_path / 'rendezvous'}"
    mp.start_processes(train, args=(2, init, str(tmp_path)), nprocs=2, join=True,
                       start_method="spawn")
    p0 = torch.load(tmp_path / "rank0.pt")
    p1 = torch.load(tmp_path / "rank1.pt")
    single = train_single()
    for a, b, ref in zip(p0, p1, single, strict=True):
        assert torch.equal(a, b)  # the ranks are identical, bit for bit
        # the all-reduced mean of the two shard gradients equals the full-batch gradient up to
        # rounding, so after 20 Adam steps the parameters agree to round-off
        torch.testing.assert_close(a, ref, rtol=1e-10, atol=1e-12)
    initial = [p.detach() for p in make_problem()[2].parameters()]
    assert any(not torch.equal(a, b) for a, b in zip(p0, initial, strict=True))  # it trained
