"""affine_grid and grid_sample (the spatial-transformer pair of the PyTorch tutorials) against
torch 2.13: grids, samples and the gradients of input, grid and theta for every mode,
padding mode and align_corners; torch's warning and errors."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
import torch

import convforge as cf
from conftest import assert_close, to_torch

CF, TF = cf.nn.functional, torch.nn.functional


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("size", [(2, 3, 4, 5), (1, 1, 1, 3), (2, 1, 6, 1)])
def test_affine_grid_and_its_theta_gradient_match_torch(rng, align_corners, size):
    theta = rng.normal(scale=0.5, size=(size[0], 2, 3)) + np.array([[1.0, 0, 0], [0, 1.0, 0]])
    tc, tt = cf.tensor(theta, requires_grad=True), to_torch(theta, requires_grad=True)
    with warnings.catch_warnings(record=True) as ours_warned:
        warnings.simplefilter("always")
        gc = CF.affine_grid(tc, size, align_corners)
    with warnings.catch_warnings(record=True) as torch_warned:
        warnings.simplefilter("always")
        gt = TF.affine_grid(tt, size, align_corners)
    assert len(ours_warned) == len(torch_warned)  # the unit-size warning, as torch
    assert_close(gc.detach().numpy(), gt.detach().numpy())
    g = rng.normal(size=gt.shape)
    gc.backward(cf.tensor(g))
    gt.backward(to_torch(g))
    assert_close(tc.grad.detach().numpy(), tt.grad.detach().numpy())


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_grid_sample_matches_torch_with_gradients(rng, mode, padding_mode, align_corners):
    x, grid = rng.normal(size=(2, 3, 5, 6)), rng.uniform(-1.6, 1.6, size=(2, 4, 7, 2))  # points outside too
    xc, gc = cf.tensor(x, requires_grad=True), cf.tensor(grid, requires_grad=True)
    xt, gt = to_torch(x, requires_grad=True), to_torch(grid, requires_grad=True)
    yc = CF.grid_sample(xc, gc, mode, padding_mode, align_corners)
    yt = TF.grid_sample(xt, gt, mode, padding_mode, align_corners)
    assert_close(yc.detach().numpy(), yt.detach().numpy())
    g = rng.normal(size=yt.shape)
    yc.backward(cf.tensor(g))
    yt.backward(to_torch(g))
    assert_close(xc.grad.detach().numpy(), xt.grad.detach().numpy())
    assert_close(gc.grad.detach().numpy(), gt.grad.detach().numpy())


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_volumetric_grid_sample_matches_torch_with_gradients(rng, mode, padding_mode, align_corners):
    x, grid = rng.normal(size=(2, 2, 3, 4, 5)), rng.uniform(-1.4, 1.4, size=(2, 2, 3, 4, 3))
    xc, gc = cf.tensor(x, requires_grad=True), cf.tensor(grid, requires_grad=True)
    xt, gt = to_torch(x, requires_grad=True), to_torch(grid, requires_grad=True)
    yc = CF.grid_sample(xc, gc, mode, padding_mode, align_corners)
    yt = TF.grid_sample(xt, gt, mode, padding_mode, align_corners)
    assert_close(yc.detach().numpy(), yt.detach().numpy())
    g = rng.normal(size=yt.shape)
    yc.backward(cf.tensor(g))
    yt.backward(to_torch(g))
    assert_close(xc.grad.detach().numpy(), xt.grad.detach().numpy())
    assert_close(gc.grad.detach().numpy(), gt.grad.detach().numpy())


@pytest.mark.parametrize("align_corners", [False, True])
def test_volumetric_affine_grid_matches_torch(rng, align_corners):
    theta = rng.normal(scale=0.5, size=(2, 3, 4))
    tc, tt = cf.tensor(theta, requires_grad=True), to_torch(theta, requires_grad=True)
    gc = CF.affine_grid(tc, (2, 1, 3, 4, 5), align_corners)
    gt = TF.affine_grid(tt, (2, 1, 3, 4, 5), align_corners)
    assert_close(gc.detach().numpy(), gt.detach().numpy())
    g = rng.normal(size=gt.shape)
    gc.backward(cf.tensor(g))
    gt.backward(to_torch(g))
    assert_close(tc.grad.detach().numpy(), tt.grad.detach().numpy())


def test_spatial_transformer_step_matches_torch(rng):
    """The tutorial's stn(): affine_grid from a predicted theta, then grid_sample; d loss / d theta."""
    x = rng.normal(size=(3, 1, 8, 8)).astype(np.float32)
    theta = (np.array([[1.0, 0.1, 0.2], [-0.1, 0.9, 0.0]]) + rng.normal(scale=0.05, size=(3, 2, 3))).astype(
        np.float32
    )
    tc, tt = cf.tensor(theta, requires_grad=True), torch.tensor(theta, requires_grad=True)
    yc = CF.grid_sample(
        cf.tensor(x), CF.affine_grid(tc, (3, 1, 8, 8), align_corners=False), align_corners=False
    )
    yt = TF.grid_sample(
        torch.from_numpy(x), TF.affine_grid(tt, (3, 1, 8, 8), align_corners=False), align_corners=False
    )
    (yc * yc).sum().backward()
    (yt * yt).sum().backward()
    assert_close(yc.detach().numpy(), yt.detach().numpy(), dtype=np.float32)
    assert_close(tc.grad.detach().numpy(), tt.grad.detach().numpy(), dtype=np.float32)


