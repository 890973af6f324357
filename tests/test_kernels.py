"""The kernel contract, on plain arrays: every registered algorithm against the reference.

``forward(x, w, spec)``, ``grad_input(gy, w, spec, x_shape)`` and
``grad_weight(x, gy, spec, w_shape)`` of every algorithm in ``kernels.select.ALGORITHMS``
agree with ``kernels/reference.py`` on every spec of the grid that the algorithm
``supports()`` (the others are not generated, not skipped); the reference itself is checked
against the definition written as loops, and every algorithm's gradients are the adjoints of
its forward. Exact algorithms agree to float64 round-off; Winograd and FFT to their
documented ``ERROR_BOUND``, which is tested to hold and to be meaningful.
"""

from __future__ import annotations

import itertools
import json
import pathlib

import numpy as np
import pytest

import convforge as cf
from convforge.backend import batch_chunk
from convforge.kernels import im2col, jit, reference, select, windows
from convforge.spec import ConvArgs, Operand

ALGORITHM_NAMES = sorted(select.ALGORITHMS)
FAST_ALGORITHMS = [name for name in ALGORITHM_NAMES if name != reference.NAME]
APPROXIMATE_ALGORITHMS = [
    name for name in ALGORITHM_NAMES if select.error_bound(name, np.float32) is not None
]

# (in_shape, weight_shape, stride, padding, dilation, groups): odd sizes on purpose
SPECS = [
    ((2, 3, 7), (4, 3, 3), 1, 0, 1, 1),
    ((1, 4, 11), (6, 2, 4), 3, (2, 1), 2, 2),  # stride does not divide, asymmetric pads
    ((3, 3, 5), (3, 1, 5), 1, 2, 1, 3),  # depthwise, kernel as large as the input
    ((2, 2, 40), (4, 1, 9), 1, 4, 1, 2),  # depthwise, multiplier 2, a longer signal
    ((2, 2, 7, 5), (3, 2, 3, 2), (2, 1), ((1, 0), (0, 2)), (1, 2), 1),
    ((1, 6, 9, 4), (4, 3, 2, 3), (3, 2), 1, (3, 1), 2),
    ((2, 5, 1, 6), (5, 1, 1, 3), 1, (0, 1), 1, 5),  # a spatial size of 1
    ((1, 3, 13, 11), (2, 3, 1, 1), (4, 5), 0, 1, 1),  # pointwise, large strides
    ((2, 3, 6, 7), (4, 3, 3, 3), 1, 1, 1, 1),  # 3x3 stride 1: Winograd, partial tiles
    ((1, 4, 5, 9), (6, 2, 3, 3), 1, ((0, 2), (1, 0)), 1, 2),  # Winograd, grouped, asymmetric
    ((2, 4, 9, 8), (8, 1, 3, 3), 2, 1, 1, 4),  # depthwise 2-D, multiplier 2, stride 2
    ((1, 3, 10, 9), (3, 1, 4, 3), 1, ((2, 1), (3, 0)), (2, 3), 3),  # depthwise, dilated
    ((2, 2, 5, 4, 3), (3, 2, 2, 3, 2), (2, 1, 1), (1, 0, 1), (1, 1, 2), 1),
    ((1, 4, 3, 5, 4), (2, 2, 3, 3, 1), 1, ((1, 1), (0, 2), (0, 0)), (1, 2, 1), 2),
]


def make_spec(case):
    in_shape, weight_shape, stride, padding, dilation, groups = case
    n = len(in_shape) - 2
    args = ConvArgs.parse("conv", n, stride=stride, padding=padding, dilation=dilation, groups=groups)
    return args.resolve(Operand(in_shape, "float64"), Operand(weight_shape, "float64"))


def spec_id(case) -> str:
    in_shape, weight_shape, stride, padding, dilation, groups = case
    return f"x{in_shape}-w{weight_shape}-s{stride}-p{padding}-d{dilation}-g{groups}".replace(" ", "")


