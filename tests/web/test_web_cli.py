"""`descentlab serve`'s own errors: one clear line, never a traceback or a misleading banner."""

import socket

import pytest

from descentlab.cli import main


def test_port_out_of_range_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["serve", "--port", "99999"])
    assert exc.value.code == 2
    assert "a port is in [0, 65535], got 99999" in capsys.readouterr().err


def test_taken_port_is_reported_before_any_banner(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 1
    out, err = capsys.readouterr()
    assert "playground on" not in out
    assert f"cannot listen on 127.0.0.1:{port}" in err
