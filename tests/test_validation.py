"""The one validation helper: what it accepts, and the message for everything else."""

import math

import numpy as np
import pytest

from descentlab._validation import check_in_range

CHECK = dict(name="lr", owner="Adam", low=0.0)


@pytest.mark.parametrize(("value", "words"), [
    ("0.1", "must be a float or an array of floats in the range [0.0, inf). Got '0.1' instead."),
    (np.array(["0.1"]), "must be a float or an array of floats"),
    (True, "must be a float in the range [0.0, inf). Got True instead."),
    (np.array([True, False]), "must be a float or an array of floats"),
    (1 + 2j, "Got (1+2j) instead."),
    (None, "Got None instead."),
    (-1, "must be a float in the range [0.0, inf). Got -1 instead."),
    (math.inf, "Got inf instead."),  # an open infinite end excludes inf itself
    (math.nan, "Got nan instead."),
    (np.array([[0.1], [-0.2]]), "element-wise. Got -0.2 at index (1, 0) (1 of 2 elements"),
])
def test_refused_with_what_range_and_value(value, words):
    with pytest.raises(ValueError) as exc:
        check_in_range(value, **CHECK)
    assert str(exc.value).startswith("The 'lr' parameter of Adam must be")
    assert words in str(exc.value)


def test_accepted_values_come_back_as_float_or_read_only_float64_array():
    assert check_in_range(3, **CHECK) == 3.0 and type(check_in_range(3, **CHECK)) is float
    arr = check_in_range([0.1, 2], **CHECK)
    assert arr.dtype == np.float64 and not arr.flags.writeable
    assert check_in_range(math.inf, name="delta", owner="huber", low=0.0, high=math.inf,
                          low_closed=False) == math.inf  # a closed infinite end admits inf


def test_an_integer_beyond_the_float_range_is_a_value_error_naming_the_parameter():
    from descentlab import optim

    with pytest.raises(ValueError, match=r"The 'lr' parameter of Adam must be a float in the "
                                         r"range \[0.0, inf\)\. Got an integer of 401 digits"):
        optim.Adam(lr=10**400)
    assert optim.Adam(lr=10**300).lr == 1e300  # large, but a float: accepted
