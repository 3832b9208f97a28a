"""The widget's front end as one ES module, built from the playground page's own modules.

anywidget loads a single ES module (``_esm``), so relative imports between the page's modules
(``import { ContourPlot } from "./plot.js"``) cannot resolve. Instead of keeping a second copy,
:func:`esm` reads the page's modules from ``descentlab/web/static/js`` at import time and inlines
them, in dependency order, into one factory function::

    function sharedModules(postJSON) { <ui.js> <plot.js> <chart.js> <inspector.js> return {...}; }

followed by the widget's own ``static/widget.js`` (controls laid out for a notebook cell, wired to
the kernel through traitlets), which calls the factory once per view. The only import the page's
modules make outside this set is ``postJSON`` from ``api.js`` (the inspector fetches a minibatch
cloud from the server); the widget passes a function that asks the kernel instead, so each view
talks to its own kernel-side object.

The build refuses anything it cannot inline faithfully (an import of another module or name, two
modules declaring the same top-level name) with a RuntimeError naming the file, so a change to the
page that breaks the widget fails the widget's tests instead of the notebook.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

__all__ = ["esm", "css", "SHARED_MODULES"]

WEB_JS = Path(__file__).resolve().parents[1] / "web" / "static" / "js"
STATIC = Path(__file__).resolve().parent / "static"

#: the page's modules the widget reuses, in dependency order
SHARED_MODULES = ("ui.js", "plot.js", "chart.js", "inspector.js")
#: names the shared modules may import from modules outside the bundle; the factory's arguments
PROVIDED = {"api.js": {"postJSON"}}

_IMPORT = re.compile(r'^import\s*\{([^}]*)\}\s*from\s*"\./([\w.-]+)";[ \t]*\n', re.M)
_ANY_IMPORT = re.compile(r"^\s*import\b", re.M)
_EXPORT = re.compile(r"^export\s+(?=(?:async\s+)?(?:function|class|const|let)\b)", re.M)
_DECLARED = re.compile(r"^(?:export\s+)?(?:async\s+)?(?:function\*?|class|const|let|var)\s+"
                       r"([A-Za-z_$][\w$]*)", re.M)
_EXPORTED = re.compile(r"^export\s+(?:async\s+)?(?:function\*?|class|const|let)\s+"
                       r"([A-Za-z_$][\w$]*)", re.M)


def inline(sources: dict[str, str]) -> str:
    """``sharedModules(postJSON)``: the modules in ``sources`` (name -> text, in order) inlined.

    >>> js = inline({"a.js": "export const A = 1;\\n",
    ...              "b.js": 'import { A } from "./a.js";\\nexport function b() { return A; }\\n'})
    >>> "return { A, b };" in js and "import" not in js
    True
    >>> inline({"b.js": 'import { A } from "./a.js";\\n'})
    Traceback (most recent call last):
    ...
    RuntimeError: b.js imports A from ./a.js, which the widget's bundle does not provide
    """
    available: set[str] = set()
    declared: dict[str, str] = {}
    exported: list[str] = []
    parts = []
    for name, text in sources.items():
        for match in _IMPORT.finditer(text):
            names = {n.strip() for n in match.group(1).split(",") if n.strip()}
            module = match.group(2)
            missing = names - (PROVIDED.get(module, set()) | (available if module in sources
                                                                   else set()))
            if missing:
                raise RuntimeError(f"{name} imports {', '.join(sorted(missing))} from ./{module}, "
                                   "which the widget's bundle does not provide")
        body = _IMPORT.sub("", text)
        if _ANY_IMPORT.search(body):
            raise RuntimeError(f"{name} has an import the widget's bundle cannot inline (only "
                               '`import { a, b } from "./module.js";` lines are understood)')
        for top in _DECLARED.findall(body):
            if top in declared or top == "postJSON":
                other = declared.get(top, "the bundle")
                raise RuntimeError(f"{name} declares {top!r}, which {other} declares too; rename "
                                   "one so the modules can be inlined together")
            declared[top] = name
        names = _EXPORTED.findall(body)
        exported += names
        available |= set(names)
        parts.append(f"  // ---- {name} (descentlab/web/static/js/{name}, inlined)\n"
                     + _EXPORT.sub("", body))
    return ("function sharedModules(postJSON) {\n" + "\n".join(parts)
            + f"\n  return {{ {', '.join(exported)} }};\n}}\n")


@functools.cache
def esm() -> str:
    """The widget's ES module: the page's shared modules, then ``static/widget.js``."""
    sources = {name: (WEB_JS / name).read_text(encoding="utf-8") for name in SHARED_MODULES}
    head = ("// descentlab.widget.Playground's front end, built by descentlab/widget/_bundle.py\n"
            "// from the playground page's modules (web/static/js) and widget.js.\n")
    return head + inline(sources) + "\n" + (STATIC / "widget.js").read_text(encoding="utf-8")


@functools.cache
def css() -> str:
    """The widget's style sheet (every rule under ``.dl-widget``)."""
    return (STATIC / "widget.css").read_text(encoding="utf-8")
