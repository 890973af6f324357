"""conv1d/2d/3d against PyTorch 2.13: forward, grad input, grad weight, grad bias.

Every algorithm registered in ``kernels.select.ALGORITHMS`` runs the grid, on every case it
``supports()`` (the spec its kernel sees: padding modes pad first); the pairs it does not
support are filtered out of the parametrization, not skipped. Exact algorithms match torch
to float64 round-off; Winograd and FFT to their documented ``ERROR_BOUND`` in float32. Padding
that torch's functional conv cannot express (asymmetric pads, padding modes, TensorFlow
SAME at stride > 1) is compared against ``torch.nn.functional.pad`` followed by an unpadded
torch convolution, with the pads computed here, independently of ``convforge.spec``.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass, replace

import numpy as np
import pytest
import scipy.signal
import torch
import torch.nn.functional as TF
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import convforge as cf
import convforge.functional as F
from conftest import RTOL, assert_all_close, assert_close, run_both, to_torch
from convforge.kernels import select
from convforge.kernels.select import ALGORITHMS
from convforge.spec import ConvArgs, Operand

ALGORITHM_NAMES = sorted(ALGORITHMS)
CF_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
TORCH_CONV = {1: TF.conv1d, 2: TF.conv2d, 3: TF.conv3d}
TORCH_MODULE = {1: torch.nn.Conv1d, 2: torch.nn.Conv2d, 3: torch.nn.Conv3d}
MODES = ["zeros", "reflect", "replicate", "circular"]
TORCH_PAD_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate", "circular": "circular"}


@dataclass(frozen=True)
class Case:
    """One convolution: shapes and the arguments of ``convNd`` (torch's meaning)."""

    spatial: tuple[int, ...]
    kernel: tuple[int, ...]
    c_in: int = 2
    c_out: int = 4
    stride: object = 1
    padding: object = 0
    dilation: object = 1
    groups: int = 1
    batch: int = 2

    @property
    def n(self) -> int:
        return len(self.spatial)

    def arrays(self, rng, dtype=np.float64, bias=True):
        x = rng.standard_normal((self.batch, self.c_in, *self.spatial)).astype(dtype)
        w = rng.standard_normal((self.c_out, self.c_in // self.groups, *self.kernel)).astype(dtype)
        b = rng.standard_normal(self.c_out).astype(dtype) if bias else None
        return x, w, b

    @property
    def strides(self) -> tuple[int, ...]:
        return (self.stride,) * self.n if isinstance(self.stride, int) else tuple(self.stride)

    @property
    def dilations(self) -> tuple[int, ...]:
        return (self.dilation,) * self.n if isinstance(self.dilation, int) else tuple(self.dilation)

    @property
    def arguments(self) -> dict:
        return {
            "stride": self.stride,
            "padding": self.padding,
            "dilation": self.dilation,
            "groups": self.groups,
        }

    def __str__(self) -> str:  # readable test ids
        parts = [f"{self.n}d", f"in{self.spatial}", f"k{self.kernel}", f"c{self.c_in}->{self.c_out}"]
        for name in ("stride", "padding", "dilation", "groups"):
            value = getattr(self, name)
            if value not in (0, 1):
                parts.append(f"{name}={value}")
        return "-".join(parts).replace(" ", "")


# A representative grid; the exhaustive product runs under ``-m slow``.
CASES = [
    Case((7,), (3,)),
    Case((9,), (3,), c_in=4, c_out=6, stride=2, padding=1, dilation=2, groups=2),
    Case((8,), (4,), c_in=3, c_out=6, stride=3, padding=2, groups=3),  # depthwise, multiplier 2
    Case((5,), (5,), c_in=2, c_out=2),  # kernel as large as the input
    Case((5, 6), (3, 3), c_in=3, padding=1),
    Case((7, 6), (3, 2), stride=(2, 1), padding=(1, 0)),
    Case((7, 8), (3, 3), dilation=(2, 1), padding=(2, 1), stride=(1, 2)),
    Case((6, 7), (2, 3), c_in=4, c_out=6, stride=2, padding=1, groups=2),
    Case((6, 5), (3, 2), c_in=3, c_out=6, groups=3, padding=(1, 1)),  # depthwise, multiplier 2
    Case((5, 7), (1, 1), c_in=3, c_out=5, stride=2),  # pointwise
    Case((6, 9), (2, 4), padding=(1, 2), stride=(1, 3)),  # even kernel
    Case((4, 5, 3), (2, 3, 2), c_in=2, c_out=3),
    Case((5, 4, 6), (3, 2, 3), stride=(2, 1, 2), padding=(1, 0, 1), dilation=(1, 2, 1)),
    Case((4, 4, 4), (3, 3, 3), c_in=4, c_out=4, groups=4, padding=1, stride=(1, 2, 1)),
    Case((6, 7), (3, 3), c_in=4, c_out=6, groups=2, padding=(1, 0)),  # 3x3 stride 1: Winograd
]


def kernel_spec(case, mode="zeros"):
    """The spec the kernel of ``case`` sees: a padding mode other than zeros pads first."""
    weight_shape = (case.c_out, case.c_in // case.groups, *case.kernel)
    args = ConvArgs.parse(
        f"conv{case.n}d",
        case.n,
        stride=case.stride,
        padding=case.padding,
        dilation=case.dilation,
        groups=case.groups,
        padding_mode=mode,
    )
    spec = args.resolve(
        Operand((case.batch, case.c_in, *case.spatial), "float64"), Operand(weight_shape, "float64")
    )
    return spec.zero_padded()


def supported_algorithms(case, mode="zeros") -> list[str]:
    spec = kernel_spec(case, mode)
    return [name for name in ALGORITHM_NAMES if ALGORITHMS[name].supports(spec)]


def with_algorithms(cases, mode="zeros") -> list:
    """(case, algorithm) for every algorithm that supports the case."""
    return [
        pytest.param(case, name, id=f"{case}-{name}")
        for case in cases
        for name in supported_algorithms(case, mode)
    ]


def tolerance(case, algorithm, dtype, mode="zeros") -> float:
    """Round-off for exact algorithms; the documented bound for Winograd/FFT (and for 'auto'
    plans that contain them)."""
    spec = kernel_spec(case, mode)
    names = select.plan(spec).names if algorithm == "auto" else (algorithm,)
    bounds = [b for b in (select.error_bound(name, dtype) for name in names) if b is not None]
    return max([RTOL[np.dtype(dtype).type], *bounds])


def torch_pad_then_conv(n, pairs, mode="zeros", stride=1, dilation=1, groups=1):
    """torch reference for explicit per-dim ``(before, after)`` pads in any padding mode."""
    flat = torch_order(pairs)

    def run(x, w, b):
        if any(flat):
            x = TF.pad(x, flat, mode=TORCH_PAD_MODE[mode])
        return TORCH_CONV[n](x, w, b, stride, 0, dilation, groups)

    return run


def torch_order(pairs):
    """n (before, after) pairs -> 2n ints in F.pad order (last dimension first)."""
    return tuple(p for pair in reversed(pairs) for p in pair)


def compare_with_torch(rng, case, algorithm="auto", dtype=np.float64, bias=True):
    """Our conv against torch's functional conv, which takes the case's arguments as they are."""
    x, w, b = case.arrays(rng, dtype, bias)
    ours_fn = functools.partial(CF_CONV[case.n], algorithm=algorithm, **case.arguments)
    return run_both(rng, ours_fn, functools.partial(TORCH_CONV[case.n], **case.arguments), x, w, b)


def compare_with_torch_pads(rng, case, pairs, mode="zeros", algorithm="auto", bias=True):
    """Our conv against torch's ``F.pad(pairs, mode)`` followed by an unpadded conv."""
    x, w, b = case.arrays(rng, bias=bias)
    ours_fn = functools.partial(CF_CONV[case.n], padding_mode=mode, algorithm=algorithm, **case.arguments)
    torch_fn = torch_pad_then_conv(case.n, pairs, mode, case.stride, case.dilation, case.groups)
    return run_both(rng, ours_fn, torch_fn, x, w, b)


# --------------------------------------------------------------------------------------
# the grid
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize(("case", "algorithm"), with_algorithms(CASES))
def test_conv_forward_matches_torch(rng, case, bias, algorithm):
    (y, *_), (y_torch, *_) = compare_with_torch(rng, case, algorithm, bias=bias)
    assert_close(y, y_torch)


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize(("case", "algorithm"), with_algorithms(CASES))
def test_conv_gradients_match_torch(rng, case, bias, algorithm):
    ours, theirs = compare_with_torch(rng, case, algorithm, bias=bias)
    assert_all_close(ours[1:], theirs[1:])


@pytest.mark.parametrize(("case", "algorithm"), with_algorithms(CASES[::2]))
def test_conv_matches_torch_in_float32(rng, case, algorithm):
    ours, theirs = compare_with_torch(rng, case, algorithm, dtype=np.float32)
    assert_all_close(ours, theirs, np.float32, tolerance(case, algorithm, np.float32))


@pytest.mark.parametrize("algorithm", ALGORITHM_NAMES)
def test_conv_keeps_float32_in_output_and_gradients(rng, algorithm):
    case = next(c for c in CASES[5:] + CASES[:5] if algorithm in supported_algorithms(c))
    ours, _ = compare_with_torch(rng, case, algorithm, dtype=np.float32)
    assert [t.dtype for t in ours] == [np.float32] * 4


# float16 is stored in float16 and computed in float32 (the backend's dtype policy), as torch
# 2.13 computes it on the CPU: both round a float32-accurate result once, so they agree to a
# few float16 ulps (2**-10) of the largest value
HALF_RTOL = 4 * 2.0**-10


@pytest.mark.parametrize(("case", "algorithm"), with_algorithms(CASES[::2]))
def test_conv_matches_torch_in_float16(rng, case, algorithm):
    ours, theirs = compare_with_torch(rng, case, algorithm, dtype=np.float16)
    bounds = [b for b in (select.error_bound(name, np.float32) for name in (algorithm,)) if b is not None]
    assert_all_close(ours, theirs, np.float16, max([HALF_RTOL, *bounds]))
    assert [t.dtype for t in ours] == [np.float16] * 4


# --------------------------------------------------------------------------------------
# padding: 'same', 'valid', asymmetric, padding modes
# --------------------------------------------------------------------------------------
def tensorflow_same_pads(size: int, k: int, s: int, d: int) -> tuple[int, int]:
    """TensorFlow's SAME: out = ceil(size / s); the odd pad goes after."""
    out = -(-size // s)
    needed = (out - 1) * s + (k - 1) * d + 1
    total = max(needed - size, 0)
    return total // 2, total - total // 2


def explicit_pairs(case) -> tuple[tuple[int, int], ...]:
    """Every padding form convforge accepts, resolved to (before, after) pairs, written out
    here independently of ``convforge.spec``."""
    n, padding = case.n, case.padding
    if padding == "valid":
        return ((0, 0),) * n
    if padding == "same":
        return tuple(
            tensorflow_same_pads(i, k, s, d)
            for i, k, s, d in zip(case.spatial, case.kernel, case.strides, case.dilations)
        )
    if isinstance(padding, int):
        return ((padding, padding),) * n
    if isinstance(padding[0], tuple):
        return tuple(padding)
    if len(padding) == n:
        return tuple((p, p) for p in padding)
    return tuple(reversed([(padding[i], padding[i + 1]) for i in range(0, len(padding), 2)]))


@pytest.mark.parametrize(
    ("size", "k", "s", "d", "expected"),
    [
        (6, 3, 2, 1, (0, 1)),
        (5, 3, 2, 1, (1, 1)),
        (7, 4, 3, 1, (1, 2)),
        (8, 3, 1, 2, (2, 2)),
        (5, 2, 1, 1, (0, 1)),
        (9, 1, 4, 1, (0, 0)),
        (4, 5, 2, 1, (1, 2)),
    ],
)
def test_same_padding_resolves_to_tensorflow_pads(size, k, s, d, expected):
    assert tensorflow_same_pads(size, k, s, d) == expected  # the helper below is right
    args = ConvArgs.parse("conv1d", 1, stride=s, padding="same", dilation=d)
    spec = args.resolve(Operand((1, 1, size)), Operand((1, 1, k)))
    assert spec.padding == (expected,)
    assert spec.out_spatial == (math.ceil(size / s),)


SAME_CASES = [
    Case((7,), (3,), padding="same"),
    Case((6,), (4,), dilation=2, padding="same"),  # even kernel: the extra pad on the right
    Case((6, 7), (2, 3), dilation=(1, 2), padding="same"),
    Case((5, 4, 4), (2, 2, 3), c_in=4, groups=2, padding="same"),
]


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")
@pytest.mark.parametrize(("case", "algorithm"), with_algorithms(SAME_CASES))
def test_same_padding_at_stride_one_matches_torch_same(rng, case, algorithm):
    ours, theirs = compare_with_torch(rng, case, algorithm)
    assert_all_close(ours, theirs)
    assert ours[0].shape[2:] == case.spatial


STRIDED_SAME_CASES = [
    Case((6,), (3,), stride=2, padding="same"),
    Case((7,), (4,), stride=3, dilation=2, padding="same"),
    Case((6, 7), (3, 2), stride=(2, 3), padding="same"),
    Case((9, 5), (3, 3), stride=(4, 2), dilation=(2, 1), padding="same"),
    Case((4, 5, 6), (2, 3, 3), stride=(2, 2, 3), padding="same"),
]


@pytest.mark.parametrize(("case", "algorithm"), with_algorithms(STRIDED_SAME_CASES))
def test_same_padding_with_stride_matches_torch_with_tensorflow_pads(rng, case, algorithm):
    pairs = explicit_pairs(case)
    ours, theirs = compare_with_torch_pads(rng, case, pairs, algorithm=algorithm)
    assert_all_close(ours, theirs)
    assert ours[0].shape[2:] == tuple(math.ceil(i / s) for i, s in zip(case.spatial, case.strides))


@pytest.mark.parametrize("case", CASES[:6], ids=str)
def test_valid_padding_equals_no_padding(rng, case):
    x, w, b = case.arrays(rng)
    kwargs = {**case.arguments, "padding": 0}
    valid = CF_CONV[case.n](x, w, b, **{**kwargs, "padding": "valid"})
    expected = TORCH_CONV[case.n](to_torch(x), to_torch(w), to_torch(b), **kwargs)
    assert_close(valid, expected)


ASYMMETRIC_CASES = [
    (Case((7,), (3,)), ((2, 0),)),
    (Case((6,), (2,), stride=2), ((0, 3),)),
    (Case((5, 6), (3, 2)), ((0, 2), (1, 0))),
    (Case((6, 6), (3, 3), stride=(2, 1), dilation=(1, 2)), ((1, 2), (3, 0))),
    (Case((4, 5, 3), (2, 2, 3), c_in=4, groups=2), ((1, 0), (0, 2), (2, 1))),
]


@pytest.mark.parametrize("form", ["pairs", "fpad_order"])
@pytest.mark.parametrize(
    ("case", "pairs", "algorithm"),
    [
        pytest.param(case, pairs, name, id=f"{case}-{pairs}-{name}".replace(" ", ""))
        for case, pairs in ASYMMETRIC_CASES
        for name in supported_algorithms(replace(case, padding=pairs))
    ],
)
def test_conv_with_asymmetric_explicit_padding_matches_torch_pad_then_conv(rng, case, pairs, form, algorithm):
    case = replace(case, padding=pairs if form == "pairs" else torch_order(pairs))
    ours, theirs = compare_with_torch_pads(rng, case, pairs, algorithm=algorithm)
    assert_all_close(ours, theirs)


def test_fpad_order_padding_reads_last_dimension_first(rng):
    x = rng.standard_normal((1, 1, 4, 5))
    w = rng.standard_normal((1, 1, 1, 1))
    # (left, right, top, bottom) = (2, 0, 0, 1): width grows by 2, height by 1
    y = F.conv2d(x, w, padding=(2, 0, 0, 1))
    assert y.shape == (1, 1, 5, 7)
    assert np.all(y.array[0, 0, :, :2] == 0)
    assert np.all(y.array[0, 0, -1, :] == 0)
    assert_close(y.array[0, 0, :4, 2:], x[0, 0] * w[0, 0, 0, 0])


MODE_CASES = [
    Case((7,), (3,), padding=2, stride=2),
    Case((6,), (2,), padding=1, dilation=2, c_in=4, groups=2),
    Case((6, 5), (3, 3), padding=(2, 1)),
    Case((5, 6), (3, 2), padding=1, stride=(2, 1), dilation=(1, 2)),
    Case((4, 5, 4), (3, 2, 3), padding=(1, 1, 2), stride=(1, 2, 1)),
    Case((4, 4, 5), (2, 2, 2), padding=1, c_in=4, c_out=4, groups=4),
]


def torch_module_run(case, mode, has_bias):
    """``fn(x, w, b)`` for run_both that runs torch.nn.ConvNd(padding_mode=mode) holding w and b."""
    module = TORCH_MODULE[case.n](
        case.c_in, case.c_out, case.kernel, bias=has_bias, padding_mode=mode, **case.arguments
    ).double()

    def run(x, w_torch, b_torch):
        parameters = {"weight": w_torch} if b_torch is None else {"weight": w_torch, "bias": b_torch}
        return torch.func.functional_call(module, parameters, (x,))

    return run


def compare_padding_mode_with_torch_module(rng, case, mode, algorithm="auto"):
    x, w, b = case.arrays(rng)
    ours_fn = functools.partial(CF_CONV[case.n], padding_mode=mode, algorithm=algorithm, **case.arguments)
    return run_both(rng, ours_fn, torch_module_run(case, mode, b is not None), x, w, b)


@pytest.mark.parametrize(
    ("case", "mode", "algorithm"),
    [
        pytest.param(case, mode, name, id=f"{case}-{mode}-{name}")
        for case in MODE_CASES
        for mode in MODES
        for name in supported_algorithms(case, mode)
    ],
)
def test_conv_with_padding_mode_matches_torch_module(rng, case, mode, algorithm):
    ours, theirs = compare_padding_mode_with_torch_module(rng, case, mode, algorithm)
    assert_all_close(ours, theirs)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")
@pytest.mark.parametrize("mode", MODES)
def test_same_padding_with_padding_mode_matches_torch_module(rng, mode):
    case = Case((6, 7), (2, 3), padding="same", dilation=(2, 1))
    ours, theirs = compare_padding_mode_with_torch_module(rng, case, mode)
    assert_all_close(ours, theirs)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize(
    ("case", "pairs"),
    [
        (Case((6,), (3,), stride=2), ((2, 0),)),
        (Case((5, 6), (3, 2)), ((0, 2), (1, 3))),
        (Case((4, 4, 5), (2, 3, 2)), ((1, 0), (0, 2), (3, 1))),
    ],
    ids=lambda v: str(v).replace(" ", ""),
)
def test_conv_with_asymmetric_padding_and_padding_mode_matches_torch_pad_then_conv(rng, case, pairs, mode):
    ours, theirs = compare_with_torch_pads(rng, replace(case, padding=pairs), pairs, mode)
    assert_all_close(ours, theirs)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_strided_same_padding_pads_with_the_padding_mode(rng, mode):
    case = Case((7, 6), (3, 2), stride=(2, 3), padding="same")
    ours, theirs = compare_with_torch_pads(rng, case, explicit_pairs(case), mode)
    assert_all_close(ours, theirs)


# --------------------------------------------------------------------------------------
# depthwise, unbatched, empty batch, inputs
# --------------------------------------------------------------------------------------
def depthwise_case(n, multiplier):
    stride = (2,) + (1,) * (n - 1)
    return Case((5,) * n, (3,) * n, c_in=3, c_out=3 * multiplier, groups=3, padding=1, stride=stride)


@pytest.mark.parametrize(
    ("case", "algorithm"), with_algorithms([depthwise_case(n, m) for n in (1, 2, 3) for m in (1, 3)])
)
def test_depthwise_conv_with_channel_multiplier_matches_torch(rng, case, algorithm):
    ours, theirs = compare_with_torch(rng, case, algorithm)
    assert_all_close(ours, theirs)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_conv_on_unbatched_input_matches_torch(rng, n):
    case = Case((5,) * n, (2,) * n, stride=2, padding=1, batch=1)
    x, w, b = case.arrays(rng)
    ours_fn = functools.partial(CF_CONV[n], **case.arguments)
    ours, theirs = run_both(rng, ours_fn, functools.partial(TORCH_CONV[n], **case.arguments), x[0], w, b)
    assert ours[0].shape == (case.c_out, *(3,) * n)
    assert_all_close(ours, theirs)


@pytest.mark.parametrize(
    ("case", "algorithm"),
    with_algorithms([Case((4,) * n, (3,) * n, padding=1, stride=2, batch=0) for n in (1, 2, 3)]),
)
def test_conv_on_empty_batch_matches_torch(rng, case, algorithm):
    n = case.n
    ours, theirs = compare_with_torch(rng, case, algorithm)
    assert ours[0].shape == (0, case.c_out, *(2,) * n)
    assert_all_close(ours, theirs)
    assert not np.any(ours[2].array)  # no samples, no weight gradient


def test_conv_accepts_numpy_arrays_and_tensors_alike(rng):
    x, w, b = Case((5, 5), (3, 3)).arrays(rng)
    from_arrays = F.conv2d(x, w, b, padding=1)
    from_tensors = F.conv2d(cf.tensor(x), cf.tensor(w), cf.tensor(b), padding=1)
    assert isinstance(from_arrays, cf.Tensor)
    np.testing.assert_array_equal(from_arrays.array, from_tensors.array)


def test_conv_computes_only_requested_gradients(rng):
    x, w, b = Case((5, 5), (3, 3)).arrays(rng)
    xt, wt = cf.tensor(x), cf.tensor(w, requires_grad=True)
    F.conv2d(xt, wt, b).sum().backward()
    assert xt.grad is None
    assert wt.grad is not None


# --------------------------------------------------------------------------------------
# true (flipped-kernel) convolution
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 3])
def test_true_convolution_equals_correlation_with_flipped_kernel(rng, n):
    case = Case((6,) * n, (3, 2, 3)[:n], stride=2, padding=1)
    x, w, b = case.arrays(rng)
    flipped = np.flip(w, axis=tuple(range(2, 2 + n))).copy()
    y = CF_CONV[n](x, w, b, flip=True, **case.arguments)
    assert_close(y, CF_CONV[n](x, flipped, b, **case.arguments))
    assert_close(y, TORCH_CONV[n](to_torch(x), to_torch(flipped), to_torch(b), **case.arguments))


@pytest.mark.parametrize("n", [1, 2, 3])
def test_true_convolution_gradients_match_torch_through_the_flip(rng, n):
    case = Case((5,) * n, (2, 3, 2)[:n], padding=1)
    x, w, b = case.arrays(rng)
    axes = tuple(range(2, 2 + n))
    ours_fn = functools.partial(CF_CONV[n], flip=True, **case.arguments)

    def torch_fn(xt, wt, bt):
        return TORCH_CONV[n](xt, wt.flip(axes), bt, **case.arguments)

    ours, theirs = run_both(rng, ours_fn, torch_fn, x, w, b)
    assert_all_close(ours, theirs)


def test_true_convolution_matches_scipy_convolve_valid(rng):
    image = rng.standard_normal((7, 9))
    kernel = rng.standard_normal((3, 4))
    y = F.conv2d(image[None, None], kernel[None, None], flip=True)
    assert_close(y.array[0, 0], scipy.signal.convolve(image, kernel, mode="valid"))
    # and plain conv2d is scipy's correlation, so the flag really changes the result
    y_corr = F.conv2d(image[None, None], kernel[None, None])
    assert_close(y_corr.array[0, 0], scipy.signal.correlate(image, kernel, mode="valid"))
    assert not np.allclose(y.array, y_corr.array)


# --------------------------------------------------------------------------------------
# random valid configurations
# --------------------------------------------------------------------------------------
@st.composite
def valid_conv_configs(draw):
    """A valid convolution in any padding form and mode, with the pads it resolves to."""
    n = draw(st.integers(1, 3))
    groups = draw(st.sampled_from([1, 2, 3]))
    form = draw(st.sampled_from(["int", "per_dim", "pairs", "fpad_order", "same", "valid"]))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(n))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(n))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(n))
    pairs = [(draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(n)]
    if form in ("int", "per_dim"):
        pairs = [(pairs[0][0],) * 2] * n if form == "int" else [(lo, lo) for lo, _ in pairs]
    if form in ("valid", "same"):
        pairs = [(0, 0)] * n
    spatial = []
    for k, d, (lo, hi) in zip(kernel, dilation, pairs):
        # the padded input holds the dilated kernel; reflect needs pad < size ('same' pads <= 3)
        smallest = max((k - 1) * d + 1 - lo - hi, lo + 1, hi + 1, 4 if form == "same" else 1)
        spatial.append(smallest + draw(st.integers(0, {1: 4, 2: 3, 3: 1}[n])))
    padding = {
        "int": pairs[0][0],
        "per_dim": tuple(lo for lo, _ in pairs),
        "pairs": tuple(pairs),
        "fpad_order": torch_order(pairs),
        "same": "same",
        "valid": "valid",
    }[form]
    case = Case(
        tuple(spatial),
        kernel,
        c_in=groups * draw(st.integers(1, 2)),
        c_out=groups * draw(st.integers(1, 2)),
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        batch=draw(st.integers(1, 2)),
    )
    mode, bias = draw(st.sampled_from(MODES)), draw(st.booleans())
    # only algorithms that support the drawn case: filtered, never rejected after the fact
    return case, mode, bias, draw(st.sampled_from(supported_algorithms(case, mode)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=valid_conv_configs(), seed=st.integers(0, 2**31))
def test_conv_matches_torch_on_random_valid_configurations(config, seed):
    case, mode, bias, algorithm = config
    assume(ALGORITHMS[algorithm].supports(kernel_spec(case, mode)))
    ours, theirs = compare_with_torch_pads(
        np.random.default_rng(seed), case, explicit_pairs(case), mode, algorithm, bias
    )
    assert_all_close(ours, theirs)


# --------------------------------------------------------------------------------------
# exhaustive grid (-m slow)
# --------------------------------------------------------------------------------------
SLOW_SPATIAL = {1: (7,), 2: (6, 5), 3: (5, 5, 4)}
SLOW_KERNEL = {1: (3,), 2: (3, 2), 3: (2, 3, 2)}
SLOW_STRIDES = {1: [1, 2, (3,)], 2: [1, 2, (2, 1)], 3: [1, 2, (2, 1, 1)]}
SLOW_PADDINGS = {
    1: [0, 1, (2,), "same", "valid", ((2, 1),)],
    2: [0, 1, (1, 0), "same", "valid", ((0, 2), (1, 0)), (1, 0, 2, 0)],
    3: [0, 1, (1, 0, 2), "same", "valid", ((0, 1), (1, 0), (2, 1))],
}


def slow_grid() -> list:
    params = []
    for n in (1, 2, 3):
        for stride, padding, dilation, groups, bias, mode in itertools.product(
            SLOW_STRIDES[n], SLOW_PADDINGS[n], [1, 2], [1, 2], [True, False], MODES
        ):
            case = Case(
                SLOW_SPATIAL[n],
                SLOW_KERNEL[n],
                c_in=2 * groups,
                c_out=2 * groups,
                stride=stride,
                padding=padding,
                dilation=dilation,
                groups=groups,
            )
            for algorithm in supported_algorithms(case, mode):
                params.append(
                    pytest.param(case, bias, mode, algorithm, id=f"{case}-{bias}-{mode}-{algorithm}")
                )
    return params


@pytest.mark.slow
@pytest.mark.parametrize(("case", "bias", "mode", "algorithm"), slow_grid())
def test_conv_matches_torch_on_exhaustive_grid(rng, case, bias, mode, algorithm):
    ours, theirs = compare_with_torch_pads(rng, case, explicit_pairs(case), mode, algorithm, bias)
    assert_all_close(ours, theirs)
