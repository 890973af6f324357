"""The compiled image-filtering kernel ``filter2d``: exact, chosen for filtering, reached by Dask.

``filter2d`` computes stride-1, undilated correlations of one or a few channels one output row
at a time (fused taps for 3x3 and 5x5, per kernel row for 7-wide, per tap otherwise). Its
forward and derived gradients match ``kernels/reference.py`` to float64 round-off and torch
2.13 at float32 round-off, for every padding mode (padded first, as every kernel sees them),
1-3 channels, groups, 1-D and 2-D; ``select.rule`` picks it for image filtering up to 7x7 on
large planes; ``cf.dask.filter`` reaches it through ``select.plan``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import convforge as cf
import convforge.functional as F
from convforge.kernels import filter2d, jit, reference, select
from convforge.spec import ConvArgs, Operand

numba = pytest.importorskip("numba")

# (in_shape, weight_shape, padding, groups): every row-kernel branch, odd sizes on purpose
CASES = [
    ((1, 1, 17, 23), (1, 1, 3, 3), 1, 1),  # the fused 3x3
    ((2, 3, 12, 9), (2, 3, 3, 3), 0, 1),  # 3 -> 2 channels
    ((1, 2, 14, 19), (3, 2, 5, 5), 2, 1),  # the fused 5x5
    ((1, 1, 20, 16), (1, 1, 7, 7), 3, 1),  # 7-wide rows
    ((1, 3, 11, 30), (2, 3, 3, 5), (1, 2), 1),  # 5-wide rows, 3 high
    ((1, 2, 9, 13), (2, 1, 4, 6), ((0, 2), (3, 1)), 2),  # any width, groups, asymmetric pads
    ((2, 1, 6, 40), (1, 1, 1, 9), 0, 1),  # one kernel row
    ((1, 1, 3, 4), (1, 1, 3, 4), 0, 1),  # kernel as large as the input: one output
    ((2, 3, 50), (2, 3, 5), 2, 1),  # 1-D
]


def make_spec(case, dtype="float64"):
    in_shape, weight_shape, padding, groups = case
    args = ConvArgs.parse("conv", len(in_shape) - 2, padding=padding, groups=groups)
    return args.resolve(Operand(in_shape, dtype), Operand(weight_shape, dtype))


def case_id(case) -> str:
    return f"x{case[0]}-w{case[1]}-p{case[2]}-g{case[3]}".replace(" ", "")


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_every_direction_matches_the_reference_in_float64(rng, case):
    spec = make_spec(case)
    assert filter2d.supports(spec)
    x = rng.standard_normal(spec.in_shape)
    w = rng.standard_normal(spec.weight_shape)
    gy = rng.standard_normal(spec.out_shape)
    tol = {"rtol": 1e-12, "atol": 1e-12}
    np.testing.assert_allclose(filter2d.forward(x, w, spec), reference.forward(x, w, spec), **tol)
    np.testing.assert_allclose(
        filter2d.grad_input(gy, w, spec, x.shape), reference.grad_input(gy, w, spec, x.shape), **tol
    )
    np.testing.assert_allclose(
        filter2d.grad_weight(x, gy, spec, w.shape), reference.grad_weight(x, gy, spec, w.shape), **tol
    )


@pytest.mark.parametrize("case", CASES[:6], ids=case_id)
def test_float32_forward_is_float32_and_within_round_off(rng, case):
    spec = make_spec(case, "float32")
    x = rng.standard_normal(spec.in_shape).astype(np.float32)
    w = rng.standard_normal(spec.weight_shape).astype(np.float32)
    y = filter2d.forward(x, w, spec)
    assert y.dtype == np.float32
    exact = reference.forward(x.astype(np.float64), w.astype(np.float64), make_spec(case))
    np.testing.assert_allclose(y, exact, rtol=0, atol=1e-5 * max(np.abs(exact).max(), 1.0))


@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("channels", [1, 2, 3])
@pytest.mark.parametrize("k", [3, 5, 7])
def test_conv2d_with_filter2d_matches_torch_forward_and_backward(rng, padding_mode, channels, k):
    x = rng.standard_normal((2, channels, 19, 24)).astype(np.float32)
    w = rng.standard_normal((2, channels, k, k)).astype(np.float32)
    b = rng.standard_normal(2).astype(np.float32)
    gy = rng.standard_normal((2, 2, 19, 24)).astype(np.float32)
    xc, wc, bc = (cf.tensor(a, requires_grad=True) for a in (x, w, b))
    yc = F.conv2d(xc, wc, bc, padding=k // 2, padding_mode=padding_mode, algorithm="filter2d")
    yc.backward(cf.tensor(gy))
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    pad = [k // 2] * 4
    xp = xt if padding_mode == "zeros" else TF.pad(xt, pad, mode=padding_mode)
    yt = TF.conv2d(xp, wt, bt, padding=k // 2 if padding_mode == "zeros" else 0)
    yt.backward(torch.tensor(gy))
    for ours, theirs in ((yc, yt), (xc.grad, xt.grad), (wc.grad, wt.grad), (bc.grad, bt.grad)):
        expected = theirs.detach().numpy()
        np.testing.assert_allclose(np.asarray(ours.array), expected, rtol=1e-4, atol=1e-4)


def test_results_do_not_depend_on_the_thread_count(rng):
    spec = make_spec(((1, 2, 64, 70), (3, 2, 5, 5), 2, 1), "float32")
    x = rng.standard_normal(spec.in_shape).astype(np.float32)
    w = rng.standard_normal(spec.weight_shape).astype(np.float32)
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = filter2d.forward(x, w, spec)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = filter2d.forward(x, w, spec)
    finally:
        numba.set_num_threads(previous)
    np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize(
    ("stride", "dilation", "padding_mode"), [(2, 1, "zeros"), (1, 2, "zeros"), (1, 1, "reflect")]
)
def test_refuses_strides_dilations_and_unpadded_modes(stride, dilation, padding_mode):
    args = ConvArgs.parse("conv", 2, stride=stride, dilation=dilation, padding=1, padding_mode=padding_mode)
    spec = args.resolve(Operand((1, 1, 9, 9), "float32"), Operand((1, 1, 3, 3), "float32"))
    assert not filter2d.supports(spec)


def test_steps_aside_without_numba(monkeypatch):
    spec = make_spec(((1, 1, 300, 300), (1, 1, 3, 3), 1, 1), "float32")
    monkeypatch.setattr(jit, "available", lambda: False)
    assert not filter2d.supports(spec)
    assert filter2d.NAME not in select.plan(spec).names
    with pytest.raises(ValueError, match="algorithm='filter2d' does not support"):
        select.plan(spec, algorithm="filter2d", op="conv2d")


@pytest.mark.parametrize("k", [3, 5, 7])
@pytest.mark.parametrize("channels", [(1, 1), (3, 3), (1, 8)])
def test_rule_picks_it_for_image_filtering_forward_and_input_gradient(k, channels):
    c_in, c_out = channels
    args = ConvArgs.parse("conv", 2, padding=k // 2)
    spec = args.resolve(Operand((1, c_in, 512, 512), "float32"), Operand((c_out, c_in, k, k), "float32"))
    plan = select.plan(spec)
    assert (plan.forward_algorithm, plan.grad_input_algorithm) == ("filter2d", "filter2d")
    assert plan.grad_weight_algorithm != "filter2d"  # its derived weight gradient is slow


@pytest.mark.parametrize(
    ("in_shape", "weight_shape"),
    [
        ((1, 1, 128, 128), (1, 1, 3, 3)),  # a small plane
        ((1, 16, 512, 512), (16, 16, 3, 3)),  # many channel pairs
        ((1, 1, 512, 512), (1, 1, 9, 9)),  # past 7x7
    ],
)
def test_rule_leaves_other_convolutions_alone(in_shape, weight_shape):
    spec = ConvArgs.parse("conv", 2).resolve(Operand(in_shape, "float32"), Operand(weight_shape, "float32"))
    assert filter2d.NAME not in select.plan(spec).names


def test_dask_filter_reaches_it_through_the_block_plan(rng, monkeypatch):
    da = pytest.importorskip("dask.array")
    ndimage = pytest.importorskip("scipy.ndimage")
    plans = []
    original = select.plan

    def recording(spec, algorithm="auto", workspace=None, op="conv"):
        result = original(spec, algorithm=algorithm, workspace=workspace, op=op)
        plans.append((algorithm, workspace, result.forward_algorithm))
        return result

    monkeypatch.setattr(select, "plan", recording)
    image = rng.standard_normal((600, 700)).astype(np.float32)
    kernel = rng.standard_normal((5, 5))
    result = cf.dask.filter(da.from_array(image, chunks=300), kernel, dtype=np.float32).compute()
    expected = ndimage.correlate(image.astype(np.float64), kernel, mode="mirror")
    np.testing.assert_allclose(result, expected, rtol=0, atol=1e-5 * np.abs(expected).max())
    auto = [p for p in plans if p[0] == "auto"]
    assert auto and all(ws is not None and name == "filter2d" for _, ws, name in auto)
    assert any(p == ("filter2d", None, "filter2d") for p in plans)  # every block runs it