def supported_pairs(names, cases=SPECS) -> list:
    """(case, algorithm) for every case the algorithm supports: nothing to skip."""
    return [
        pytest.param(case, name, id=f"{spec_id(case)}-{name}")
        for case in cases
        for name in names
        if select.ALGORITHMS[name].supports(make_spec(case))
    ]


def first_supported(name, cases=SPECS):
    """The first case of the grid that ``name`` supports."""
    return next(case for case in cases if select.ALGORITHMS[name].supports(make_spec(case)))


def operands(spec, rng, dtype=np.float64):
    x = rng.standard_normal(spec.in_shape).astype(dtype)
    w = rng.standard_normal(spec.weight_shape).astype(dtype)
    gy = rng.standard_normal(spec.out_shape).astype(dtype)
    return x, w, gy


def assert_matches(actual, expected, algorithm, dtype=np.float64):
    """Exact algorithms: float64 round-off; approximate ones: their bound, on the same scale."""
    bound = select.error_bound(algorithm, dtype)
    scale = max(float(np.max(np.abs(expected), initial=0.0)), 1.0)
    if bound is None:
        np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12)
    else:
        np.testing.assert_allclose(actual, expected, rtol=0, atol=bound * scale)


def relative_error(actual, exact) -> float:
    """max |actual - exact| / max(max |exact|, 1): the quantity ``ERROR_BOUND`` bounds."""
    return float(np.max(np.abs(actual - exact)) / max(float(np.max(np.abs(exact))), 1.0))


# --------------------------------------------------------------------------------------
# the oracle against the definition
# --------------------------------------------------------------------------------------
def definition_forward(x, w, spec):
    """y[n, o, i] = sum_{c, t} w[o, c, t] * xpad[n, g*Cg + c, i*s + t*d], as loops."""
    xpad = np.pad(x, ((0, 0), (0, 0), *spec.padding))
    c_g, o_g = spec.in_channels // spec.groups, spec.out_channels // spec.groups
    y = np.zeros(spec.out_shape)
    for n, o, i in itertools.product(
        range(x.shape[0]), range(spec.out_channels), itertools.product(*map(range, spec.out_spatial))
    ):
        g = o // o_g
        for c, t in itertools.product(range(c_g), itertools.product(*map(range, spec.kernel_size))):
            cell = tuple(i_ * s + t_ * d for i_, t_, s, d in zip(i, t, spec.stride, spec.dilation))
            y[(n, o, *i)] += w[(o, c, *t)] * xpad[(n, g * c_g + c, *cell)]
    return y


@pytest.mark.parametrize("case", SPECS, ids=spec_id)
def test_reference_forward_follows_the_definition(rng, case):
    spec = make_spec(case)
    x, w, _ = operands(spec, rng)
    np.testing.assert_allclose(
        reference.forward(x, w, spec), definition_forward(x, w, spec), rtol=1e-12, atol=1e-12
    )


# --------------------------------------------------------------------------------------
# what each algorithm supports
# --------------------------------------------------------------------------------------
MEANT_FOR = {
    # algorithm: (specs it must support, specs it must refuse)
    "winograd_f2": ([SPECS[8], SPECS[9]], [SPECS[0], SPECS[4], SPECS[10], SPECS[13]]),
    "winograd_f4": ([SPECS[8], SPECS[9]], [SPECS[0], SPECS[4], SPECS[10], SPECS[13]]),
    "depthwise": ([SPECS[2], SPECS[3], SPECS[6], SPECS[10], SPECS[11]], [SPECS[1], SPECS[8], SPECS[13]]),
    "fft": ([SPECS[0], SPECS[3], SPECS[8], SPECS[9], SPECS[12]], []),
    "direct": ([SPECS[0], SPECS[2], SPECS[8], SPECS[9]], [SPECS[1], SPECS[10], SPECS[12], SPECS[13]]),
    "filter2d": (
        [SPECS[0], SPECS[2], SPECS[3], SPECS[6], SPECS[8], SPECS[9]],
        [SPECS[1], SPECS[11], SPECS[12]],
    ),
    "gemm": (SPECS, []),
    "im2col": (SPECS, []),
    "reference": (SPECS, []),
}


