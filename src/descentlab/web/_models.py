"""The playground's request and response models (pydantic), and the caps on work per request.

Every request is validated here before any computation starts: shapes, finiteness, lengths and the
work it asks for (runs x steps, grid points, minibatch draws, GIF frames). A request over a cap is
refused with HTTP 422 and a message that names the cap, so one request can never hang the server.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, model_validator

from descentlab.surfaces._base import MAX_ABS_BOUND

__all__ = [
    "LIMITS", "Limits", "SurfaceSpec", "OptimizerSpec", "RunRequest", "GridRequest",
    "ExpressionRequest", "CloudRequest", "GifRequest",
]


class Limits(BaseModel):
    """Caps on the work one request may ask for (all enforced before computing)."""

    model_config = ConfigDict(frozen=True)

    max_optimizers: int = 12
    max_starts: int = 16
    max_runs: int = 64  # optimizers x starts
    max_steps: int = 5000
    max_run_steps: int = 40_000  # runs x steps: bounds time and the size of the answer
    max_grid: int = 240  # points per axis of a contour grid
    min_grid: int = 8
    max_cloud: int = 512  # minibatch gradients drawn for the cloud
    max_gif_frames: int = 120
    max_gif_run_steps: int = 10_000
    max_expression_chars: int = 200
    max_batch_size: int = 100_000
    max_data_points: int = 2000
    max_body_bytes: int = 256 * 1024  # a request body (JSON); a typical run request is < 1 KiB
    # the estimated computing time of one request (see descentlab.web._service.check_cost):
    # data size x grid x steps x formula size, not just counts. The page's typical requests
    # cost 0.001 to 0.1 s.
    max_cost_seconds: float = 2.5


LIMITS = Limits()

Finite = Annotated[float, Field(allow_inf_nan=False)]
Point = tuple[Finite, Finite]
Range = tuple[Finite, Finite]


def past_float_range(v: int) -> str:
    """The message for an integer too large for a float (JSON has no limit on digits).

    >>> past_float_range(10**400)
    'the number 1000000000...0 (401 digits) is past the float range (|x| <= 1.8e+308)'
    """
    text = str(v)
    shown = text if len(text) <= 20 else f"{text[:10]}...{text[-1]}"
    return (f"the number {shown} ({len(text.lstrip('-'))} digits) is past the float range "
            f"(|x| <= {1.7976931348623157e308:.2g})")


def _hyperparameter_value(v):
    """A number or a short keyword; its range is the library's to check, in its own words
    (``The 'lr' parameter of Adam must be a float in the range [0.0, inf). Got nan instead.``)."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        try:
            return float(v)
        except OverflowError:  # a JSON integer with hundreds of digits
            raise ValueError(past_float_range(v)) from None
    if isinstance(v, str) and len(v) <= 32:
        return v
    raise ValueError(f"a hyperparameter value is a number, or a keyword of at most 32 characters "
                     f"(e.g. variant='torch'); got {type(v).__name__} {str(v)[:40]!r}")


HyperparameterValue = Annotated[
    float | str, PlainValidator(_hyperparameter_value, json_schema_input_type=float | str)]


def _check_bounds(bounds) -> None:
    """Refuse a view whose axis is reversed or empty, or that reaches past ``MAX_ABS_BOUND``.

    Each bound is already finite (``Finite``), but a picture of ``(-1e308, 1e308)`` cannot be
    drawn (its width overflows, and so does the tick arithmetic well before that); see
    ``descentlab.surfaces._base.MAX_ABS_BOUND``.

    >>> _check_bounds(((-1e308, 1e308), (0, 1)))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: bounds on x must lie in [-1e+100, 1e+100] ...; got (-1e+308, 1e+308)
    """
    if bounds is None:
        return
    for axis, (lo, hi) in zip("xy", bounds, strict=True):
        if not lo < hi:
            raise ValueError(f"bounds on {axis} must satisfy min < max; got ({lo}, {hi})")
        if not (abs(lo) <= MAX_ABS_BOUND and abs(hi) <= MAX_ABS_BOUND):
            raise ValueError(f"bounds on {axis} must lie in [-{MAX_ABS_BOUND:g}, "
                             f"{MAX_ABS_BOUND:g}] (figures need room to compute ticks); got "
                             f"({lo}, {hi})")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataOptions(_Strict):
    """Options of a data surface (the loss of fitting y = w x + b to a seeded data set)."""

    loss: str | None = Field(None, max_length=32, description="regression loss, e.g. 'mse', 'mae'")
    n: int | None = Field(None, ge=2, le=LIMITS.max_data_points, description="number of points")
    outliers: int | None = Field(None, ge=0, le=LIMITS.max_data_points,
                                 description="number of outliers in the data set")
    seed: int | None = Field(None, ge=0, le=2**32 - 1, description="seed of the data set")
    delta: Finite | None = Field(None, description="Huber's delta")
    q: Finite | None = Field(None, description="the quantile loss's q")


