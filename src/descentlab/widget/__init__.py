"""The playground as a notebook widget: ``descentlab.widget.Playground``.

An anywidget (https://anywidget.dev): one ES module plus traitlets synced both ways, so it runs in
JupyterLab, Notebook 7, VS Code and Colab with no server. The kernel computes, through the same
validation and cost bounds as the playground's web API; the front end is the playground page's own
JavaScript. Needs the ``notebook`` extra: ``pip install 'descentlab[notebook]'``.

>>> from descentlab.widget import Playground
>>> w = Playground(surface="ravine", optimizers=["momentum:lr=0.02,gamma=0.9"], steps=100)
>>> w.start, w.runs.trajectories.shape          # (steps + 1, runs, 2)
((-8.0, 2.0), (101, 1, 2))
"""

from descentlab._extras import require

require("anywidget", extra="notebook", feature="descentlab.widget")
require("pydantic", extra="notebook", feature="descentlab.widget")

from descentlab.widget._playground import Playground  # noqa: E402

__all__ = ["Playground"]