def test_every_algorithm_states_what_it_is_meant_for():
    assert set(MEANT_FOR) == set(select.ALGORITHMS)


@pytest.mark.parametrize("algorithm", ALGORITHM_NAMES)
def test_each_algorithm_supports_the_specs_it_is_meant_for(algorithm):
    meant, refused = MEANT_FOR[algorithm]
    module = select.ALGORITHMS[algorithm]
    assert [spec_id(c) for c in meant if not module.supports(make_spec(c))] == []
    assert [spec_id(c) for c in refused if module.supports(make_spec(c))] == []


@pytest.mark.parametrize("algorithm", ALGORITHM_NAMES)
def test_each_algorithm_is_tested_on_several_specs(algorithm):
    assert len(supported_pairs([algorithm])) >= 2


@pytest.mark.parametrize("algorithm", ["winograd_f2", "winograd_f4", "depthwise", "direct"])
def test_compiled_algorithms_step_aside_without_numba(monkeypatch, algorithm):
    spec = make_spec(first_supported(algorithm))
    monkeypatch.setattr(jit, "available", lambda: False)
    assert not select.ALGORITHMS[algorithm].supports(spec)
    plan = select.plan(spec)
    assert not {"winograd_f2", "winograd_f4", "depthwise", "direct"} & set(plan.names)
    assert plan.supports(spec)
    with pytest.raises(ValueError, match=f"algorithm='{algorithm}' does not support"):
        select.plan(spec, algorithm=algorithm, op="conv2d")


# --------------------------------------------------------------------------------------
# every algorithm against the oracle
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("case", "algorithm"), supported_pairs(FAST_ALGORITHMS))
def test_forward_matches_reference(rng, case, algorithm):
    spec = make_spec(case)
    x, w, _ = operands(spec, rng)
    y = select.ALGORITHMS[algorithm].forward(x, w, spec)
    assert y.shape == spec.out_shape
    assert_matches(y, reference.forward(x, w, spec), algorithm)


@pytest.mark.parametrize(("case", "algorithm"), supported_pairs(FAST_ALGORITHMS))
def test_grad_input_matches_reference(rng, case, algorithm):
    spec = make_spec(case)
    x, w, gy = operands(spec, rng)
    gx = select.ALGORITHMS[algorithm].grad_input(gy, w, spec, x.shape)
    assert gx.shape == x.shape
    assert_matches(gx, reference.grad_input(gy, w, spec, x.shape), algorithm)


@pytest.mark.parametrize(("case", "algorithm"), supported_pairs(FAST_ALGORITHMS))
def test_grad_weight_matches_reference(rng, case, algorithm):
    spec = make_spec(case)
    x, w, gy = operands(spec, rng)
    gw = select.ALGORITHMS[algorithm].grad_weight(x, gy, spec, w.shape)
    assert gw.shape == w.shape
    assert_matches(gw, reference.grad_weight(x, gy, spec, w.shape), algorithm)


@pytest.mark.parametrize(("case", "algorithm"), supported_pairs(ALGORITHM_NAMES))
def test_grad_input_is_the_adjoint_of_forward(rng, case, algorithm):
    """<conv(x), y> == <x, grad_input(y)>."""
    spec = make_spec(case)
    kernel = select.ALGORITHMS[algorithm]
    x, w, gy = operands(spec, rng)
    lhs = np.vdot(kernel.forward(x, w, spec), gy)
    rhs = np.vdot(x, kernel.grad_input(gy, w, spec, x.shape))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-10)