class SurfaceSpec(_Strict):
    """A surface: a catalog name, or a formula in x and y (parsed by the lab's safe parser)."""

    name: str | None = Field(None, max_length=64, examples=["rosenbrock"],
                             description="catalog name (see GET /api/surfaces)")
    expression: str | None = Field(None, max_length=LIMITS.max_expression_chars,
                                   examples=["x**2 + 10*y**2"],
                                   description="formula in x and y (arithmetic and a whitelist "
                                   "of math functions; anything else is refused)")
    data: DataOptions | None = Field(None, description="options of a data surface (loss, ...)")

    @model_validator(mode="after")
    def _one_source(self):
        if (self.name is None) == (self.expression is None):
            raise ValueError("give exactly one of 'name' (a catalog surface) or 'expression' "
                             "(a formula in x and y)")
        if self.expression is not None and self.data is not None:
            raise ValueError("'data' options apply to catalog data surfaces, not to a formula")
        return self


class OptimizerSpec(_Strict):
    """One optimizer of a run, with the hyperparameters that differ from its defaults."""

    name: str = Field(..., max_length=32, examples=["Adam"],
                      description="optimizer name, case-insensitive (see GET /api/optimizers)")
    hyperparameters: dict[str, HyperparameterValue] = Field(
        default_factory=dict, examples=[{"lr": 0.05}],
        description="values by name; missing ones take the library's defaults")

    @model_validator(mode="after")
    def _few(self):
        if len(self.hyperparameters) > 16:
            raise ValueError("at most 16 hyperparameters per optimizer")
        return self


class RunRequest(_Strict):
    """Run every optimizer from every start point, as one vectorized call of descentlab.lab.run."""

    surface: SurfaceSpec
    optimizers: list[OptimizerSpec] = Field(..., min_length=1, max_length=LIMITS.max_optimizers)
    starts: list[Point] = Field(..., min_length=1, max_length=LIMITS.max_starts,
                                examples=[[[-1.5, 2.0]]])
    steps: int = Field(200, ge=1, le=LIMITS.max_steps)
    seed: int = Field(0, ge=0, le=2**32 - 1, description="seed of the minibatch draws")
    batch_size: int | None = Field(None, ge=1, le=LIMITS.max_batch_size,
                                   description="minibatch size on a data surface; null: full batch")
    record_state: bool = Field(True, description="also return the optimizers' internal state")
    tolerance: float = Field(1e-3, gt=0, allow_inf_nan=False,
                             description="tolerance on J - J* for the first_within_tol and "
                             "steps_to_tol metrics")

    @model_validator(mode="after")
    def _bounded(self):
        runs = len(self.optimizers) * len(self.starts)
        if runs > LIMITS.max_runs:
            raise ValueError(
                f"{len(self.optimizers)} optimizers x {len(self.starts)} starts = {runs} runs; "
                f"the limit is {LIMITS.max_runs} runs per request")
        work = runs * self.steps
        if work > LIMITS.max_run_steps:
            raise ValueError(
                f"{runs} runs x {self.steps} steps = {work:,} run-steps; the limit is "
                f"{LIMITS.max_run_steps:,} run-steps per request (fewer steps or fewer runs)")
        return self


class GridRequest(_Strict):
    """Values of a surface on a regular grid, for contours."""

    surface: SurfaceSpec
    resolution: int = Field(120, ge=LIMITS.min_grid, le=LIMITS.max_grid,
                            description="points per axis")
    bounds: tuple[Range, Range] | None = Field(
        None, description="((xmin, xmax), (ymin, ymax)) of the view; default: the surface's")

    @model_validator(mode="after")
    def _ordered(self):
        _check_bounds(self.bounds)
        return self


