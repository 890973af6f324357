"""interpolate (every mode, align_corners, scale_factor/size, recompute_scale_factor,
antialias), Upsample and its spellings, pixel_shuffle/unshuffle and every padding layer,
against torch 2.13: values, gradients, reprs, signatures and errors."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
import torch

import convforge as cf
from conftest import assert_close, to_torch

CF, TF = cf.nn.functional, torch.nn.functional

MODE_SHAPES = [
    ("nearest", (2, 3, 5)),
    ("nearest", (2, 3, 5, 7)),
    ("nearest", (1, 2, 3, 4, 5)),
    ("nearest-exact", (2, 3, 5, 7)),
    ("nearest-exact", (1, 2, 3, 4, 5)),
    ("linear", (2, 3, 7)),
    ("bilinear", (2, 3, 5, 7)),
    ("bicubic", (2, 3, 5, 7)),
    ("trilinear", (1, 2, 3, 4, 5)),
    ("area", (2, 3, 7, 9)),
    ("area", (2, 3, 8)),
]
RESIZES = [
    {"scale_factor": 2},
    {"scale_factor": 0.5},
    {"scale_factor": 1.7},
    {"scale_factor": 2.3, "recompute_scale_factor": True},
    {"size": 3},
    {"size": 11},
]


def _align_options(mode):
    return [None] if mode in ("nearest", "nearest-exact", "area") else [False, True]


def _cases():
    for mode, shape in MODE_SHAPES:
        for resize in RESIZES:
            for align in _align_options(mode):
                yield mode, shape, resize, align, False
                if mode in ("bilinear", "bicubic"):
                    yield mode, shape, resize, align, True


@pytest.mark.parametrize(("mode", "shape", "resize", "align_corners", "antialias"), list(_cases()), ids=str)
def test_interpolate_matches_torch_forward_and_backward(rng, mode, shape, resize, align_corners, antialias):
    x = rng.normal(size=shape)
    kwargs = dict(mode=mode, align_corners=align_corners, antialias=antialias, **resize)
    xc, xt = cf.tensor(x, requires_grad=True), to_torch(x, requires_grad=True)
    yc, yt = CF.interpolate(xc, **kwargs), TF.interpolate(xt, **kwargs)
    assert yc.shape == tuple(yt.shape)
    assert_close(yc.detach().numpy(), yt.detach().numpy())
    g = rng.normal(size=yt.shape)
    yc.backward(cf.tensor(g))
    yt.backward(to_torch(g))
    assert_close(xc.grad.detach().numpy(), xt.grad.detach().numpy())


@pytest.mark.parametrize("mode", ["nearest", "bilinear", "bicubic"])
def test_interpolate_float32_matches_torch(rng, mode):
    x = rng.normal(size=(2, 3, 6, 5)).astype(np.float32)
    yc = CF.interpolate(cf.tensor(x), scale_factor=(1.5, 2.5), mode=mode)
    yt = TF.interpolate(torch.from_numpy(x), scale_factor=(1.5, 2.5), mode=mode)
    assert yc.dtype == np.float32
    assert_close(yc.detach().numpy(), yt.detach().numpy(), dtype=np.float32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("n", "m"), [(26, 22), (14, 46), (21, 69), (6, 74)])
def test_nearest_floors_the_source_index_in_the_inputs_precision_as_torch(n, m, dtype):
    # for these sizes, floor(o * n / m) in float32 and in float64 differ at one index
    x = np.arange(n, dtype=dtype).reshape(1, 1, n)
    ours = CF.interpolate(cf.tensor(x), size=m).detach().numpy()
    np.testing.assert_array_equal(ours, TF.interpolate(torch.from_numpy(x), size=m).detach().numpy())


def test_interpolate_gradient_passes_gradcheck(rng):
    x = cf.tensor(rng.normal(size=(1, 2, 4, 3)), requires_grad=True)
    assert cf.autograd.gradcheck(
        lambda t: CF.interpolate(t, size=(5, 7), mode="bicubic", align_corners=True), (x,)
    )


@pytest.mark.parametrize(
    ("shape", "kwargs", "match"),
    [
        ((1, 1, 4, 4), {"size": 2, "scale_factor": 2}, "only one"),
        ((1, 1, 4, 4), {}, "either size or scale_factor"),
        ((1, 1, 4, 4), {"size": (2, 2, 2)}, "spatial dimensions"),
        ((1, 1, 4, 4), {"scale_factor": (2,)}, "spatial dimensions"),
        ((1, 1, 4, 4), {"size": 2, "recompute_scale_factor": True}, "not meaningful"),
        ((1, 1, 4, 4), {"size": 2, "mode": "linear"}, "3D"),
        ((1, 1, 4), {"size": 2, "mode": "bilinear"}, "4D"),
        ((1, 1, 4, 4), {"size": 2, "mode": "nearest", "align_corners": True}, "align_corners"),
        ((1, 1, 4, 4), {"size": 2, "mode": "nearest", "antialias": True}, "antialias"),
        ((1, 1, 4, 4), {"size": 2, "mode": "cubic"}, "mode"),
        ((1, 1, 4, 4), {"size": 0}, "greater than 0"),
        ((1, 4), {"size": 2}, "3D, 4D or 5D"),
    ],
)
def test_interpolate_rejects_what_torch_rejects(shape, kwargs, match):
    with pytest.raises((ValueError, NotImplementedError, RuntimeError)):
        TF.interpolate(torch.ones(shape), **kwargs)
    with pytest.raises(ValueError, match=match):
        CF.interpolate(cf.ones(*shape), **kwargs)


def test_interpolate_signature_matches_torch():
    ours, theirs = inspect.signature(CF.interpolate).parameters, inspect.signature(TF.interpolate).parameters
    assert [(k, v.default) for k, v in ours.items()] == [(k, v.default) for k, v in theirs.items()]


UPSAMPLE_LAYERS = [
    ("Upsample", {"scale_factor": 2}),
    ("Upsample", {"size": (3, 4), "mode": "bilinear"}),
    ("Upsample", {"scale_factor": 2, "mode": "bilinear", "align_corners": True}),
    ("Upsample", {"size": 5, "mode": "bicubic", "align_corners": False}),
    ("Upsample", {"scale_factor": (2, 3)}),
    ("Upsample", {"scale_factor": 1.5, "mode": "nearest-exact", "recompute_scale_factor": True}),
    ("UpsamplingNearest2d", {"scale_factor": 2}),
    ("UpsamplingBilinear2d", {"size": 4}),
]


@pytest.mark.parametrize(("name", "kwargs"), UPSAMPLE_LAYERS, ids=str)
def test_upsample_layers_match_torch(rng, name, kwargs):
    ours, theirs = getattr(cf.nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    assert repr(ours) == repr(theirs)
    x = rng.normal(size=(2, 3, 4, 5))
    assert_close(ours(cf.tensor(x)).detach().numpy(), theirs(to_torch(x)).detach().numpy())


@pytest.mark.parametrize(
    "name", ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d", "PixelShuffle", "PixelUnshuffle"]
)
def test_resize_layer_signatures_match_torch(name):
    ours = inspect.signature(getattr(cf.nn, name).__init__).parameters
    theirs = inspect.signature(getattr(torch.nn, name).__init__).parameters
    assert [(k, v.default) for k, v in ours.items()] == [(k, v.default) for k, v in theirs.items()]


def test_deprecated_upsample_functions_warn_and_match_torch(rng):
    x = rng.normal(size=(1, 2, 3, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = TF.upsample_bilinear(to_torch(x), scale_factor=2).detach().numpy()
    with pytest.warns(UserWarning, match="deprecated"):
        ours = CF.upsample_bilinear(cf.tensor(x), scale_factor=2).detach().numpy()
    assert_close(ours, expected)


@pytest.mark.parametrize(
    ("shape", "r"), [((2, 8, 3, 4), 2), ((9, 2, 2), 3), ((2, 1, 4, 3, 3), 1), ((1, 2, 18, 2, 3), 3)]
)
def test_pixel_shuffle_and_unshuffle_match_torch_and_invert_each_other(rng, shape, r):
    x = rng.normal(size=shape)
    xc, xt = cf.tensor(x, requires_grad=True), to_torch(x, requires_grad=True)
    yc, yt = CF.pixel_shuffle(xc, r), TF.pixel_shuffle(xt, r)
    assert_close(yc.detach().numpy(), yt.detach().numpy())
    g = rng.normal(size=yt.shape)
    yc.backward(cf.tensor(g))
    yt.backward(to_torch(g))
    assert_close(xc.grad.detach().numpy(), xt.grad.detach().numpy())
    back = CF.pixel_unshuffle(yc, r)
    assert_close(back.detach().numpy(), TF.pixel_unshuffle(yt, r).detach().numpy())
    assert_close(back.detach().numpy(), x)
    assert repr(cf.nn.PixelShuffle(r)) == repr(torch.nn.PixelShuffle(r))
    assert repr(cf.nn.PixelUnshuffle(r)) == repr(torch.nn.PixelUnshuffle(r))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: CF.pixel_shuffle(cf.ones(1, 5, 2, 2), 2), "divisible"),
        (lambda: CF.pixel_unshuffle(cf.ones(1, 1, 3, 4), 2), "divisible"),
        (lambda: CF.pixel_shuffle(cf.ones(4, 2), 2), "3 dimensions"),
        (lambda: CF.pixel_shuffle(cf.ones(1, 4, 2, 2), 0), "positive"),
    ],
)
def test_pixel_shuffle_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


PAD_LAYERS = [
    ("ZeroPad1d", (2,), (2, 3, 5)),
    ("ZeroPad2d", (1,), (2, 3, 4, 5)),
    ("ZeroPad2d", ((1, 2, 0, 3),), (3, 4, 5)),
    ("ZeroPad2d", ((-1, 2, 1, -1),), (1, 3, 4, 5)),
    ("ZeroPad3d", (1,), (1, 2, 3, 3, 3)),
    ("ConstantPad1d", (2, 3.5), (3, 5)),
    ("ConstantPad2d", ((1, 0, 2, 0), -1.0), (2, 3, 4, 4)),
    ("ConstantPad3d", ((1, 0, 0, 1, 2, 0), 0.5), (2, 2, 2, 3, 3)),
    ("ReflectionPad1d", (2,), (2, 3, 5)),
    ("ReflectionPad2d", ((1, 1, 2, 0),), (2, 3, 4, 5)),
    ("ReflectionPad2d", (2,), (3, 4, 5)),
    ("ReflectionPad3d", (1,), (1, 2, 3, 3, 3)),
    ("ReplicationPad1d", (3,), (3, 4)),
    ("ReplicationPad2d", ((2, 0, 1, 3),), (2, 3, 4, 5)),
    ("ReplicationPad3d", (1,), (2, 3, 3, 3)),
    ("CircularPad1d", (2,), (2, 3, 5)),
    ("CircularPad2d", ((1, 2, 2, 1),), (2, 3, 4, 5)),
    ("CircularPad3d", (1,), (1, 2, 3, 3, 3)),
]


@pytest.mark.parametrize(("name", "args", "shape"), PAD_LAYERS, ids=str)
def test_padding_layer_matches_torch(rng, name, args, shape):
    ours, theirs = getattr(cf.nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs)
    assert ours.padding == theirs.padding
    x = rng.normal(size=shape)
    xc, xt = cf.tensor(x, requires_grad=True), to_torch(x, requires_grad=True)
    yc, yt = ours(xc), theirs(xt)
    assert_close(yc.detach().numpy(), yt.detach().numpy())
    g = rng.normal(size=yt.shape)
    yc.backward(cf.tensor(g))
    yt.backward(to_torch(g))
    assert_close(xc.grad.detach().numpy(), xt.grad.detach().numpy())


@pytest.mark.parametrize("name", sorted({case[0] for case in PAD_LAYERS}))
def test_padding_layer_signatures_match_torch(name):
    ours = inspect.signature(getattr(cf.nn, name).__init__).parameters
    theirs = inspect.signature(getattr(torch.nn, name).__init__).parameters
    assert list(ours) == list(theirs)


@pytest.mark.parametrize(
    ("make", "shape", "error"),
    [
        (lambda: cf.nn.ReflectionPad2d(1), (2, 3), ValueError),
        (lambda: cf.nn.ReflectionPad2d(1), (1, 1, 1, 2, 3), ValueError),
        (lambda: cf.nn.CircularPad1d(1), (4,), ValueError),
    ],
)
def test_non_constant_padding_layers_check_the_input_rank_as_torch(make, shape, error):
    with pytest.raises(error, match="input"):
        make()(cf.ones(*shape))


def test_padding_with_the_wrong_number_of_values_is_refused_at_construction():
    with pytest.raises(ValueError, match="4 ints"):
        cf.nn.ZeroPad2d((1, 2, 3))
    with pytest.raises(TypeError, match="padding"):
        cf.nn.ReflectionPad1d(1.5)


@pytest.mark.parametrize("mode", ["nearest", "bilinear", "bicubic"])
def test_interpolate_float16_keeps_the_dtype_and_matches_torch(rng, mode):
    x = rng.normal(size=(1, 2, 5, 6)).astype(np.float16)
    yc = CF.interpolate(cf.tensor(x), scale_factor=1.5, mode=mode)
    yt = TF.interpolate(torch.from_numpy(x), scale_factor=1.5, mode=mode)
    assert yc.dtype == np.float16
    np.testing.assert_allclose(yc.detach().numpy().astype(float), yt.numpy().astype(float), atol=2e-3)


def test_interpolate_refuses_integer_input():
    # torch resamples uint8 with its own fixed-point kernels; convforge does not imitate them
    with pytest.raises(TypeError):
        CF.interpolate(cf.tensor(np.ones((1, 1, 2, 2), dtype=np.uint8)), scale_factor=2)