@pytest.mark.parametrize(("case", "algorithm"), supported_pairs(ALGORITHM_NAMES))
def test_grad_weight_is_the_adjoint_of_forward_in_the_weight(rng, case, algorithm):
    """<conv(x, w), y> == <w, grad_weight(x, y)>."""
    spec = make_spec(case)
    kernel = select.ALGORITHMS[algorithm]
    x, w, gy = operands(spec, rng)
    lhs = np.vdot(kernel.forward(x, w, spec), gy)
    rhs = np.vdot(w, kernel.grad_weight(x, gy, spec, w.shape))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-10)


@pytest.mark.parametrize("algorithm", ALGORITHM_NAMES)
def test_kernels_keep_float32(rng, algorithm):
    spec = make_spec(first_supported(algorithm))
    kernel = select.ALGORITHMS[algorithm]
    x, w, gy = operands(spec, rng, np.float32)
    assert kernel.forward(x, w, spec).dtype == np.float32
    assert kernel.grad_input(gy, w, spec, x.shape).dtype == np.float32
    assert kernel.grad_weight(x, gy, spec, w.shape).dtype == np.float32


@pytest.mark.parametrize(
    ("case", "algorithm"), supported_pairs(FAST_ALGORITHMS, [SPECS[1], SPECS[9], SPECS[11]])
)
def test_kernels_are_accurate_in_float32(rng, case, algorithm):
    spec = make_spec(case)
    x, w, gy = operands(spec, rng)
    kernel = select.ALGORITHMS[algorithm]
    x32, w32, gy32 = (a.astype(np.float32) for a in (x, w, gy))
    bound = select.error_bound(algorithm, np.float32) or 1e-5
    assert relative_error(kernel.forward(x32, w32, spec), reference.forward(x, w, spec)) <= bound
    gx = kernel.grad_input(gy32, w32, spec, x.shape)
    assert relative_error(gx, reference.grad_input(gy, w, spec, x.shape)) <= bound
    gw = kernel.grad_weight(x32, gy32, spec, w.shape)
    assert relative_error(gw, reference.grad_weight(x, gy, spec, w.shape)) <= bound


@pytest.mark.parametrize("algorithm", ALGORITHM_NAMES)
def test_kernels_do_not_modify_their_operands(rng, algorithm):
    spec = make_spec(first_supported(algorithm, SPECS[4:]))
    kernel = select.ALGORITHMS[algorithm]
    x, w, gy = operands(spec, rng)
    copies = [a.copy() for a in (x, w, gy)]
    kernel.forward(x, w, spec)
    kernel.grad_input(gy, w, spec, x.shape)
    kernel.grad_weight(x, gy, spec, w.shape)
    for before, after in zip(copies, (x, w, gy)):
        np.testing.assert_array_equal(before, after)


@pytest.mark.parametrize("algorithm", ALGORITHM_NAMES)
def test_kernels_accept_non_contiguous_operands(rng, algorithm):
    spec = make_spec(first_supported(algorithm, SPECS[5:]))
    kernel = select.ALGORITHMS[algorithm]
    x, w, gy = operands(spec, rng)

    def strided(a):  # the same values in a transposed memory layout
        return np.asfortranarray(a)

    # the same sums, perhaps in another order (einsum picks its loops by memory layout)
    tight = {"rtol": 1e-12, "atol": 1e-12}
    np.testing.assert_allclose(
        kernel.forward(strided(x), strided(w), spec), kernel.forward(x, w, spec), **tight
    )
    np.testing.assert_allclose(
        kernel.grad_input(strided(gy), strided(w), spec, x.shape),
        kernel.grad_input(gy, w, spec, x.shape),
        **tight,
    )
    np.testing.assert_allclose(
        kernel.grad_weight(strided(x), strided(gy), spec, w.shape),
        kernel.grad_weight(x, gy, spec, w.shape),
        **tight,
    )


def test_no_kernel_uses_np_add_at():
    """col2im and the transposed directions scatter with strided slices or GEMMs instead."""
    folder = pathlib.Path(select.__file__).parent
    assert [p.name for p in folder.glob("*.py") if "add.at(" in p.read_text()] == []