def test_identity_grid_reproduces_the_input(rng):
    x = rng.normal(size=(1, 2, 4, 5))
    identity = cf.tensor(np.array([[[1.0, 0, 0], [0, 1.0, 0]]]))
    grid = CF.affine_grid(identity, (1, 2, 4, 5), align_corners=False)
    assert_close(CF.grid_sample(cf.tensor(x), grid, align_corners=False).detach().numpy(), x)


def test_missing_align_corners_warns_as_torch():
    with pytest.warns(UserWarning, match="align_corners"):
        CF.affine_grid(cf.tensor(np.array([[[1.0, 0, 0], [0, 1.0, 0]]])), (1, 1, 2, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        CF.affine_grid(cf.tensor(np.array([[[1.0, 0, 0], [0, 1.0, 0]]])), (1, 1, 2, 2), align_corners=False)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: CF.affine_grid(cf.zeros(1, 2, 3), (2, 1, 4, 4), False), "theta"),
        (lambda: CF.affine_grid(cf.zeros(1, 3, 4), (1, 1, 2, 2, 4, 4), False), "size"),
        (lambda: CF.affine_grid(cf.zeros(1, 2, 3), (1, 1, 2, 4, 4), False), "theta"),
        (lambda: CF.grid_sample(cf.zeros(1, 1, 4, 4), cf.zeros(1, 2, 2, 3), align_corners=False), "grid"),
        (
            lambda: CF.grid_sample(cf.zeros(1, 1, 4, 4), cf.zeros(1, 2, 2, 2), "linear", align_corners=False),
            "mode",
        ),
        (
            lambda: CF.grid_sample(cf.zeros(1, 1, 4, 4), cf.zeros(1, 2, 2, 2), padding_mode="wrap"),
            "padding_mode",
        ),
        (
            lambda: CF.grid_sample(
                cf.zeros(1, 1, 4, 4), cf.zeros(1, 2, 2, 2), "bicubic", align_corners=False
            ),
            "bicubic",
        ),
    ],
)
def test_bad_arguments_raise_naming_them(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("fn", ["affine_grid", "grid_sample"])
def test_signatures_match_torch(fn):
    ours, theirs = (
        inspect.signature(getattr(CF, fn)).parameters,
        inspect.signature(getattr(TF, fn)).parameters,
    )
    assert [(k, v.default) for k, v in ours.items()] == [(k, v.default) for k, v in theirs.items()]
