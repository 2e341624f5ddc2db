"""Every curve example of the seed documents, with its documented values, and scalar == array."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui.core.curves import INF, Constant, Curve, HardSoft, Invalid, Linear, Piecewise, Unavailable
from tui.services.config import parse_curve_spec

GIB = 2**30


def curve(spec: str) -> Curve:
    result = parse_curve_spec(spec)
    assert result.ok, result.diagnostics
    assert result.curve is not None
    return result.curve


def values(c: Curve, xs: list[float]) -> list[float]:
    scalar = [c(x) for x in xs]
    assert list(c.evaluate(xs)) == scalar  # the fast path agrees exactly
    return scalar


def test_hard_soft_seed_example() -> None:
    # "Returns 0 at 0, 1 at 1, 10 at 2, infinity past 2"
    c = curve('{ curve: "hard-soft", soft: 1.0, hard: 2.0 }')
    assert values(c, [0, 1, 2, 2.0001, 3]) == [0.0, 1.0, 10.0, INF, INF]
    assert values(c, [0.5, 1.5]) == [0.5, 5.5]


def test_soft_hard_is_the_same_curve() -> None:
    a = curve('{ curve: "soft-hard", soft: 1, hard: 2 }')
    b = curve('{ curve: "hard-soft", soft: 1, hard: 2 }')
    xs = list(np.linspace(0, 3, 31))
    assert values(a, xs) == values(b, xs)


def test_nested_piecewise_equals_hard_soft() -> None:
    nested = curve(
        """{
        curve: piecewise
        cutoff: 1
        low: { curve: linear, slope: 1, base: 0 }
        high: {
          curve: piecewise
          cutoff: 2
          low: { curve: linear, slope: 9, base: -8 }
          high: { curve: invalid }
        }
      }"""
    )
    hard_soft = curve('{ curve: "hard-soft", soft: 1.0, hard: 2.0 }')
    xs = [0, 0.25, 0.5, 1, 1.25, 1.5, 2, 2.5, 10]
    assert values(nested, xs) == pytest.approx(values(hard_soft, xs))
    assert values(nested, [0, 1, 2, 3]) == [0.0, 1.0, 10.0, INF]


def test_scale_ten_equals_amounts_ten_and_hundred() -> None:
    a = curve('{ curve: "hard-soft", soft: 32 GiB, hard: 48 GiB, softAmt: 10, hardAmt: 100 }')
    b = curve('{ curve: "hard-soft", soft: 32 GiB, hard: 48 GiB, scale: 10.0 }')
    xs = [0, 8 * GIB, 32 * GIB, 40 * GIB, 48 * GIB, 48 * GIB + 1]
    assert values(a, xs) == values(b, xs)
    assert values(a, [32 * GIB, 48 * GIB]) == [10.0, 100.0]


def test_constant_linear_invalid_examples() -> None:
    assert values(curve("{ curve: constant, value: 1.0 }"), [0, 5, 1e12]) == [1.0, 1.0, 1.0]
    assert values(curve("{ curve: invalid }"), [0, 1]) == [INF, INF]
    assert values(curve("{ curve: linear, slope: 1.0, base: 0.0 }"), [0, 3]) == [0.0, 3.0]
    assert values(curve("{ curve: linear, slope: 10.0, base: 5.0 }"), [0, 1, 2]) == [5.0, 15.0, 25.0]


def test_unavailable_and_its_piecewise_twin() -> None:
    u = curve("{ curve: unavailable }")
    twin = curve(
        "{ curve: piecewise, cutoff: 0, low: { curve: constant, value: 0 }, high: { curve: invalid } }"
    )
    assert values(u, [0, 1, 2]) == [0.0, INF, INF]
    assert values(twin, [0, 1, 2]) == [0.0, INF, INF]


def test_piecewise_constant_five_until_six() -> None:
    c = curve(
        "{ curve: piecewise, cutoff: 6.0, low: { curve: constant, value: 5}, high: { curve: invalid } }"
    )
    assert values(c, [0, 6, 6.5]) == [5.0, 5.0, INF]


def test_low_high_and_high_low_are_piecewise() -> None:
    for kind in ("low-high", "high-low"):
        c = curve(
            f"{{ curve: {kind}, cutoff: 1, low: {{ curve: constant, value: 1 }}, high: {{ curve: constant, value: 2 }} }}"
        )
        assert values(c, [1, 2]) == [1.0, 2.0]


def test_gpu_curve_with_max() -> None:
    # "NVidia GPUs cost 1 each, up to a max of 2 used"
    c = curve("{ curve: linear, slope: 1, base: 0, max: 2 }")
    assert values(c, [0, 1, 2, 3]) == [0.0, 1.0, 2.0, INF]


def test_max_comes_before_scale_and_infinity_survives_zero_scale() -> None:
    assert values(Invalid(scale=0.0), [0]) == [INF]
    assert values(Linear(slope=1, base=0, scale=0.0, max=1), [1, 2]) == [0.0, INF]
    assert values(HardSoft(soft=1, hard=2, scale=-1.0), [3]) == [INF]


def test_simple_cost_function_vcpu_curve_follows_the_formula_not_the_comment() -> None:
    # The seed comment says "3 each until 16"; the formula gives 3.5 per vCPU past 8 (seed README).
    c = curve('{ curve: "hard-soft", soft: 8, hard: 16, softAmt: 4, hardAmt: 32 }')
    assert values(c, [8, 9, 16, 17]) == [4.0, 7.5, 32.0, INF]


def test_finite_limits_and_knees() -> None:
    assert HardSoft(soft=8, hard=16).finite_limit() == 16
    assert Linear(slope=1, base=0, max=2).finite_limit() == 2
    assert Linear(slope=1, base=0).finite_limit() == INF
    assert Unavailable().finite_limit() == 0
    assert Invalid().finite_limit() == -INF
    nested = Piecewise(cutoff=1, low=Linear(slope=1, base=0), high=HardSoft(soft=2, hard=3))
    assert nested.finite_limit() == 3
    assert nested.knees() == (1, 2, 3)


# -- property: scalar and array evaluation agree exactly on random curves ----------------------------
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=1e-3, max_value=1e6, allow_nan=False, allow_infinity=False)
maybe_max = st.one_of(st.none(), st.floats(min_value=0, max_value=1e6))


@st.composite
def hard_soft(draw: st.DrawFn) -> Curve:
    soft = draw(positive)
    hard = soft + draw(positive)
    return HardSoft(
        soft=soft,
        hard=hard,
        soft_amt=draw(finite),
        hard_amt=draw(finite),
        scale=draw(finite),
        max=draw(maybe_max),
    )


leaf = st.one_of(
    st.builds(Constant, value=finite, scale=finite, max=maybe_max),
    st.builds(Invalid, scale=finite),
    st.builds(Linear, slope=finite, base=finite, scale=finite, max=maybe_max),
    st.builds(Unavailable, scale=finite),
    hard_soft(),
)
curves = st.recursive(
    leaf,
    lambda inner: st.builds(
        Piecewise, cutoff=st.floats(0, 1e6), low=inner, high=inner, scale=finite, max=maybe_max
    ),
    max_leaves=6,
)


@given(curves, st.lists(st.floats(min_value=0, max_value=2e6, allow_nan=False), min_size=1, max_size=20))
def test_array_evaluation_equals_scalar_evaluation(c: Curve, xs: list[float]) -> None:
    scalar = [c(x) for x in xs]
    array = list(c.evaluate(xs))
    for s, a in zip(scalar, array, strict=True):
        assert (math.isnan(s) and math.isnan(a)) or s == a


@given(curves)
def test_no_input_within_the_finite_limit_of_a_leaf_is_infinite(c: Curve) -> None:
    limit = c.finite_limit()
    if isinstance(c, Piecewise) or not math.isfinite(limit) or limit < 0:
        return
    assert c(limit) != INF
    assert c(limit * 1.5 + 1) == INF