# --------------------------------------------------------------------------------------
# Winograd and FFT: the documented error bound holds and says something
# --------------------------------------------------------------------------------------
# a small ResNet-like layer (float32 round-off grows with the channel count) and a large kernel
BOUND_SPECS = {
    "winograd_f2": ((2, 32, 14, 14), (32, 32, 3, 3), 1, 1, 1, 1),
    "winograd_f4": ((2, 32, 14, 14), (32, 32, 3, 3), 1, 1, 1, 1),
    "fft": ((2, 16, 20, 20), (16, 16, 7, 7), 1, 3, 1, 1),
}


def test_every_approximate_algorithm_has_a_bound_test():
    assert sorted(BOUND_SPECS) == APPROXIMATE_ALGORITHMS


@pytest.mark.parametrize("algorithm", APPROXIMATE_ALGORITHMS)
def test_error_bound_is_met_in_float32_and_is_meaningful(rng, algorithm):
    spec = make_spec(BOUND_SPECS[algorithm])
    kernel = select.ALGORITHMS[algorithm]
    bound = select.error_bound(algorithm, np.float32)
    assert 0 < bound <= 1e-3  # a bound of 1 would let anything through
    assert select.error_bound(algorithm, np.float64) <= 1e-10
    x, w, gy = operands(spec, rng)
    x32, w32, gy32 = (a.astype(np.float32) for a in (x, w, gy))
    errors = {
        "forward": relative_error(kernel.forward(x32, w32, spec), reference.forward(x, w, spec)),
        "grad_input": relative_error(
            kernel.grad_input(gy32, w32, spec, x.shape), reference.grad_input(gy, w, spec, x.shape)
        ),
        "grad_weight": relative_error(
            kernel.grad_weight(x32, gy32, spec, w.shape), reference.grad_weight(x, gy, spec, w.shape)
        ),
    }
    for direction, error in errors.items():
        assert 0 < error <= bound, f"{direction}: relative error {error:.2e}, bound {bound:.0e}"


@pytest.mark.parametrize("algorithm", APPROXIMATE_ALGORITHMS)
def test_error_bound_holds_in_float64(rng, algorithm):
    spec = make_spec(BOUND_SPECS[algorithm])
    kernel = select.ALGORITHMS[algorithm]
    x, w, gy = operands(spec, rng)
    bound = select.error_bound(algorithm, np.float64)
    assert relative_error(kernel.forward(x, w, spec), reference.forward(x, w, spec)) <= bound
    gw = kernel.grad_weight(x, gy, spec, w.shape)
    assert relative_error(gw, reference.grad_weight(x, gy, spec, w.shape)) <= bound


def test_exact_algorithms_report_no_bound():
    for name in ("gemm", "im2col", "reference", "depthwise"):
        assert select.error_bound(name, np.float32) is None


# --------------------------------------------------------------------------------------
# batch chunking
# --------------------------------------------------------------------------------------
def test_batch_chunk_fits_the_workspace_limit(monkeypatch):
    monkeypatch.setattr(cf.backends, "workspace_limit", 250)
    assert batch_chunk(5, 100) == 2
    assert batch_chunk(5, 1000) == 1  # at least one sample
    assert batch_chunk(3, 10) == 3


