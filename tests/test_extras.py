"""A missing optional dependency gives one clear message naming the extra, never a traceback."""

import subprocess
import sys

import pytest

# (command line, the module hidden, the extra the message must name)
CASES = [
    (["tour", "--out", "{tmp}/tour"], "matplotlib", "plot"),
    (["race", "--expr", "x**2+y**2", "--out", "{tmp}/r.png"], "sympy", "lab"),
    (["serve", "--port", "1"], "uvicorn", "web"),
]


@pytest.mark.parametrize(("argv", "module", "extra"), CASES)
def test_cli_names_the_missing_extra(tmp_path, argv, module, extra):
    code = (
        f"import sys; sys.modules[{module!r}] = None\n"  # makes `import module` fail as if absent
        "from descentlab.cli import main\n"
        f"sys.exit(main({[a.format(tmp=tmp_path) for a in argv]!r}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert f"pip install 'descentlab[{extra}]'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "tour").exists()  # nothing half-written


def test_torch_adapter_names_its_extra():
    code = "import sys; sys.modules['torch'] = None\nimport descentlab.torch\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode != 0
    assert "pip install 'descentlab[torch]'" in proc.stderr