class ExpressionRequest(_Strict):
    text: str = Field(..., max_length=LIMITS.max_expression_chars, examples=["x**2 + 10*y**2"])


class CloudRequest(_Strict):
    """Minibatch gradients of a data surface at one point (the cloud around the full gradient)."""

    surface: SurfaceSpec
    point: Point
    batch_size: int = Field(..., ge=1, le=LIMITS.max_batch_size)
    count: int = Field(64, ge=1, le=LIMITS.max_cloud)
    seed: int = Field(0, ge=0, le=2**32 - 1)


class GifRequest(_Strict):
    """Render the runs of ``run`` as an animated GIF (matplotlib's PillowWriter)."""

    run: RunRequest
    frames: int = Field(60, ge=2, le=LIMITS.max_gif_frames)
    fps: int = Field(15, ge=1, le=50)
    bounds: tuple[Range, Range] | None = None

    @model_validator(mode="after")
    def _bounded(self):
        _check_bounds(self.bounds)
        runs = len(self.run.optimizers) * len(self.run.starts)
        if runs * self.run.steps > LIMITS.max_gif_run_steps:
            raise ValueError(gif_limit_message(runs, self.run.steps))
        return self


def gif_limit_message(runs: int, steps: int, limit: int | None = None) -> str:
    """Why a GIF of ``runs`` x ``steps`` is refused, and how to get under ``limit`` run-steps.

    Names the steps that fit with these runs and the runs that fit with these steps (when at least
    one does). The playground page (static/js/app.js, ``exportServer``) checks before it sends
    and words its message the same way.

    >>> gif_limit_message(3, 5000, 10_000)  # doctest: +NORMALIZE_WHITESPACE
    'A GIF is limited to 10,000 run-steps (runs x steps); these 3 runs x 5,000 steps make 15,000.
    Lower the steps to 3,333 or fewer, or keep 2 runs (optimizers x start points).'
    """
    limit = LIMITS.max_gif_run_steps if limit is None else limit
    fit_steps, fit_runs = limit // runs, limit // steps
    text = (f"A GIF is limited to {limit:,} run-steps (runs x steps); these {runs} runs x "
            f"{steps:,} steps make {runs * steps:,}. Lower the steps to {fit_steps:,} or fewer")
    if fit_runs >= 1:
        text += f", or keep {fit_runs} run{'s' if fit_runs > 1 else ''} (optimizers x start points)"
    return text + "."


Scale = Literal["linear", "log"]


# --------------------------------------------------------------------------- responses (schema)
# The endpoints return these shapes; they are declared for the OpenAPI schema. Non-finite numbers
# (a diverged run, a formula's pole) are sent as null.
Num = float | None
XY = list[Num]


class Interval(BaseModel):
    low: float | None
    high: float | None
    low_closed: bool
    high_closed: bool
    text: str = Field(..., examples=["[0.0, inf)"])


class Slider(BaseModel):
    scale: Scale
    min: float
    max: float
    step: float | None = None


class HyperparameterInfo(BaseModel):
    name: str
    kind: Literal["number", "choice"]
    default: float | str
    doc: str = ""
    interval: Interval | None = Field(None, description="the library's validation interval")
    slider: Slider | None = Field(None, description="a useful slider range (a UI hint)")
    choices: list[str] | None = None


class FamilyInfo(BaseModel):
    parents: list[str]
    branch: str
    year: int
    paper: str
    motto: str


class OptimizerInfo(BaseModel):
    name: str
    summary: str
    family: FamilyInfo
    state: list[str] = Field(..., description="names of the state buffers (v, m, G, s)")
    hyperparameters: list[HyperparameterInfo]


class DataInfo(BaseModel):
    n: int
    loss: str
    options: bool = Field(..., description="whether loss/outliers/... can be chosen")
    losses: list[str]
    axes: list[str]


class SurfaceInfo(BaseModel):
    name: str
    title: str = ""
    kind: Literal["analytic", "data"]
    description: str
    formula: str
    bounds: list[list[float]] = Field(..., description="[[xmin, xmax], [ymin, ymax]]")
    minima: list[XY]
    start: XY
    curvatures: list[float] | None = None
    data: DataInfo | None = None