@pytest.mark.parametrize("limit", [1, "two samples"])
@pytest.mark.parametrize("case", [SPECS[1], SPECS[5], SPECS[13]], ids=spec_id)
def test_im2col_chunked_batches_give_identical_results(rng, monkeypatch, case, limit):
    in_shape, *rest = case
    spec = make_spec(((5, *in_shape[1:]), *rest))  # 5 samples: chunks of 1 or 2 (+1)
    x, w, gy = operands(spec, rng)
    whole = (
        im2col.forward(x, w, spec),
        im2col.grad_input(gy, w, spec, x.shape),
        im2col.grad_weight(x, gy, spec, w.shape),
    )
    calls = []
    columns = im2col.columns
    monkeypatch.setattr(im2col, "columns", lambda xs, sp: calls.append(len(xs)) or columns(xs, sp))
    # one sample's columns and its zero-padded input share the workspace
    per_sample = spec.groups * (spec.in_channels // spec.groups) * np.prod(spec.kernel_size)
    per_sample = per_sample * np.prod(spec.out_spatial) + spec.in_channels * np.prod(spec.padded_in_spatial)
    per_sample *= x.itemsize
    monkeypatch.setattr(cf.backends, "workspace_limit", 1 if limit == 1 else int(2 * per_sample))
    chunked = (
        im2col.forward(x, w, spec),
        im2col.grad_input(gy, w, spec, x.shape),
        im2col.grad_weight(x, gy, spec, w.shape),
    )
    assert calls == ([1] * 5 if limit == 1 else [2, 2, 1]) * 2  # forward and grad_weight chunked
    np.testing.assert_array_equal(chunked[0], whole[0])
    np.testing.assert_array_equal(chunked[1], whole[1])
    np.testing.assert_allclose(chunked[2], whole[2], rtol=1e-13)  # sums in another order


def _with_batch(case, n):
    in_shape, *rest = case
    return ((n, *in_shape[1:]), *rest)


@pytest.mark.parametrize(
    ("case", "algorithm"),
    supported_pairs(FAST_ALGORITHMS, [_with_batch(SPECS[i], 5) for i in (1, 9, 10, 12)]),
)
def test_chunked_batches_give_the_same_results(rng, monkeypatch, case, algorithm):
    """A workspace limit of one byte processes one sample at a time; nothing changes."""
    spec = make_spec(case)
    kernel = select.ALGORITHMS[algorithm]
    x, w, gy = operands(spec, rng)

    def run():
        return (
            kernel.forward(x, w, spec),
            kernel.grad_input(gy, w, spec, x.shape),
            kernel.grad_weight(x, gy, spec, w.shape),
        )

    whole = run()
    monkeypatch.setattr(cf.backends, "workspace_limit", 1)
    for a, e in zip(run(), whole):
        np.testing.assert_allclose(a, e, rtol=1e-11, atol=1e-11)


# --------------------------------------------------------------------------------------
# the selector
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", SPECS, ids=spec_id)
def test_auto_plans_only_algorithms_that_support_the_spec(case):
    spec = make_spec(case)
    plan = select.plan(spec)
    assert isinstance(plan, select.Plan)
    assert all(select.ALGORITHMS[name].supports(spec) for name in plan.names)
    assert plan.supports(spec)


def test_auto_plan_computes_the_convolution(rng):
    spec = make_spec(SPECS[9])
    plan = select.plan(spec)
    x, w, gy = operands(spec, rng)
    np.testing.assert_allclose(plan.forward(x, w, spec), reference.forward(x, w, spec), atol=1e-10)
    gx = plan.grad_input(gy, w, spec, x.shape)
    np.testing.assert_allclose(gx, reference.grad_input(gy, w, spec, x.shape), atol=1e-10)
    gw = plan.grad_weight(x, gy, spec, w.shape)
    np.testing.assert_allclose(gw, reference.grad_weight(x, gy, spec, w.shape), atol=1e-10)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        (((8, 128, 28, 28), (128, 128, 3, 3), 1, 1, 1, 1), "winograd_f4"),  # ResNet 3x3
        (((1, 256, 14, 14), (256, 256, 3, 3), 1, 1, 1, 1), "winograd_f2"),  # 16 tiles of 4x4
        (((1, 512, 7, 7), (512, 512, 3, 3), 1, 1, 1, 1), "im2col"),  # 4 tiles: U costs more
        (((8, 512, 7, 7), (512, 512, 3, 3), 1, 1, 1, 1), "winograd_f4"),  # 32 tiles
        (((8, 128, 28, 28), (128, 128, 3, 3), 2, 1, 1, 1), "im2col"),  # strided 3x3
        (((8, 64, 56, 56), (64, 64, 1, 1), 1, 0, 1, 1), "gemm"),  # pointwise
        (((8, 96, 56, 56), (96, 1, 3, 3), 1, 1, 1, 96), "depthwise"),  # MobileNet depthwise
        (((1, 64, 56, 56), (64, 1, 31, 31), 1, 15, 1, 64), "fft"),  # RepLKNet 31x31
        (((1, 1, 1024, 1024), (1, 1, 31, 31), 1, 15, 1, 1), "fft"),  # filtering a large image
        (((1, 3, 512, 512), (3, 3, 7, 7), 1, 3, 1, 1), "filter2d"),  # 7x7 on color: 2.3 vs gemm 45 ms
        (((1, 1, 1024, 1024), (1, 1, 3, 3), 1, 1, 1, 1), "filter2d"),  # one pass: 0.45 vs gemm 1.1 ms
    ],
    ids=[
        "resnet3x3",
        "resnet3x3-14-b1",
        "resnet3x3-7-b1",
        "resnet3x3-7-b8",
        "strided3x3",
        "pointwise",
        "depthwise3x3",
        "depthwise31x31",
        "filter31",
        "filter7",
        "filter3",
    ],
)
def test_rule_sends_the_benchmark_layers_to_their_winners(case, expected):
    spec = make_spec(case)
    assert select.rule(spec, "forward") == expected


