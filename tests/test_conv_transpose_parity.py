"""conv_transpose1d/2d/3d against PyTorch 2.13: forward, grad input, grad weight, grad bias.

Every algorithm registered in ``kernels.select.ALGORITHMS`` runs the grid, on every case it
``supports()`` (the spec of the matching convolution, whose ``grad_input`` the transposed
convolution is); unsupported pairs are filtered out of the parametrization, not skipped.
Exact algorithms match torch to float64 round-off; Winograd and FFT to their documented
``ERROR_BOUND`` in float32.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import convforge.functional as F
from conftest import RTOL, assert_all_close, assert_close, run_both, to_torch
from convforge.kernels import select
from convforge.kernels.select import ALGORITHMS
from convforge.spec import ConvArgs, Operand

ALGORITHM_NAMES = sorted(ALGORITHMS)
CF_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
CF_CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
TORCH_CONV_T = {1: TF.conv_transpose1d, 2: TF.conv_transpose2d, 3: TF.conv_transpose3d}
TORCH_MODULE_T = {1: torch.nn.ConvTranspose1d, 2: torch.nn.ConvTranspose2d, 3: torch.nn.ConvTranspose3d}


@dataclass(frozen=True)
class Case:
    """One transposed convolution: shapes and the arguments of ``conv_transposeNd``."""

    spatial: tuple[int, ...]
    kernel: tuple[int, ...]
    c_in: int = 2
    c_out: int = 4
    stride: object = 1
    padding: object = 0
    output_padding: object = 0
    groups: int = 1
    dilation: object = 1
    batch: int = 2

    @property
    def n(self) -> int:
        return len(self.spatial)

    @property
    def arguments(self) -> dict:
        return {
            "stride": self.stride,
            "padding": self.padding,
            "output_padding": self.output_padding,
            "groups": self.groups,
            "dilation": self.dilation,
        }

    def arrays(self, rng, dtype=np.float64, bias=True):
        x = rng.standard_normal((self.batch, self.c_in, *self.spatial)).astype(dtype)
        w = rng.standard_normal((self.c_in, self.c_out // self.groups, *self.kernel)).astype(dtype)
        b = rng.standard_normal(self.c_out).astype(dtype) if bias else None
        return x, w, b

    def __str__(self) -> str:
        parts = [f"{self.n}d", f"in{self.spatial}", f"k{self.kernel}", f"c{self.c_in}->{self.c_out}"]
        for name, value in self.arguments.items():
            if value not in (0, 1):
                parts.append(f"{name}={value}")
        return "-".join(parts).replace(" ", "")


CASES = [
    Case((5,), (3,)),
    Case((4,), (3,), stride=2, padding=1, output_padding=1),
    Case((5,), (4,), c_in=4, c_out=6, stride=3, padding=2, output_padding=2, groups=2, dilation=2),
    Case((3,), (2,), c_in=3, c_out=6, groups=3, stride=2),  # depthwise, multiplier 2
    Case((2, 2), (3, 3), c_in=1, c_out=1),  # d2l: 2x2 input, 3x3 kernel -> 4x4
    Case((3, 4), (3, 2), stride=(2, 1), padding=(1, 0), output_padding=(1, 0)),
    Case((4, 3), (2, 3), stride=2, padding=(0, 1), dilation=(1, 2), output_padding=1),
    Case((3, 3), (3, 3), c_in=4, c_out=2, groups=2, stride=3, padding=1, output_padding=(2, 1)),
    Case((4, 4), (1, 1), c_in=3, c_out=5, stride=2, output_padding=1),  # pointwise
    Case((2, 3, 2), (2, 2, 3), c_in=2, c_out=3),
    Case(
        (3, 2, 3),
        (3, 2, 2),
        stride=(2, 1, 2),
        padding=(1, 0, 1),
        output_padding=(1, 0, 0),
        dilation=(1, 2, 1),
    ),
    Case((2, 3, 3), (3, 3, 3), c_in=4, c_out=4, groups=4, stride=2, padding=1),
    Case((4, 5), (3, 3), c_in=4, c_out=6, groups=2, padding=1),  # 3x3 stride 1: Winograd
    Case((4, 5), (4, 4), c_in=6, c_out=3, groups=3, stride=2, padding=1),  # DCGAN-like, depthwise
]


def kernel_spec(case):
    """The spec of the matching convolution, as the kernel sees it."""
    args = ConvArgs.parse(
        f"conv_transpose{case.n}d",
        case.n,
        stride=case.stride,
        padding=case.padding,
        dilation=case.dilation,
        groups=case.groups,
        transposed=True,
        output_padding=case.output_padding,
    )
    x = Operand((case.batch, case.c_in, *case.spatial), "float64")
    return args.resolve(x, Operand((case.c_in, case.c_out // case.groups, *case.kernel), "float64"))


def supported_algorithms(case) -> list[str]:
    spec = kernel_spec(case)
    return [name for name in ALGORITHM_NAMES if ALGORITHMS[name].supports(spec)]


def with_algorithms(cases) -> list:
    """(case, algorithm) for every algorithm that supports the case."""
    return [
        pytest.param(case, name, id=f"{case}-{name}") for case in cases for name in supported_algorithms(case)
    ]


def tolerance(case, algorithm, dtype) -> float:
    """Round-off for exact algorithms; the documented bound for Winograd/FFT."""
    names = select.plan(kernel_spec(case)).names if algorithm == "auto" else (algorithm,)
    bounds = [b for b in (select.error_bound(name, dtype) for name in names) if b is not None]
    return max([RTOL[np.dtype(dtype).type], *bounds])


def compare_with_torch(rng, case, algorithm="auto", dtype=np.float64, bias=True):
    x, w, b = case.arrays(rng, dtype, bias)
    ours_fn = functools.partial(CF_CONV_T[case.n], algorithm=algorithm, **case.arguments)
    return run_both(rng, ours_fn, functools.partial(TORCH_CONV_T[case.n], **case.arguments), x, w, b)


# --------------------------------------------------------------------------------------
# the grid
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize(("case", "algorithm"), with_algorithms(CASES))
def test_conv_transpose_forward_matches_torch(rng, case, bias, algorithm):
    (y, *_), (y_torch, *_) = compare_with_torch(rng, case, algorithm, bias=bias)
    assert_close(y, y_torch)


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize(("case", "algorithm"), with_algorithms(CASES))
def test_conv_transpose_gradients_match_torch(rng, case, bias, algorithm):
    ours, theirs = compare_with_torch(rng, case, algorithm, bias=bias)
    assert_all_close(ours[1:], theirs[1:])


@pytest.mark.parametrize(("case", "algorithm"), with_algorithms(CASES[1::2] + [CASES[4]]))
def test_conv_transpose_matches_torch_in_float32(rng, case, algorithm):
    ours, theirs = compare_with_torch(rng, case, algorithm, dtype=np.float32)
    assert_all_close(ours, theirs, np.float32, tolerance(case, algorithm, np.float32))
    assert [t.dtype for t in ours] == [np.float32] * 4


# float16 is stored in float16 and computed in float32 (the backend's dtype policy), as torch
# 2.13 computes it on the CPU: both round a float32-accurate result once, so they agree to a
# few float16 ulps (2**-10) of the largest value
HALF_RTOL = 4 * 2.0**-10


@pytest.mark.parametrize(("case", "algorithm"), with_algorithms(CASES[::2]))
def test_conv_transpose_matches_torch_in_float16(rng, case, algorithm):
    ours, theirs = compare_with_torch(rng, case, algorithm, dtype=np.float16)
    bounds = [b for b in (select.error_bound(name, np.float32) for name in (algorithm,)) if b is not None]
    assert_all_close(ours, theirs, np.float16, max([HALF_RTOL, *bounds]))
    assert [t.dtype for t in ours] == [np.float16] * 4


@pytest.mark.parametrize(
    ("case", "algorithm"),
    with_algorithms(
        [
            Case((4,), (3,), stride=1, dilation=3, output_padding=2),
            Case((3, 4), (2, 3), stride=(1, 2), dilation=(2, 1), output_padding=(1, 1)),
            Case(
                (2, 3, 2),
                (2, 2, 2),
                stride=(1, 1, 2),
                dilation=(3, 2, 1),
                output_padding=(2, 1, 1),
                padding=1,
            ),
        ]
    ),
)
def test_conv_transpose_matches_torch_with_output_padding_at_least_stride_but_below_dilation(
    rng, case, algorithm
):
    ours, theirs = compare_with_torch(rng, case, algorithm)
    assert_all_close(ours, theirs)


def test_conv_transpose_d2l_2x2_input_with_3x3_kernel_gives_4x4(rng):
    x, w, b = Case((2, 2), (3, 3), c_in=1, c_out=1, batch=1).arrays(rng)
    y = F.conv_transpose2d(x, w)
    assert y.shape == (1, 1, 4, 4)
    # each input cell stamps a scaled copy of the kernel at its position
    expected = np.zeros((4, 4))
    for i, j in itertools.product(range(2), range(2)):
        expected[i : i + 3, j : j + 3] += x[0, 0, i, j] * w[0, 0]
    assert_close(y.array[0, 0], expected)


# --------------------------------------------------------------------------------------
# output_size=, unbatched, empty batch
# --------------------------------------------------------------------------------------
OUTPUT_SIZE_CASE = Case((3, 4), (3, 2), stride=(3, 3), padding=1)


@pytest.mark.parametrize("algorithm", supported_algorithms(OUTPUT_SIZE_CASE))
@pytest.mark.parametrize("extra", [(0, 0), (1, 2), (2, 0)])
def test_conv_transpose_with_output_size_matches_torch_module(rng, extra, algorithm):
    case = OUTPUT_SIZE_CASE
    x, w, b = case.arrays(rng)
    smallest = [(i - 1) * 3 - 2 + k for i, k in zip(case.spatial, case.kernel)]
    size = [s + e for s, e in zip(smallest, extra)]
    module = TORCH_MODULE_T[2](case.c_in, case.c_out, case.kernel, stride=3, padding=1).double()

    def torch_fn(xt, wt, bt):
        return torch.func.functional_call(module, {"weight": wt, "bias": bt}, (xt,), {"output_size": size})

    ours_fn = functools.partial(
        F.conv_transpose2d, stride=3, padding=1, output_size=size, algorithm=algorithm
    )
    ours, theirs = run_both(rng, ours_fn, torch_fn, x, w, b)
    assert ours[0].shape[2:] == tuple(size)
    assert_all_close(ours, theirs)


def test_conv_transpose_output_size_may_include_batch_and_channels(rng):
    x, w, b = Case((3,), (3,), stride=2).arrays(rng)
    short = F.conv_transpose1d(x, w, b, stride=2, output_size=(8,))
    full = F.conv_transpose1d(x, w, b, stride=2, output_size=(2, 4, 8))
    assert short.shape == full.shape == (2, 4, 8)
    np.testing.assert_array_equal(short.array, full.array)


def test_conv_transpose_output_size_equals_the_matching_output_padding(rng):
    x, w, b = Case((3, 3), (3, 3), stride=3).arrays(rng)
    by_size = F.conv_transpose2d(x, w, b, stride=3, output_size=(9, 11))
    by_padding = F.conv_transpose2d(x, w, b, stride=3, output_padding=(0, 2))
    np.testing.assert_array_equal(by_size.array, by_padding.array)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_conv_transpose_on_unbatched_input_matches_torch(rng, n):
    case = Case((3,) * n, (2,) * n, stride=2, padding=1, output_padding=1, batch=1)
    x, w, b = case.arrays(rng)
    ours_fn = functools.partial(CF_CONV_T[n], **case.arguments)
    ours, theirs = run_both(rng, ours_fn, functools.partial(TORCH_CONV_T[n], **case.arguments), x[0], w, b)
    assert ours[0].shape == (case.c_out, *(5,) * n)  # (3-1)*2 - 2*1 + 2 + 1
    assert_all_close(ours, theirs)


@pytest.mark.parametrize(
    ("case", "algorithm"),
    with_algorithms([Case((3,) * n, (3,) * n, stride=2, padding=1, batch=0) for n in (1, 2, 3)]),
)
def test_conv_transpose_on_empty_batch_matches_torch(rng, case, algorithm):
    n = case.n
    ours, theirs = compare_with_torch(rng, case, algorithm)
    assert ours[0].shape == (0, case.c_out, *(5,) * n)
    assert_all_close(ours, theirs)


# --------------------------------------------------------------------------------------
# what a transposed convolution is
# --------------------------------------------------------------------------------------
ADJOINT_GEOMETRIES = [
    # (spatial, kernel, stride, padding, dilation, groups) of a conv from 4 to 6 channels
    ((9,), (3,), 2, 1, 1, 1),
    ((7, 8), (3, 2), (2, 3), (1, 0), (1, 2), 2),
    ((7, 6), (3, 3), 1, 1, 1, 2),
    ((5, 6, 4), (2, 3, 2), (1, 2, 2), (0, 1, 1), 1, 2),
]


def adjoint_params() -> list:
    params = []
    for spatial, kernel, stride, padding, dilation, groups in ADJOINT_GEOMETRIES:
        n = len(spatial)
        args = ConvArgs.parse("conv", n, stride=stride, padding=padding, dilation=dilation, groups=groups)
        spec = args.resolve(
            Operand((2, 4, *spatial), "float64"), Operand((6, 4 // groups, *kernel), "float64")
        )
        for name in ALGORITHM_NAMES:
            if ALGORITHMS[name].supports(spec):
                params.append(pytest.param(spatial, kernel, stride, padding, dilation, groups, name))
    return params


@pytest.mark.parametrize(
    ("spatial", "kernel", "stride", "padding", "dilation", "groups", "algorithm"), adjoint_params()
)
def test_conv_transpose_is_the_adjoint_of_conv(
    rng, spatial, kernel, stride, padding, dilation, groups, algorithm
):
    n = len(spatial)
    x = rng.standard_normal((2, 4, *spatial))
    w = rng.standard_normal((6, 4 // groups, *kernel))
    kwargs = {
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "groups": groups,
        "algorithm": algorithm,
    }
    y = CF_CONV[n](x, w, **kwargs)
    gy = rng.standard_normal(y.shape)
    # the transposed conv maps the conv's output space back onto its input space
    gx = CF_CONV_T[n](gy, w, output_size=spatial, **kwargs)
    assert gx.shape == x.shape
    np.testing.assert_allclose(np.vdot(y.array, gy), np.vdot(x, gx.array), rtol=1e-12)


@pytest.mark.parametrize(
    ("pairs", "output_padding"),
    [(((1, 0),), 0), (((0, 2),), 1), (((2, 1), (0, 1)), (1, 0)), (((0, 1), (1, 0), (2, 0)), 0)],
)
def test_conv_transpose_with_asymmetric_padding_crops_the_full_output(rng, pairs, output_padding):
    n = len(pairs)
    case = Case((3,) * n, (3,) * n, stride=2)
    x, w, b = case.arrays(rng)
    full = TORCH_CONV_T[n](to_torch(x), to_torch(w), to_torch(b), stride=2, output_padding=output_padding)
    crop = tuple(slice(lo, size - hi) for (lo, hi), size in zip(pairs, full.shape[2:]))
    y = CF_CONV_T[n](x, w, b, stride=2, padding=pairs, output_padding=output_padding)
    assert_close(y, full[(Ellipsis, *crop)])


@pytest.mark.parametrize("n", [1, 2, 3])
def test_true_transposed_convolution_equals_the_flipped_kernel(rng, n):
    case = Case((3,) * n, (2, 3, 2)[:n], stride=2, padding=1, output_padding=1)
    x, w, b = case.arrays(rng)
    flipped = np.flip(w, axis=tuple(range(2, 2 + n))).copy()
    y = CF_CONV_T[n](x, w, b, flip=True, **case.arguments)
    assert_close(y, TORCH_CONV_T[n](to_torch(x), to_torch(flipped), to_torch(b), **case.arguments))
    assert not np.allclose(y.array, CF_CONV_T[n](x, w, b, **case.arguments).array)


# --------------------------------------------------------------------------------------
# random valid configurations
# --------------------------------------------------------------------------------------
@st.composite
def valid_transpose_configs(draw):
    n = draw(st.integers(1, 3))
    groups = draw(st.sampled_from([1, 2, 3]))
    max_size = {1: 5, 2: 4, 3: 3}[n]
    spatial, kernel, stride, padding, output_padding, dilation = [], [], [], [], [], []
    for _ in range(n):
        k, s, d, i = (
            draw(st.integers(1, 3)),
            draw(st.integers(1, 3)),
            draw(st.integers(1, 3)),
            draw(st.integers(1, max_size)),
        )
        full = (i - 1) * s + (k - 1) * d + 1
        p = draw(st.integers(0, min(2, (full - 1) // 2)))  # leave at least one output
        spatial.append(i)
        kernel.append(k)
        stride.append(s)
        dilation.append(d)
        padding.append(p)
        output_padding.append(draw(st.integers(0, max(s, d) - 1)))
    case = Case(
        tuple(spatial),
        tuple(kernel),
        c_in=groups * draw(st.integers(1, 2)),
        c_out=groups * draw(st.integers(1, 2)),
        stride=tuple(stride),
        padding=tuple(padding),
        output_padding=tuple(output_padding),
        groups=groups,
        dilation=tuple(dilation),
        batch=draw(st.integers(1, 2)),
    )
    # only algorithms that support the drawn case: filtered, never rejected after the fact
    return case, draw(st.booleans()), draw(st.sampled_from(supported_algorithms(case)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=valid_transpose_configs(), seed=st.integers(0, 2**31))
def test_conv_transpose_matches_torch_on_random_valid_configurations(config, seed):
    case, bias, algorithm = config
    assume(ALGORITHMS[algorithm].supports(kernel_spec(case)))
    ours, theirs = compare_with_torch(np.random.default_rng(seed), case, algorithm, bias=bias)
    assert_all_close(ours, theirs)


# --------------------------------------------------------------------------------------
# exhaustive grid (-m slow)
# --------------------------------------------------------------------------------------
def slow_grid() -> list:
    params = []
    spatial = {1: (4,), 2: (3, 4), 3: (3, 2, 3)}
    kernel = {1: (3,), 2: (3, 2), 3: (2, 3, 2)}
    for n, stride, padding, output_padding, dilation, groups, bias in itertools.product(
        (1, 2, 3), [1, 2, 3], [0, 1], [0, 1, 2], [1, 2], [1, 2], [True, False]
    ):
        if output_padding >= max(stride, dilation):
            continue
        case = Case(
            spatial[n],
            kernel[n],
            c_in=2 * groups,
            c_out=2 * groups,
            stride=stride,
            padding=padding,
            output_padding=output_padding,
            groups=groups,
            dilation=dilation,
        )
        for algorithm in supported_algorithms(case):
            params.append(pytest.param(case, bias, algorithm, id=f"{case}-{bias}-{algorithm}"))
    return params


@pytest.mark.slow
@pytest.mark.parametrize(("case", "bias", "algorithm"), slow_grid())
def test_conv_transpose_matches_torch_on_exhaustive_grid(rng, case, bias, algorithm):
    ours, theirs = compare_with_torch(rng, case, algorithm, bias=bias)
    assert_all_close(ours, theirs)
