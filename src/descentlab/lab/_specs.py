"""The lab's command-line value language: optimizer specs, grid axes, points and bounds.

``adam:lr=0.01|0.1`` (an optimizer with two settings), ``lr=0.001:1:30:log`` (a grid axis),
``1.5,-2`` (a point), ``-2,2,-1,3`` (a window). Cheap to import: NumPy and the optimizers are
imported inside the parsers. Every malformed value raises :class:`UsageError`, which the commands
report with exit status 2.
"""

from __future__ import annotations

__all__ = ["UsageError", "parse_optimizer", "parse_grid"]


class UsageError(ValueError):
    """Bad settings from the command line or a config file: reported with exit status 2."""

def _number(text: str):
    text = text.strip()
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text

def parse_optimizer(spec: str):
    """``"nag:lr=0.01,gamma=0.9"`` -> ``("NAG", {"lr": 0.01, "gamma": 0.9})``.

    A value may list several settings separated by ``|`` (``adam:lr=0.01|0.1``: two runs).
    Names are case-insensitive; unknown names raise UsageError listing the valid ones.

    >>> parse_optimizer("nag:lr=0.01,gamma=0.9")
    ('NAG', {'lr': 0.01, 'gamma': 0.9})
    >>> parse_optimizer("adam:lr=0.01|0.1")
    ('Adam', {'lr': [0.01, 0.1]})
    """
    from descentlab import optim

    if not isinstance(spec, str) or not spec.strip():
        raise UsageError(f"an optimizer spec is NAME[:KEY=VALUE,...], got {spec!r}.")
    name, _, rest = spec.strip().partition(":")
    try:
        cls = optim.lookup(name.strip())
    except ValueError:
        raise UsageError(f"unknown optimizer {name.strip()!r} in {spec!r}. Valid choices: "
                         f"{', '.join(optim.names())} (case-insensitive).") from None
    valid = [h.name for h in cls.hyperparameter_specs()]
    hp = {}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or not value.strip():
            raise UsageError(f"{spec!r}: expected KEY=VALUE, got {item!r}.")
        if key not in valid:
            raise UsageError(f"{cls.__name__} has no hyperparameter {key!r} (in {spec!r}). "
                             f"Valid names: {', '.join(valid)}.")
        if key in hp:
            raise UsageError(f"{spec!r} gives {key!r} twice; list several values as "
                             f"{key}=A|B.")
        values = [_number(v) for v in value.split("|")]
        hp[key] = values if len(values) > 1 else values[0]
    return cls.__name__, hp

def _validate_values(name: str, hp: dict) -> None:
    """Build the optimizer with each given value, so a bad one fails before any work."""
    from descentlab import optim

    for key, value in hp.items():
        for v in value if isinstance(value, list) else [value]:
            optim.get(name, **{key: v})

class GridValues(list):
    """A grid axis's values (a plain list) that remember the text they came from, ``source``
    (``"lr=-1:1:5"``), so that ``lab.run`` can name a refused value as the user wrote it."""

    def __init__(self, values=(), *, source: str | None = None):
        super().__init__(values)
        self.source = source


def parse_grid(text: str):
    """``"lr=0.001:1:30:log"`` (30 log-spaced values), ``"gamma=0:0.98:30"`` (evenly spaced) or
    ``"lr=0.01,0.03,0.13"`` (a list) -> ``(name, [values])``.

    >>> parse_grid("lr=0.01,0.03")
    ('lr', [0.01, 0.03])
    >>> parse_grid("gamma=0:1:3")
    ('gamma', [0.0, 0.5, 1.0])
    """
    import numpy as np

    name, eq, rest = str(text).partition("=")
    name = name.strip()
    if not eq or not name or not rest.strip():
        raise UsageError(f"a grid is NAME=START:STOP:NUM[:log] or NAME=V1,V2,...; got {text!r}.")
    try:
        if ":" in rest:
            parts = rest.split(":")
            if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3].strip() != "log"):
                raise ValueError
            lo, hi = float(parts[0]), float(parts[1])
            try:
                num = int(parts[2])
            except ValueError:
                raise UsageError(f"a grid's NUM (the number of values, in START:STOP:NUM) is a "
                                 f"whole number of at least 1; got {parts[2].strip()!r} in "
                                 f"{text!r}.") from None
            if num < 1:
                raise UsageError(f"a grid's NUM (the number of values, in START:STOP:NUM) must "
                                 f"be at least 1; got {num} in {text!r}.")
            from descentlab.lab._limits import MAX_GRID_VALUES  # (no NumPy in _limits)

            if num > MAX_GRID_VALUES:
                raise UsageError(f"a grid axis has at most {MAX_GRID_VALUES:,} values (NUM); "
                                 f"got {num:,} in {text!r}.")
            if len(parts) == 4:
                if lo <= 0 or hi <= 0:
                    raise UsageError(f"a log grid needs positive bounds; got {text!r}.")
                values = np.geomspace(lo, hi, num)
            else:
                values = np.linspace(lo, hi, num)
            return name, GridValues((float(v) for v in values), source=text.strip())
        return name, GridValues((float(v) for v in rest.split(",")), source=text.strip())
    except UsageError:
        raise
    except ValueError:
        raise UsageError(f"a grid is NAME=START:STOP:NUM[:log] or NAME=V1,V2,...; got "
                         f"{text!r}.") from None

def _finite_point(text: str, what: str) -> list[float]:
    import math

    try:
        x, y = (float(v) for v in str(text).split(","))
    except ValueError:
        raise UsageError(f"{what} is X,Y (two numbers), got {text!r}.") from None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise UsageError(f"{what} X,Y must be two finite numbers, got {text!r}.")
    return [x, y]

def _xy(text: str):
    return _finite_point(text, "a start point")

def _minimum(text: str):
    return _finite_point(text, "--minimum")

def _bounds(text):
    import math

    if text is None:
        return None
    try:
        x0, x1, y0, y1 = (float(v) for v in str(text).split(","))
    except ValueError:
        raise UsageError(f"bounds are XMIN,XMAX,YMIN,YMAX (four numbers), got {text!r}.") \
            from None
    if not all(math.isfinite(v) for v in (x0, x1, y0, y1)):
        raise UsageError(f"--bounds needs four finite numbers XMIN,XMAX,YMIN,YMAX, got "
                         f"{text!r}.")
    if not (x0 < x1 and y0 < y1):  # also refuses NaN
        raise UsageError(f"bounds need XMIN < XMAX and YMIN < YMAX, got {text!r}.")
    from descentlab.surfaces._base import MAX_ABS_BOUND

    if not all(abs(v) <= MAX_ABS_BOUND for v in (x0, x1, y0, y1)):
        raise UsageError(f"--bounds must lie in [-{MAX_ABS_BOUND:g}, {MAX_ABS_BOUND:g}] "
                         f"(figures need room to compute ticks), got {text!r}.")
    return ((x0, x1), (y0, y1))

def _option(text: str):
    key, eq, value = str(text).partition("=")
    if not eq or not key.strip():
        raise UsageError(f"a surface option is KEY=VALUE, got {text!r}.")
    return key.strip(), _number(value)

def _runs_per_spec(name: str, hp: dict) -> int:
    n = 1
    for value in hp.values():
        n *= len(value) if isinstance(value, list) else 1
    return n

def _specs(settings: dict):
    specs = settings["optimizer"]
    return [parse_optimizer(s) for s in (specs if isinstance(specs, list) else [specs])]
