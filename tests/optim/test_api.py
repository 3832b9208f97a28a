"""Bad input (one table), access by name, the family tree, repr."""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest
import torch

from descentlab import optim
from descentlab._validation import Interval

NAN = float("nan")

# (constructor call, a regex for the message: what, the allowed range or choices, what was given)
CONSTRUCTOR_ERRORS = [
    (lambda: optim.GD(lr=-1.0), re.escape("The 'lr' parameter of GD must be a float in the range "
                                          "[0.0, inf). Got -1.0 instead.")),
    (lambda: optim.SGD(lr=NAN), re.escape("The 'lr' parameter of SGD must be a float in the range "
                                          "[0.0, inf). Got nan instead.")),
    (lambda: optim.Adam(lr=float("inf")), re.escape("The 'lr' parameter of Adam must be a float in "
                                                    "the range [0.0, inf). Got inf instead.")),
    (lambda: optim.Adam(lr=np.array([0.1, np.inf])), r"element-wise. Got inf at index \(1,\)"),
    (lambda: optim.Adam(beta1=1.0), re.escape("The 'beta1' parameter of Adam must be a float in "
                                              "the range [0.0, 1.0). Got 1.0 instead.")),
    (lambda: optim.Nadam(beta1=-0.1), r"'beta1' parameter of Nadam .* \[0.0, 1.0\). Got -0.1"),
    (lambda: optim.Adam(beta2=1.5), r"'beta2' parameter of Adam .* \[0.0, 1.0\). Got 1.5"),
    (lambda: optim.Momentum(gamma=1.0), r"'gamma' parameter of Momentum .* \[0.0, 1.0\). Got 1.0"),
    (lambda: optim.NAG(gamma=-0.5), r"'gamma' parameter of NAG .* \[0.0, 1.0\). Got -0.5"),
    (lambda: optim.RMSProp(gamma=NAN), r"'gamma' parameter of RMSProp .* Got nan"),
    (lambda: optim.AdaDelta(gamma=1.0), r"'gamma' parameter of AdaDelta .* \[0.0, 1.0\)"),
    (lambda: optim.Adam(eps=-1e-8), r"'eps' parameter of Adam .* \[0.0, inf\). Got -1e-08"),
    (lambda: optim.RMSProp(eps=-1.0), r"'eps' parameter of RMSProp .* \[0.0, inf\)"),
    (lambda: optim.AdaDelta(eps=0.0), r"'eps' parameter of AdaDelta .* \(0.0, inf\). Got 0.0"),
    (lambda: optim.Adagrad(initial_accumulator=-1.0), r"'initial_accumulator' .* \[0.0, inf\)"),
    (lambda: optim.Nadam(momentum_decay=-0.004), r"'momentum_decay' parameter of Nadam"),
    (lambda: optim.Adam(lr="fast"), r"'lr' parameter of Adam must be a float"),
    (lambda: optim.Adam(lr=True), r"'lr' parameter of Adam must be a float"),
    # a batched array: the message names the first bad element's index
    (lambda: optim.Adam(lr=np.array([[0.01], [-0.03], [0.1]])),
     r"'lr' parameter of Adam .* element-wise. Got -0.03 at index \(1, 0\)"),
    (lambda: optim.Momentum(gamma=np.array([0.5, 0.9, 1.0])),
     r"'gamma' parameter of Momentum .* Got 1.0 at index \(2,\)"),
    (lambda: optim.RMSProp(lr=torch.tensor([0.1, NAN])),
     r"'lr' parameter of RMSProp .* Got nan at index \(1,\)"),
    (lambda: optim.Adagrad(variant="keras"),
     r"'variant' parameter of Adagrad must be one of \['lecture', 'torch'\]. Got 'keras'"),
    (lambda: optim.Nadam(variant="dozat"),
     r"'variant' parameter of Nadam must be one of \['ruder', 'torch', 'optax'\]. Got 'dozat'"),
    (lambda: optim.get("adamw"), re.escape("Unknown optimizer 'adamw'. Valid choices: GD, SGD, "
                                           "Momentum, NAG, Adagrad, RMSProp, AdaDelta, Adam, "
                                           "Nadam.")),
    (lambda: optim.Adam(gamma=0.9), "gamma"),  # not one of Adam's hyperparameters
]