class LossInfo(BaseModel):
    name: str
    label: str


class SurfaceCatalog(BaseModel):
    surfaces: list[SurfaceInfo]
    losses: list[LossInfo]
    expression: dict


class ExpressionAnswer(BaseModel):
    valid: bool
    message: str | None = Field(None, description="why the formula was refused")
    formula: str | None = Field(None, description="the parsed formula (sympy's form)")
    gradient: list[str] | None = None
    bounds: list[list[float]] | None = None
    start: XY | None = None
    minima: list[XY] | None = None


class GridAnswer(BaseModel):
    surface: dict
    axes: list[str] = Field(..., description="names of the two coordinates: x, y or w, b")
    bounds: list[list[float]]
    x: list[float]
    y: list[float]
    z: list[list[Num]] = Field(..., description="z[j][i] = J(x[i], y[j])")
    zmin: Num
    zmax: Num
    minima: list[XY]


class RunInfo(BaseModel):
    index: int
    optimizer: str
    label: str
    optimizer_index: int = Field(..., description="index into the request's optimizers")
    start_index: int = Field(..., description="index into the request's starts")
    start: list[float]
    hyperparameters: dict[str, float | str] = Field(..., description="all, defaults included")
    diverged_at: int | None


class RunMetrics(BaseModel):
    """The measured metrics of every run (descentlab.lab._metrics has the exact definitions).

    A run that touches the tolerance and bounces out again has a ``first_within_tol`` but no
    ``steps_to_tol`` yet: the two are always sent together so a client can show both.
    """

    final_loss: list[Num] = Field(..., description="J at the last step (null: diverged)")
    loss_gap: list[Num] = Field(..., description="final_loss - J* (null: no known minimum)")
    distance: list[Num] = Field(..., description="distance from the last point to the nearest "
                                "known minimum")
    nearest_minimum: list[int] = Field(..., description="that minimum's index (-1: none)")
    first_within_tol: list[int] = Field(
        ..., description="the first step t with J_t - J* <= tolerance ('first reached'); "
        "-1: never")
    steps_to_tol: list[int] = Field(
        ..., description="the step from which the run stays within the tolerance to the end "
        "(J_s - J* <= tolerance for every s >= t); -1: never settles, diverged or no minimum")
    path_length: list[Num] = Field(..., description="sum of the finite step lengths")
    oscillation: list[Num] = Field(..., description="zig-zag index: the fraction of turns by "
                                   "more than 90 degrees (null: fewer than two moving steps)")
    diverged_at: list[int] = Field(..., description="step of divergence, -1: never")


class RunAnswer(BaseModel):
    """``lab.run``'s result: run i is optimizer i // len(starts) from start i % len(starts)."""

    surface: dict
    steps: int
    runs: list[RunInfo]
    trajectories: list[list[XY]] = Field(..., description="(steps+1, runs, 2)")
    losses: list[list[Num]] = Field(..., description="(steps+1, runs), full-batch J")
    diverged_at: list[int] = Field(..., description="step of divergence per run, -1: never")
    metrics: RunMetrics = Field(
        ..., description="Runs.metrics(tolerance, columns=True), one value per run: final_loss, "
        "loss_gap, distance, nearest_minimum, first_within_tol (the first step within the "
        "tolerance, -1: never), steps_to_tol (the step from which the run stays within it, "
        "-1: never), path_length, oscillation (zig-zag index), diverged_at (-1: never)")
    metric_settings: dict
    states: dict[str, list[list[XY]]] | None = Field(
        None, description="Runs.states, each (steps+1, runs, 2): grad and lookahead of the step "
        "from row t to t+1, step_size (per-axis -dtheta/g), and the buffers v, m, G, s after t "
        "steps (null where an optimizer has no such buffer)")
    settings: dict


class CloudAnswer(BaseModel):
    point: list[float]
    full: XY = Field(..., description="the full-batch gradient at point")
    grads: list[XY] = Field(..., description="(count, 2) minibatch gradients")
    batch_size: int
    count: int
    seed: int


class ErrorAnswer(BaseModel):
    detail: str
    errors: list[dict] | None = None