@pytest.mark.parametrize("direction", select.DIRECTIONS)
def test_rule_sends_large_resnet_3x3_layers_to_winograd_in_every_direction(direction):
    spec = make_spec(((8, 64, 56, 56), (64, 64, 3, 3), 1, 1, 1, 1))
    assert select.rule(spec, direction) == "winograd_f4"
    grouped = make_spec(((8, 64, 56, 56), (64, 32, 3, 3), 1, 1, 1, 2))
    assert not select.rule(grouped, direction).startswith("winograd")


@pytest.mark.parametrize("algorithm", ALGORITHM_NAMES)
def test_a_forced_algorithm_is_used(algorithm):
    spec = make_spec(first_supported(algorithm))
    assert select.plan(spec, algorithm=algorithm).names == (algorithm,) * 3


@pytest.mark.parametrize("algorithm", ALGORITHM_NAMES)
def test_a_forced_algorithm_refuses_a_spec_it_does_not_support(algorithm):
    args = ConvArgs.parse("conv2d", 2, padding=1, padding_mode="reflect")
    spec = args.resolve(Operand((1, 2, 6, 6), "float64"), Operand((2, 2, 3, 3), "float64"))
    assert not select.ALGORITHMS[algorithm].supports(spec)  # kernels get zero-padded specs
    with pytest.raises(ValueError, match=f"algorithm='{algorithm}' does not support"):
        select.plan(spec, algorithm=algorithm, op="conv2d")


def test_an_unknown_algorithm_is_refused_with_its_name():
    with pytest.raises(ValueError, match="algorithm='fastest'"):
        select.plan(make_spec(SPECS[0]), algorithm="fastest", op="conv1d")


def test_every_algorithm_offers_the_contract():
    for name, module in select.ALGORITHMS.items():
        assert name == module.NAME
        for function in ("supports", "forward", "grad_input", "grad_weight"):
            assert callable(getattr(module, function)), f"{name}.{function}"


def test_autotune_times_once_caches_and_persists(monkeypatch, tmp_path):
    spec = make_spec(SPECS[9])
    path = tmp_path / "tuned.json"
    monkeypatch.setattr(cf.backends, "autotune", True)
    monkeypatch.setattr(cf.backends, "autotune_file", str(path))
    select.clear_autotune_cache()
    calls = []
    timed = select.time_algorithms
    monkeypatch.setattr(select, "time_algorithms", lambda sp: calls.append(sp) or timed(sp))
    try:
        plan = select.plan(spec)
        assert select.plan(spec) == plan  # cached: timed once
        assert len(calls) == 1
        assert plan.supports(spec) and select.reference.NAME not in plan.names
        assert list(json.loads(path.read_text()).values()) == [list(plan.names)]
        select.clear_autotune_cache()  # a new process: the file answers, nothing is timed
        assert select.plan(spec) == plan
        assert len(calls) == 1
    finally:
        select.clear_autotune_cache()


