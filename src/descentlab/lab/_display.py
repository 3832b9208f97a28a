"""How the lab's objects show themselves in a notebook (Jupyter's ``_repr_html_``).

A :class:`~descentlab.lab.Runs` displays as a small table: one row per run with its label, start
and the measured metrics a reader looks for first (final loss, J - f*, distance to the nearest
minimum, steps to tolerance, zig-zag index, divergence). Long collections show their first and
last rows.

The figure functions return matplotlib Figures built without pyplot (no global state, nothing to
close). IPython draws a Figure only once a pyplot backend has registered a formatter for it, so a
notebook that never imports pyplot would print ``<Figure size ...>`` instead of the picture:
:func:`show_figures_in_ipython` registers IPython's own PNG formatter for Figures when none is
registered yet (``new_figure`` calls it).
"""

from __future__ import annotations

import html
import math
import sys

__all__ = ["runs_html", "show_figures_in_ipython", "MAX_ROWS"]

#: rows shown before the table is cut in the middle
MAX_ROWS = 30

_COLUMNS = (  # (metric, heading, title)
    ("final_loss", "final loss", "J at the last finite step"),
    ("loss_gap", "J − f*", "final loss minus the surface's minimum value"),
    ("distance", "dist. to min", "distance from the last point to the nearest minimum"),
    ("steps_to_tol", "steps to tol.", "first step from which J − f* stays within the tolerance"),
    ("oscillation", "zig-zag", "fraction of steps that turn by more than 90 degrees"),
    ("diverged_at", "diverged at", "the step at which the run left the surface's window"),
)


def _number(value, metric: str) -> str:
    if metric in ("steps_to_tol", "diverged_at"):
        v = int(value)
        return ("never" if metric == "steps_to_tol" else "–") if v < 0 else str(v)
    v = float(value)
    if math.isnan(v):
        return "–"
    if math.isinf(v):
        return "inf" if v > 0 else "−inf"
    if v == 0:
        return "0"
    return f"{v:.4g}"


def runs_html(runs, *, tol: float = 1e-3, max_rows: int = MAX_ROWS) -> str:
    """An HTML table of ``runs``' metrics (``Runs._repr_html_``).

    >>> from descentlab import lab
    >>> r = lab.run("bowl", [("gd", {"lr": [0.1, 1.2]})], [[1.0, 1.0]], steps=50)
    >>> page = runs_html(r)
    >>> "GD(lr=0.1)" in page, page.count("<tr>")   # heading row + 2 runs
    (True, 3)
    """
    cols = runs.metrics(tol, columns=True)
    n = len(runs)
    shown = list(range(n)) if n <= max_rows else (
        list(range(max_rows // 2)) + [None] + list(range(n - max_rows // 2, n)))
    one_start = len({tuple(runs.meta[i]["start"]) for i in range(n)}) <= 1
    cell = 'style="text-align:right;padding:2px 8px;font-variant-numeric:tabular-nums"'
    left = 'style="text-align:left;padding:2px 8px"'
    head = [f"<th {left}>run</th>"] + ([] if one_start else [f"<th {left}>start</th>"]) + [
        f'<th {cell} title="{html.escape(title)}">{html.escape(heading)}</th>'
        for _, heading, title in _COLUMNS]
    rows = ["<tr>" + "".join(head) + "</tr>"]
    for i in shown:
        if i is None:
            span = len(head)
            rows.append(f'<tr><td colspan="{span}" {left}>… {n - 2 * (max_rows // 2)} more runs '
                        "…</td></tr>")
            continue
        start = runs.meta[i]["start"]
        tds = [f"<td {left}>{html.escape(runs.label(i))}</td>"]
        if not one_start:
            tds.append(f"<td {left}>({start[0]:.4g}, {start[1]:.4g})</td>")
        tds += [f"<td {cell}>{_number(cols[m][i], m)}</td>" for m, _, _ in _COLUMNS]
        rows.append("<tr>" + "".join(tds) + "</tr>")
    first = runs.meta[0]["start"] if n else None
    caption = (f"{n} run{'s' if n != 1 else ''} × {runs.steps} steps on "
               f"{html.escape(str(runs.surface.name))}"
               + (f", from ({first[0]:.4g}, {first[1]:.4g})" if one_start and n else "")
               + f"; steps to tol.: J − f* ≤ {tol:g}")
    return ('<table class="descentlab-runs" style="border-collapse:collapse;font-size:13px">'
            f'<caption style="text-align:left;padding:2px 8px">{caption}</caption>'
            + "".join(rows) + "</table>")


def show_figures_in_ipython() -> None:
    """In an IPython kernel, make matplotlib Figures display as PNG (once; a formatter already
    registered, e.g. by ``%matplotlib inline``, is left alone). Outside IPython: nothing."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    formatters = getattr(getattr(shell, "display_formatter", None), "formatters", {})
    png = formatters.get("image/png")
    if png is None:
        return
    from matplotlib.figure import Figure

    try:
        png.lookup_by_type(Figure)
        return
    except KeyError:
        pass
    from IPython.core.pylabtools import print_figure

    png.for_type(Figure, lambda fig: print_figure(fig, "png"))
