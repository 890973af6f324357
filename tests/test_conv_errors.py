"""Invalid convolution arguments: we raise exactly when PyTorch 2.13 raises.

convforge raises ``ValueError``/``TypeError`` before any array work, with a message that
names the argument and the value given (torch raises ``RuntimeError`` with its own words).
Deliberate extensions that torch rejects (``'same'`` at stride > 1, asymmetric pads) are
covered by the parity tests. Two deliberate deviations: integer inputs, which torch 2.13
computes on the CPU, are rejected (convforge convolves floating arrays only), and so is a
bias of another dtype in every transposed convolution (torch casts it in 1-D and 2-D only).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import convforge.functional as F

CF_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
CF_CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
TORCH_CONV = {1: TF.conv1d, 2: TF.conv2d, 3: TF.conv3d}
TORCH_CONV_T = {1: TF.conv_transpose1d, 2: TF.conv_transpose2d, 3: TF.conv_transpose3d}
TORCH_MODULE = {1: torch.nn.Conv1d, 2: torch.nn.Conv2d, 3: torch.nn.Conv3d}


# --------------------------------------------------------------------------------------
# messages name the argument and the value
# --------------------------------------------------------------------------------------
X2 = np.ones((1, 4, 5, 5))
W2 = np.ones((6, 2, 3, 3))  # groups=2
XT = np.ones((1, 4, 3, 3))
WT = np.ones((4, 3, 3, 3))

MESSAGE_CASES = {
    "channel mismatch": (lambda: F.conv2d(X2, np.ones((6, 3, 3, 3))), ValueError, ["channels", "4", "3"]),
    "groups not dividing in_channels": (lambda: F.conv2d(X2, W2, groups=3), ValueError, ["groups=3", "4"]),
    "groups not dividing out_channels": (
        lambda: F.conv2d(X2, np.ones((5, 2, 3, 3)), groups=2),
        ValueError,
        ["groups=2", "out_channels=5"],
    ),
    "zero groups": (lambda: F.conv2d(X2, W2, groups=0), ValueError, ["groups=0"]),
    "float groups": (lambda: F.conv2d(X2, W2, groups=2.0), TypeError, ["groups=2.0"]),
    "kernel larger than padded input": (
        lambda: F.conv2d(X2, W2, groups=2, dilation=3),
        ValueError,
        ["kernel", "dilation 3", "padded size 5"],
    ),
    "zero stride": (lambda: F.conv2d(X2, W2, groups=2, stride=(1, 0)), ValueError, ["stride=(1, 0)"]),
    "negative stride": (lambda: F.conv2d(X2, W2, groups=2, stride=-2), ValueError, ["stride=-2"]),
    "float stride": (lambda: F.conv2d(X2, W2, groups=2, stride=1.5), TypeError, ["stride=1.5"]),
    "stride of the wrong length": (
        lambda: F.conv2d(X2, W2, groups=2, stride=(1, 1, 1)),
        ValueError,
        ["stride=(1, 1, 1)"],
    ),
    "zero dilation": (lambda: F.conv2d(X2, W2, groups=2, dilation=0), ValueError, ["dilation=0"]),
    "negative padding": (lambda: F.conv2d(X2, W2, groups=2, padding=-1), ValueError, ["padding=-1"]),
    "negative pad in pairs": (
        lambda: F.conv2d(X2, W2, groups=2, padding=((0, -1), (1, 1))),
        ValueError,
        ["padding=((0, -1), (1, 1))"],
    ),
    "padding of the wrong length": (
        lambda: F.conv2d(X2, W2, groups=2, padding=(1, 2, 3)),
        ValueError,
        ["padding=(1, 2, 3)"],
    ),
    "unknown padding string": (
        lambda: F.conv2d(X2, W2, groups=2, padding="full"),
        ValueError,
        ["padding='full'"],
    ),
    "float padding": (lambda: F.conv2d(X2, W2, groups=2, padding=1.5), TypeError, ["padding=1.5"]),
    "unknown padding_mode": (
        lambda: F.conv2d(X2, W2, groups=2, padding_mode="mirror"),
        ValueError,
        ["padding_mode='mirror'", "'reflect'"],
    ),
    "reflect padding as large as the input": (
        lambda: F.conv2d(X2, W2, groups=2, padding=5, padding_mode="reflect"),
        ValueError,
        ["reflect", "padding (5, 5)", "size 5"],
    ),
    "circular padding larger than the input": (
        lambda: F.conv2d(X2, W2, groups=2, padding=6, padding_mode="circular"),
        ValueError,
        ["circular", "padding (6, 6)", "size 5"],
    ),
    "5-D input to conv2d": (
        lambda: F.conv2d(X2[None], W2, groups=2),
        ValueError,
        ["input", "(1, 1, 4, 5, 5)"],
    ),
    "3-D weight to conv2d": (lambda: F.conv2d(X2, W2[0], groups=2), ValueError, ["weight", "(2, 3, 3)"]),
    "integer input": (
        lambda: F.conv2d(X2.astype(np.int64), W2.astype(np.int64), groups=2),
        TypeError,
        ["input", "int64"],
    ),
    "input and weight dtypes differ": (
        lambda: F.conv2d(X2.astype(np.float32), W2, groups=2),
        TypeError,
        ["dtype", "float32", "float64"],
    ),
    "bias of the wrong shape": (
        lambda: F.conv2d(X2, W2, np.ones(5), groups=2),
        ValueError,
        ["bias", "(5,)", "(6,)"],
    ),
    "bias of another dtype": (
        lambda: F.conv2d(X2, W2, np.ones(6, np.float32), groups=2),
        TypeError,
        ["bias", "float32"],
    ),
    "unknown algorithm": (
        lambda: F.conv2d(X2, W2, groups=2, algorithm="winograd9"),
        ValueError,
        ["algorithm='winograd9'", "'im2col'", "'reference'"],
    ),
    "non-string algorithm": (lambda: F.conv2d(X2, W2, groups=2, algorithm=3), TypeError, ["algorithm=3"]),
    "non-bool flip": (lambda: F.conv2d(X2, W2, groups=2, flip=1), TypeError, ["flip=1"]),
    "input that is no array": (lambda: F.conv2d("abc", W2, groups=2), TypeError, ["input", "str"]),
    "transposed: 'same' padding": (
        lambda: F.conv_transpose2d(XT, WT, padding="same"),
        ValueError,
        ["padding='same'"],
    ),
    "transposed: output_padding as large as stride and dilation": (
        lambda: F.conv_transpose2d(XT, WT, stride=2, output_padding=2),
        ValueError,
        ["output_padding=2", "stride=2", "dilation=1"],
    ),
    "transposed: negative output_padding": (
        lambda: F.conv_transpose2d(XT, WT, stride=2, output_padding=-1),
        ValueError,
        ["output_padding=-1"],
    ),
    "transposed: output_size out of range": (
        lambda: F.conv_transpose2d(XT, WT, stride=2, output_size=(10, 7)),
        ValueError,
        ["output_size=(10, 7)", "between 7 and 8"],
    ),
    "transposed: output_size of the wrong length": (
        lambda: F.conv_transpose2d(XT, WT, stride=2, output_size=(7,)),
        ValueError,
        ["output_size=(7,)"],
    ),
    "transposed: output_size that is no sequence": (
        lambda: F.conv_transpose2d(XT, WT, stride=2, output_size=7),
        TypeError,
        ["output_size=7"],
    ),
    "transposed: weight.shape[0] differs from in_channels": (
        lambda: F.conv_transpose2d(XT, np.ones((3, 3, 3, 3))),
        ValueError,
        ["channels", "weight.shape[0]"],
    ),
    "transposed: groups not dividing in_channels": (
        lambda: F.conv_transpose2d(XT, WT, groups=3),
        ValueError,
        ["groups=3", "in_channels=4"],
    ),
    "transposed: padding crops everything": (
        lambda: F.conv_transpose2d(XT, WT, padding=4),
        ValueError,
        ["padding=4", "(-3, -3)"],
    ),
    "transposed: bias of the wrong shape": (
        lambda: F.conv_transpose2d(XT, WT, np.ones(4)),
        ValueError,
        ["bias", "(3,)", "(4,)"],
    ),
}


@pytest.mark.parametrize("case", list(MESSAGE_CASES), ids=str)
def test_error_message_names_the_argument_and_the_value(case):
    call, error, fragments = MESSAGE_CASES[case]
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    missing = [f for f in fragments if f not in message]
    assert not missing, f"{missing} not in {message!r}"


@pytest.mark.parametrize("op", ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose3d"])
def test_error_message_starts_with_the_function_name(op):
    n = int(op[-2])
    fn = getattr(F, op)
    with pytest.raises(ValueError, match=rf"^{op}: stride must be positive"):
        fn(np.ones((1, 2, *(4,) * n)), np.ones((2, 2, *(2,) * n)), stride=0)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_conv_transpose_rejects_a_bias_of_another_dtype_in_every_dimension(n):
    x, w, b = np.ones((1, 2, *(3,) * n)), np.ones((2, 3, *(2,) * n)), np.ones(3, np.float32)
    # torch is inconsistent here: conv_transpose1d/2d cast the bias, conv_transpose3d refuses
    torch_refuses = n == 3
    try:
        TORCH_CONV_T[n](torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b))
        assert not torch_refuses
    except RuntimeError:
        assert torch_refuses
    with pytest.raises(TypeError, match="bias"):
        CF_CONV_T[n](x, w, b)


def test_integer_inputs_are_rejected_although_torch_computes_them():
    x, w = torch.ones(1, 2, 4, dtype=torch.int64), torch.ones(3, 2, 2, dtype=torch.int64)
    assert TF.conv1d(x, w).dtype == torch.int64  # torch 2.13 on the CPU: an integer convolution
    with pytest.raises(TypeError, match="floating"):
        F.conv1d(x.numpy(), w.numpy())


# --------------------------------------------------------------------------------------
# raise iff torch raises
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "mode", ["zeros", "reflect", "replicate", "circular", "mirror", "Reflect", "", "zero"]
)
def test_padding_mode_is_accepted_exactly_where_the_torch_module_accepts_it(mode):
    try:
        torch.nn.Conv2d(2, 3, 3, padding=1, padding_mode=mode)
        torch_raises = False
    except ValueError:
        torch_raises = True
    x, w = np.ones((1, 2, 5, 5)), np.ones((3, 2, 3, 3))
    if torch_raises:
        with pytest.raises(ValueError, match="padding_mode"):
            F.conv2d(x, w, padding=1, padding_mode=mode)
    else:
        assert F.conv2d(x, w, padding=1, padding_mode=mode).shape == (1, 3, 5, 5)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("pad", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_padding_mode_size_limits_match_the_torch_module(n, pad, mode):
    """reflect needs pad < size, circular pad <= size, as torch."""
    size = 3
    x, w = np.ones((1, 2, *(size,) * n)), np.ones((3, 2, *(2,) * n))
    module = TORCH_MODULE[n](2, 3, 2, padding=pad, padding_mode=mode).double()
    assert_raises_iff_torch_raises(
        lambda: F.__dict__[f"conv{n}d"](x, w, padding=pad, padding_mode=mode),
        lambda: module(torch.from_numpy(x)),
        "padding",
    )


def assert_raises_iff_torch_raises(ours, theirs, keyword: str) -> None:
    try:
        theirs()
        torch_error = None
    except (RuntimeError, ValueError, TypeError, NotImplementedError) as error:
        torch_error = error
    if torch_error is None:
        ours()  # must not raise either
        return
    with pytest.raises((ValueError, TypeError)) as info:
        ours()
    assert keyword in str(info.value), f"{keyword!r} not in {str(info.value)!r} (torch: {torch_error})"


@dataclass(frozen=True)
class Config:
    """A convolution call as shapes, dtypes and arguments; ``transposed`` picks conv_transpose."""

    transposed: bool
    x_shape: tuple[int, ...]
    w_shape: tuple[int, ...]
    b_shape: tuple[int, ...] | None
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]
    output_padding: tuple[int, ...]
    groups: int
    w_dtype: str = "float64"
    b_dtype: str = "float64"

    @property
    def n(self) -> int:
        return len(self.stride)

    def arrays(self):
        x, w = np.ones(self.x_shape), np.ones(self.w_shape, self.w_dtype)
        return x, w, None if self.b_shape is None else np.ones(self.b_shape, self.b_dtype)

    def call_ours(self):
        x, w, b = self.arrays()
        if self.transposed:
            return CF_CONV_T[self.n](
                x, w, b, self.stride, self.padding, self.output_padding, self.groups, self.dilation
            )
        return CF_CONV[self.n](x, w, b, self.stride, self.padding, self.dilation, self.groups)

    def call_torch(self):
        x, w, b = (None if a is None else torch.from_numpy(a) for a in self.arrays())
        if self.transposed:
            return TORCH_CONV_T[self.n](
                x, w, b, self.stride, self.padding, self.output_padding, self.groups, self.dilation
            )
        return TORCH_CONV[self.n](x, w, b, self.stride, self.padding, self.dilation, self.groups)


@st.composite
def base_configs(draw, transposed: bool):
    """A valid (transposed) convolution."""
    n = draw(st.integers(1, 3))
    groups = draw(st.integers(1, 3))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(n))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(n))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(n))
    padding = tuple(draw(st.integers(0, 2)) for _ in range(n))
    spatial = tuple(
        max((k - 1) * d + 1 - 2 * p, 1) + draw(st.integers(0, 2))
        for k, d, p in zip(kernel, dilation, padding)
    )
    output_padding = (0,) * n
    if transposed:
        # keep the transposed output non-empty
        padding = tuple(
            min(p, ((i - 1) * s + (k - 1) * d) // 2)
            for p, i, s, k, d in zip(padding, spatial, stride, kernel, dilation)
        )
        output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
        w_shape = (c_in, c_out // groups, *kernel)
    else:
        w_shape = (c_out, c_in // groups, *kernel)
    b_shape = (c_out,) if draw(st.booleans()) else None
    x_shape = (draw(st.integers(1, 2)), c_in, *spatial)
    return Config(transposed, x_shape, w_shape, b_shape, stride, padding, dilation, output_padding, groups)


def _set(values: tuple[int, ...], dim: int, value: int) -> tuple[int, ...]:
    return tuple(value if i == dim else v for i, v in enumerate(values))


@st.composite
def invalid_configs(draw):
    """A valid call with one thing broken, and the word our message must contain."""
    transposed = draw(st.booleans())
    cfg = draw(base_configs(transposed))
    dim = draw(st.integers(0, cfg.n - 1))
    spatial, kernel = cfg.x_shape[2:], cfg.w_shape[2:]
    c_in, c_out = cfg.x_shape[1], cfg.w_shape[1] * cfg.groups if transposed else cfg.w_shape[0]
    kinds = [
        "channels",
        "groups_divide",
        "groups_nonpositive",
        "stride",
        "dilation",
        "padding",
        "input_ndim",
        "weight_ndim",
        "dtype",
        "bias_shape",
    ]
    # torch's conv_transpose1d/2d cast a bias of another dtype (3d refuses it): not compared
    kinds += [] if transposed else ["bias_dtype"]
    kinds += ["output_padding", "negative_output_padding", "crop"] if transposed else ["kernel"]
    kind = draw(st.sampled_from(kinds))
    if kind == "channels":
        w_shape = list(cfg.w_shape)
        w_shape[0 if transposed else 1] += cfg.groups if transposed else 1
        return replace(cfg, w_shape=tuple(w_shape)), "channels"
    if kind == "groups_divide":
        return replace(cfg, groups=c_in + draw(st.integers(1, 2))), "groups"
    if kind == "groups_nonpositive":
        return replace(cfg, groups=draw(st.integers(-1, 0))), "groups"
    if kind in ("stride", "dilation"):
        bad = _set(getattr(cfg, kind), dim, draw(st.integers(-1, 0)))
        return replace(cfg, **{kind: bad}), kind
    if kind == "padding":
        return replace(cfg, padding=_set(cfg.padding, dim, -draw(st.integers(1, 2)))), "padding"
    if kind == "kernel":
        # the dilated kernel spans one more cell than the padded input
        k = -(-(spatial[dim] + 2 * cfg.padding[dim]) // cfg.dilation[dim]) + 1
        return replace(cfg, w_shape=(*cfg.w_shape[:2], *_set(kernel, dim, k))), "kernel"
    if kind == "output_padding":
        too_big = max(cfg.stride[dim], cfg.dilation[dim]) + draw(st.integers(0, 1))
        return replace(cfg, output_padding=_set(cfg.output_padding, dim, too_big)), "output_padding"
    if kind == "negative_output_padding":
        return replace(cfg, output_padding=_set(cfg.output_padding, dim, -1)), "output_padding"
    if kind == "crop":
        i, s, k, d = spatial[dim], cfg.stride[dim], kernel[dim], cfg.dilation[dim]
        full = (i - 1) * s + (k - 1) * d + 1 + cfg.output_padding[dim]
        return replace(
            cfg, padding=_set(cfg.padding, dim, (full + 1) // 2 + draw(st.integers(0, 1)))
        ), "padding"
    if kind == "input_ndim":
        shape = draw(st.sampled_from([(1, *cfg.x_shape), spatial, (*cfg.x_shape, 1)]))
        return replace(cfg, x_shape=shape), "input"
    if kind == "weight_ndim":
        shape = draw(st.sampled_from([cfg.w_shape[:-1], (*cfg.w_shape, 1)]))
        return replace(cfg, w_shape=shape), "weight"
    if kind == "dtype":
        return replace(cfg, w_dtype="float32"), "dtype"
    if kind == "bias_shape":
        shape = draw(st.sampled_from([(c_out + 1,), (c_out, 1), ()]))
        return replace(cfg, b_shape=shape), "bias"
    return replace(cfg, b_shape=(c_out,), b_dtype="float32"), "bias"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(invalid=invalid_configs())
def test_invalid_configuration_raises_exactly_when_torch_raises(invalid):
    cfg, keyword = invalid
    assert_raises_iff_torch_raises(cfg.call_ours, cfg.call_torch, keyword)


@settings(max_examples=40, deadline=None)
@given(cfg=st.booleans().flatmap(base_configs))
def test_valid_base_configurations_are_accepted_by_both(cfg):
    cfg.call_torch()
    cfg.call_ours()