@pytest.mark.parametrize("make, message", CONSTRUCTOR_ERRORS)
def test_bad_hyperparameters_are_refused_at_construction(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def _bad_step(name):
    """Calls that must be refused when stepping params of shape (3, 2), float64."""
    theta = np.ones((3, 2))
    return [
        ("grad shape", optim.get(name), theta, np.ones((2, 3)),
         r"grad has shape \(2, 3\) but params has shape \(3, 2\)"),
        ("grad broadcastable", optim.get(name), theta, np.ones(2), r"grad has shape \(2,\)"),
        ("grad integer", optim.get(name), theta, np.ones((3, 2), dtype=int), "floating dtype"),
        ("grad a list", optim.get(name), theta, [[1.0, 1.0]] * 3, "same kind of array"),
        ("grad a tensor", optim.get(name), theta, torch.ones(3, 2), "same kind of array"),
        ("hyperparameter shape", optim.get(name, lr=np.full((4, 1), 0.1))
         if name != "AdaDelta" else optim.AdaDelta(gamma=np.full((2, 1), 0.5)),
         theta, np.ones((3, 2)), r"has shape \((4|2), 1\), which does not broadcast"),
        ("hyperparameter grows params", optim.get(name, lr=np.full((3, 2, 1), 0.1)),
         theta, np.ones((3, 2)), "does not broadcast to the params' shape"),
    ]


@pytest.mark.parametrize("name", optim.names())
def test_refused_step_leaves_params_and_state_untouched(name):
    for what, opt, theta, grad, message in _bad_step(name):
        good = optim.get(name)
        state = good.init(theta)
        good.step(theta, np.full(theta.shape, 0.5), state)  # non-trivial state
        theta_before, state_before = theta.copy(), copy.deepcopy(state)
        with pytest.raises(ValueError, match=message):
            opt.step(theta, grad, state)
        np.testing.assert_array_equal(theta, theta_before, err_msg=what)
        assert state.keys() == state_before.keys()
        for key, value in state.items():
            np.testing.assert_array_equal(value, state_before[key], err_msg=f"{what}: {key}")


@pytest.mark.parametrize("name", optim.names())
def test_integer_params_and_foreign_state_are_refused(name):
    opt = optim.get(name)
    with pytest.raises(ValueError, match="params must have a floating dtype"):
        opt.init(np.array([1, 2, 3]))
    with pytest.raises(ValueError, match="floating dtype"):
        opt.step(np.array([1, 2]), np.array([0.1, 0.1]), {"t": 0})
    with pytest.raises(TypeError, match="NumPy array or a torch tensor"):
        opt.init([1.0, 2.0])
    state = opt.init(np.zeros(3))
    if opt.buffers:
        with pytest.raises(ValueError, match="build the state with"):
            opt.step(np.zeros(4), np.zeros(4), state)
        with pytest.raises(ValueError, match="build the state with"):
            opt.step(np.zeros(3, np.float32), np.zeros(3, np.float32), state)
    with pytest.raises(ValueError, match="state lacks"):
        opt.step(np.zeros(3), np.zeros(3), {})


def test_names_get_lookup_case_insensitive():
    assert optim.names() == ["GD", "SGD", "Momentum", "NAG", "Adagrad", "RMSProp", "AdaDelta",
                             "Adam", "Nadam"]
    for name in optim.names():
        for spelling in (name, name.lower(), name.upper()):
            opt = optim.get(spelling)
            assert type(opt).__name__ == name and optim.lookup(spelling) is type(opt)
    assert optim.get("ADAM", lr=0.5).lr == 0.5
    with pytest.raises(ValueError, match="Valid choices: GD, SGD, Momentum"):
        optim.lookup("lbfgs")


def test_family_tree_is_the_lecture_tree():
    tree = optim.family_tree()
    assert list(tree) == optim.names()
    parents = {name: f.parents for name, f in tree.items()}
    assert parents == {
        "GD": (), "SGD": ("GD",), "Momentum": ("SGD",), "NAG": ("Momentum",),
        "Adagrad": ("SGD",), "RMSProp": ("Adagrad",), "AdaDelta": ("Adagrad",),
        "Adam": ("Momentum", "RMSProp"), "Nadam": ("NAG", "Adam"),
    }
    branches = {name: f.branch for name, f in tree.items()}
    assert branches["Momentum"] == branches["NAG"] == "direction"
    assert branches["Adagrad"] == branches["RMSProp"] == branches["AdaDelta"] == "step size"
    assert branches["Adam"] == branches["Nadam"] == "both"
    for name, family in tree.items():
        assert all(p in tree for p in family.parents)
        assert family.paper and 1800 < family.year < 2030
        assert all(tree[p].year <= family.year for p in family.parents), name


@pytest.mark.parametrize("name", optim.names())
def test_hyperparameter_specs_match_the_constructor(name):
    cls = optim.lookup(name)
    specs = cls.hyperparameter_specs()
    defaults = cls()
    for spec in specs:
        assert getattr(defaults, spec.name) == spec.default
        if spec.interval is None:
            assert spec.default in spec.choices
        else:
            assert isinstance(spec.interval, Interval)
            assert bool(spec.interval.contains(np.asarray(spec.default)))
    assert [s.name for s in specs][0] in ("lr", "gamma")


def test_repr_shows_the_hyperparameters():
    assert repr(optim.Adam(lr=0.01)) == "Adam(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-08)"
    assert repr(optim.Nadam(variant="torch")) == (
        "Nadam(lr=0.002, beta1=0.9, beta2=0.999, eps=1e-08, variant='torch', "
        "momentum_decay=0.004)")
    assert repr(optim.GD(lr=np.array([[0.01], [0.03]]))) == "GD(lr=[[0.01],\n [0.03]])"
    assert "array(shape=(10, 1))" in repr(optim.GD(lr=np.full((10, 1), 0.1)))


@pytest.mark.parametrize("name", optim.names())
def test_hyperparameters_cannot_be_reassigned_on_the_instance(name):
    """``opt.lr = 0.5`` would look like a change while the rule reads ``hyperparameters``."""
    opt = optim.get(name)
    first = opt.hyperparameter_specs()[0].name
    before = getattr(opt, first)
    with pytest.raises(AttributeError, match=f"{name}'s {first!r} is fixed at construction"):
        setattr(opt, first, 0.5)
    assert getattr(opt, first) == before and opt.hyperparameters[first] == before
    opt.note = "other attributes are free"  # (only the hyperparameters' names are guarded)
    assert opt.note == "other attributes are free"


@pytest.mark.parametrize("name", ["GD", "Adam", "Nadam"])
def test_state_that_is_not_init_s_dict_is_refused_with_a_value_error(name):
    """A TypeError ('argument of type NoneType is not iterable') or an AttributeError ('list'
    object has no attribute 'shape') used to reach the user instead of a message naming state."""
    opt = optim.get(name)
    theta = np.ones(3)
    state = opt.init(theta)
    bad_states = [(None, "state must be the dict"), ([0.0, 0.0, 0.0], "state must be the dict")]
    for buffer in opt.buffers:
        bad_states.append(({**state, buffer: [0.0, 0.0, 0.0]},
                           rf"state\['{buffer}'\] is list, not an array"))
    for bad, culprit in bad_states:
        with pytest.raises(ValueError, match=culprit):
            opt.step(theta, np.ones(3), bad)
        np.testing.assert_array_equal(theta, np.ones(3))
