"""Collection rules for ``python -m pytest`` from the repository root.

The notebook widget (``src/descentlab/widget``) needs the ``notebook`` extra (anywidget, pydantic):
without it, its modules' doctests are not collected (importing them would be a collection error),
and the tests under ``tests/widget`` and ``tests/notebooks`` skip themselves.
"""

import importlib.util

collect_ignore_glob = []
if importlib.util.find_spec("anywidget") is None or importlib.util.find_spec("pydantic") is None:
    collect_ignore_glob.append("src/descentlab/widget/*.py")