# --------------------------------------------------------------------------------------
# window helpers
# --------------------------------------------------------------------------------------
def test_window_view_element_is_the_strided_dilated_input_cell(rng):
    x = rng.standard_normal((2, 9, 8))
    kernel, stride, dilation, out = (2, 3), (3, 2), (2, 1), (3, 3)
    view = windows.window_view(x, kernel, stride, dilation, out)
    assert view.shape == (2, 3, 3, 2, 3)
    for o1, o2, t1, t2 in itertools.product(range(3), range(3), range(2), range(3)):
        np.testing.assert_array_equal(view[:, o1, o2, t1, t2], x[:, o1 * 3 + t1 * 2, o2 * 2 + t2])


def test_accumulate_windows_is_the_adjoint_of_window_view(rng):
    x = rng.standard_normal((2, 10, 7))
    kernel, stride, dilation, out = (3, 2), (2, 3), (2, 1), (3, 2)
    cols = rng.standard_normal((2, *kernel, *out))  # (lead, *kernel, *out)
    view = windows.window_view(x, kernel, stride, dilation, out)  # (lead, *out, *kernel)
    lhs = np.vdot(view.transpose(0, 3, 4, 1, 2), cols)
    rhs = np.vdot(x, windows.accumulate_windows(cols, x.shape[1:], kernel, stride, dilation))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-12)


def test_crop_undoes_zero_pad(rng):
    x = rng.standard_normal((2, 3, 4, 5))
    pads = ((1, 0), (2, 3))
    padded = windows.zero_pad(x, pads)
    assert padded.shape == (2, 3, 5, 10)
    np.testing.assert_array_equal(windows.crop(padded, pads), x)
    assert padded.sum() == pytest.approx(x.sum())


# --------------------------------------------------------------------------------------
# raw BLAS on offset views (gemm's and im2col's accumulating products)
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("trans_a", "trans_b"), list(itertools.product([False, True], repeat=2)))
def test_blas_gemm_accumulates_offset_strided_products(rng, dtype, trans_a, trans_b):
    from numpy.lib.stride_tricks import as_strided

    from convforge.kernels import blas

    m, n, k = 5, 7, 3
    a_buf, b_buf, c_buf = (rng.standard_normal(120).astype(dtype) for _ in range(3))
    lda, ldb, ldc = (m if trans_a else k) + 2, (k if trans_b else n) + 1, n + 3

    def matrix(buf, offset, shape, ld):
        return as_strided(buf[offset:], shape, (ld * buf.itemsize, buf.itemsize))

    a = matrix(a_buf, 4, (k, m) if trans_a else (m, k), lda)
    b = matrix(b_buf, 2, (n, k) if trans_b else (k, n), ldb)
    expected = (a.T if trans_a else a) @ (b.T if trans_b else b) + 0.5 * matrix(c_buf, 1, (m, n), ldc)
    blas.gemm(
        m, n, k, a_buf, 4, lda, b_buf, 2, ldb, c_buf, 1, ldc, beta=0.5, trans_a=trans_a, trans_b=trans_b
    )
    np.testing.assert_allclose(
        matrix(c_buf, 1, (m, n), ldc), expected, rtol=1e-5 if dtype == np.float32 else 1e-12
    )


def test_blas_gemm_runs_in_numpys_openblas_when_numpy_bundles_one():
    """One library, one thread pool: np.matmul and the accumulating products share it."""
    from convforge.kernels import blas

    assert blas.library() == ("numpy" if blas._numpy_openblas() is not None else "scipy")
