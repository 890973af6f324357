"""Margin, embedding and likelihood losses against torch 2.13: values and gradients of every
input for each reduction and option, layer signatures and state dict keys."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

import convforge as cf
from conftest import assert_close, to_torch

REDUCTIONS = ["none", "mean", "sum"]


def _signs(rng, shape):
    return np.where(rng.uniform(size=shape) < 0.5, -1.0, 1.0)


def _check(name, arrays, kwargs, grads, rng):
    """Run F.<name> in both libraries; compare the loss and the gradients of the arrays in ``grads``."""
    ours = [cf.tensor(a, requires_grad=i in grads) for i, a in enumerate(arrays)]
    theirs = [to_torch(a, requires_grad=i in grads) for i, a in enumerate(arrays)]
    yc = getattr(cf.nn.functional, name)(*ours, **kwargs)
    yt = getattr(torch.nn.functional, name)(*theirs, **kwargs)
    assert_close(yc.detach().numpy(), yt.detach().numpy())
    g = rng.normal(size=tuple(yt.shape))
    (yc * cf.tensor(g)).sum().backward()
    (yt * to_torch(g)).sum().backward()
    for i in grads:
        assert_close(ours[i].grad.detach().numpy(), theirs[i].grad.detach().numpy())


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, 0.5])
def test_margin_ranking_loss_matches_torch(rng, reduction, margin):
    arrays = [rng.normal(size=6), rng.normal(size=6), _signs(rng, 6)]
    _check("margin_ranking_loss", arrays, {"margin": margin, "reduction": reduction}, (0, 1), rng)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_hinge_embedding_loss_matches_torch(rng, reduction):
    arrays = [rng.normal(size=(4, 5)), _signs(rng, (4, 5))]
    _check("hinge_embedding_loss", arrays, {"margin": 0.7, "reduction": reduction}, (0,), rng)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_soft_margin_loss_matches_torch(rng, reduction):
    _check(
        "soft_margin_loss",
        [rng.normal(scale=3, size=(4, 5)), _signs(rng, (4, 5))],
        {"reduction": reduction},
        (0,),
        rng,
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_multilabel_soft_margin_loss_matches_torch(rng, reduction, weighted):
    arrays = [rng.normal(size=(4, 3)), (rng.uniform(size=(4, 3)) < 0.5).astype(float)]
    ours_w, theirs_w = (
        (cf.tensor(w := rng.uniform(0.5, 2, size=3)), to_torch(w)) if weighted else (None, None)
    )
    xc, xt = cf.tensor(arrays[0], requires_grad=True), to_torch(arrays[0], requires_grad=True)
    yc = cf.nn.functional.multilabel_soft_margin_loss(
        xc, cf.tensor(arrays[1]), weight=ours_w, reduction=reduction
    )
    yt = torch.nn.functional.multilabel_soft_margin_loss(
        xt, to_torch(arrays[1]), weight=theirs_w, reduction=reduction
    )
    assert_close(yc.detach().numpy(), yt.detach().numpy())
    yc.sum().backward()
    yt.sum().backward()
    assert_close(xc.grad.detach().numpy(), xt.grad.detach().numpy())


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, 0.3])
def test_cosine_embedding_loss_matches_torch(rng, reduction, margin):
    arrays = [rng.normal(size=(5, 4)), rng.normal(size=(5, 4)), _signs(rng, 5)]
    _check("cosine_embedding_loss", arrays, {"margin": margin, "reduction": reduction}, (0, 1), rng)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("p", "swap"), [(2.0, False), (1.0, True), (3.0, False)])
def test_triplet_margin_loss_matches_torch(rng, reduction, p, swap):
    arrays = [rng.normal(size=(5, 4)) for _ in range(3)]
    _check(
        "triplet_margin_loss",
        arrays,
        {"margin": 0.8, "p": p, "swap": swap, "reduction": reduction},
        (0, 1, 2),
        rng,
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("p", "weighted"), [(1, False), (2, False), (1, True)])
def test_multi_margin_loss_matches_torch(rng, reduction, p, weighted):
    x, target = rng.normal(size=(5, 4)), rng.integers(0, 4, size=5)
    w = rng.uniform(0.5, 2, size=4) if weighted else None
    xc, xt = cf.tensor(x, requires_grad=True), to_torch(x, requires_grad=True)
    yc = cf.nn.functional.multi_margin_loss(
        xc,
        cf.tensor(target),
        p=p,
        margin=0.7,
        weight=None if w is None else cf.tensor(w),
        reduction=reduction,
    )
    yt = torch.nn.functional.multi_margin_loss(
        xt,
        torch.from_numpy(target),
        p=p,
        margin=0.7,
        weight=None if w is None else to_torch(w),
        reduction=reduction,
    )
    assert_close(yc.detach().numpy(), yt.detach().numpy())
    yc.sum().backward()
    yt.sum().backward()
    assert_close(xc.grad.detach().numpy(), xt.grad.detach().numpy())


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("log_input", "full"), [(True, False), (False, False), (True, True), (False, True)])
def test_poisson_nll_loss_matches_torch(rng, reduction, log_input, full):
    x = rng.normal(size=(4, 3)) if log_input else rng.uniform(0.1, 3, size=(4, 3))
    target = rng.poisson(2.0, size=(4, 3)).astype(float)
    _check(
        "poisson_nll_loss",
        [x, target],
        {"log_input": log_input, "full": full, "reduction": reduction},
        (0,),
        rng,
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("var_shape", "full"), [((4, 3), False), ((4, 1), True), ((4,), False)])
def test_gaussian_nll_loss_matches_torch_with_variance_gradient(rng, reduction, var_shape, full):
    var = rng.uniform(1e-7, 2, size=var_shape)
    var.flat[0] = 1e-9  # below eps: clamped in value, the gradient still flows, as torch
    arrays = [rng.normal(size=(4, 3)), rng.normal(size=(4, 3)), var]
    _check("gaussian_nll_loss", arrays, {"full": full, "reduction": reduction}, (0, 1, 2), rng)


LAYERS = ["MarginRankingLoss", "HingeEmbeddingLoss", "SoftMarginLoss", "MultiLabelSoftMarginLoss",
          "CosineEmbeddingLoss", "TripletMarginLoss", "PoissonNLLLoss", "GaussianNLLLoss", "MultiMarginLoss"]  # fmt: skip


@pytest.mark.parametrize("name", LAYERS)
def test_layer_signatures_match_torch(name):
    ours = inspect.signature(getattr(cf.nn, name).__init__).parameters
    theirs = inspect.signature(getattr(torch.nn, name).__init__).parameters
    assert [(k, v.default, v.kind) for k, v in ours.items()] == [
        (k, v.default, v.kind) for k, v in theirs.items()
    ]


FUNCTIONS = ["margin_ranking_loss", "hinge_embedding_loss", "soft_margin_loss", "multilabel_soft_margin_loss",
             "cosine_embedding_loss", "triplet_margin_loss", "poisson_nll_loss", "gaussian_nll_loss",
             "multi_margin_loss"]  # fmt: skip


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_functional_signatures_match_torch(fn):
    ours = inspect.signature(getattr(cf.nn.functional, fn)).parameters
    theirs = inspect.signature(getattr(torch.nn.functional, fn)).parameters
    assert [(k, v.default) for k, v in ours.items()] == [(k, v.default) for k, v in theirs.items()]


def test_weighted_layers_keep_the_weight_as_torchs_buffer():
    for name in ("MultiMarginLoss", "MultiLabelSoftMarginLoss"):
        ours = getattr(cf.nn, name)(weight=cf.ones(3))
        theirs = getattr(torch.nn, name)(weight=torch.ones(3))
        assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]


def test_layers_compute_their_functional(rng):
    x1, x2, y = rng.normal(size=(5, 4)), rng.normal(size=(5, 4)), _signs(rng, 5)
    ours = cf.nn.CosineEmbeddingLoss(margin=0.2)(cf.tensor(x1), cf.tensor(x2), cf.tensor(y))
    theirs = torch.nn.CosineEmbeddingLoss(margin=0.2)(to_torch(x1), to_torch(x2), to_torch(y))
    assert_close(ours.detach().numpy(), theirs.numpy())
    a, p, n = (rng.normal(size=(3, 4)) for _ in range(3))
    ours = cf.nn.TripletMarginLoss(swap=True)(cf.tensor(a), cf.tensor(p), cf.tensor(n))
    theirs = torch.nn.TripletMarginLoss(swap=True)(to_torch(a), to_torch(p), to_torch(n))
    assert_close(ours.detach().numpy(), theirs.numpy())


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multilabel_margin_loss_matches_torch(rng, reduction):
    x = rng.normal(size=(3, 5))
    target = np.array(
        [[3, 0, -1, 1, 2], [1, 2, 4, 0, -1], [-1, 0, 0, 0, 0]], dtype=np.int64
    )  # last: no labels
    xc, xt = cf.tensor(x, requires_grad=True), to_torch(x, requires_grad=True)
    yc = cf.nn.functional.multilabel_margin_loss(xc, cf.tensor(target), reduction=reduction)
    yt = torch.nn.functional.multilabel_margin_loss(xt, torch.from_numpy(target), reduction=reduction)
    assert_close(yc.detach().numpy(), yt.detach().numpy())
    yc.sum().backward()
    yt.sum().backward()
    assert_close(xc.grad.detach().numpy(), xt.grad.detach().numpy())
    assert repr(cf.nn.MultiLabelMarginLoss()) == repr(torch.nn.MultiLabelMarginLoss())


@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("distance", ["default", "cosine"])
def test_triplet_margin_with_distance_loss_matches_torch(rng, swap, distance):
    arrays = [rng.normal(size=(5, 4)) for _ in range(3)]

    def fn(lib):
        if distance == "default":
            return None
        return lambda a, b: 1 - lib.nn.functional.cosine_similarity(a, b)

    ours = [cf.tensor(a, requires_grad=True) for a in arrays]
    theirs = [to_torch(a, requires_grad=True) for a in arrays]
    yc = cf.nn.TripletMarginWithDistanceLoss(distance_function=fn(cf), margin=0.5, swap=swap)(*ours)
    yt = torch.nn.TripletMarginWithDistanceLoss(distance_function=fn(torch), margin=0.5, swap=swap)(*theirs)
    assert_close(yc.detach().numpy(), yt.detach().numpy())
    yc.backward()
    yt.backward()
    for a, b in zip(ours, theirs):
        assert_close(a.grad.detach().numpy(), b.grad.detach().numpy())


def test_nll_loss_2d_is_torchs_deprecated_alias(rng):
    x = np.log(rng.dirichlet(np.ones(3), size=(2, 4, 4)).transpose(0, 3, 1, 2))
    target = rng.integers(0, 3, size=(2, 4, 4))
    with pytest.warns(FutureWarning):
        ours = cf.nn.NLLLoss2d()(cf.tensor(x), cf.tensor(target))
    with pytest.warns(FutureWarning):
        theirs = torch.nn.NLLLoss2d()(to_torch(x), torch.from_numpy(target))
    assert_close(ours.detach().numpy(), theirs.numpy())
