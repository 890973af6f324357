"""Losses against torch: values and gradients (float64), options, stability and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import convforge as cf
import convforge.nn.functional as F
from conftest import assert_close, to_torch


def _compare_loss(make, x, target, rng, grad_target: bool = False):
    """Run the module built by ``make(nn)`` in both libraries; compare loss and gradients."""
    cf_loss, torch_loss = make(cf.nn), make(torch.nn).double()
    assert repr(cf_loss) == repr(torch_loss)
    xc, xt = cf.tensor(x, requires_grad=True), to_torch(x, requires_grad=True)
    floating = np.issubdtype(np.asarray(target).dtype, np.floating)
    tc = cf.tensor(target, requires_grad=grad_target and floating)
    tt = to_torch(target, requires_grad=grad_target and floating)
    yc, yt = cf_loss(xc, tc), torch_loss(xt, tt)
    assert_close(yc, yt)
    g = rng.standard_normal(tuple(yt.shape))
    yc.backward(g)
    yt.backward(torch.tensor(g))
    assert_close(xc.grad, xt.grad)
    if grad_target and floating:
        assert_close(tc.grad, tt.grad)


WEIGHT = np.array([0.5, 2.0, 1.0, 1.5])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"weight": WEIGHT},
        {"ignore_index": 2},
        {"label_smoothing": 0.2},
        {"weight": WEIGHT, "ignore_index": 1, "label_smoothing": 0.1},
    ],
    ids=["plain", "weight", "ignore", "smoothing", "all"],
)
@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 2, 3)], ids=["NC", "NCHW"])
def test_cross_entropy_matches_torch(shape, options, reduction, rng):
    x = rng.standard_normal(shape) * 3
    target = rng.integers(0, 4, (shape[0], *shape[2:]))

    def make(nn):
        weight = options.get("weight")
        kwargs = {k: v for k, v in options.items() if k != "weight"}
        if weight is not None:
            weight = torch.tensor(weight) if nn is torch.nn else weight
        return nn.CrossEntropyLoss(weight=weight, reduction=reduction, **kwargs)

    _compare_loss(make, x, target, rng)


@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_with_probability_targets_matches_torch(smoothing, rng):
    x = rng.standard_normal((5, 4))
    target = rng.dirichlet(np.ones(4), size=5)
    _compare_loss(lambda nn: nn.CrossEntropyLoss(label_smoothing=smoothing), x, target, rng, grad_target=True)


def test_cross_entropy_unbatched_input(rng):
    x = rng.standard_normal(5)
    _compare_loss(lambda nn: nn.CrossEntropyLoss(), x, np.array(3), rng)


def test_cross_entropy_is_stable_for_huge_logits():
    x = cf.tensor(np.array([[1000.0, -1000.0, 0.0], [-5e4, 5e4, 1.0]]), requires_grad=True)
    loss = F.cross_entropy(x, cf.tensor([1, 1]))
    loss.backward()
    assert np.isfinite(loss.item()) and loss.item() == pytest.approx(1000.0)
    assert np.isfinite(x.grad.numpy()).all()


def test_cross_entropy_with_every_target_ignored_is_nan_as_torch():
    x = np.zeros((2, 3))
    target = np.array([-100, -100])
    expected = torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(target))
    got = F.cross_entropy(cf.tensor(x), cf.tensor(target))
    assert np.isnan(got.item()) and torch.isnan(expected)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("use_weight", [False, True])
def test_nll_loss_matches_torch(use_weight, reduction, rng):
    x = np.log(rng.dirichlet(np.ones(4), size=(6,)))
    target = np.array([0, 3, 1, 1, -100, 2])

    def make(nn):
        weight = None if not use_weight else (torch.tensor(WEIGHT) if nn is torch.nn else WEIGHT)
        return nn.NLLLoss(weight=weight, reduction=reduction)

    _compare_loss(make, x, target, rng)


def test_nll_of_log_softmax_equals_cross_entropy(rng):
    x = cf.tensor(rng.standard_normal((4, 5)))
    target = cf.tensor([0, 4, 2, 2])
    assert F.nll_loss(F.log_softmax(x, dim=1), target).item() == pytest.approx(
        F.cross_entropy(x, target).item()
    )


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_matches_torch(reduction, rng):
    x, target = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    _compare_loss(lambda nn: nn.MSELoss(reduction=reduction), x, target, rng, grad_target=True)


def test_weighted_mse_loss_matches_torch(rng):
    x, target, weight = rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.random((3, 4))
    expected = torch.nn.functional.mse_loss(to_torch(x), to_torch(target), weight=to_torch(weight))
    assert_close(F.mse_loss(cf.tensor(x), cf.tensor(target), weight=cf.tensor(weight)), expected)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(
    "options",
    [{}, {"pos_weight": np.array([1.0, 3.0, 0.5])}, {"weight": np.array([[2.0], [1.0], [0.5], [1.0]])}],
)
def test_bce_with_logits_matches_torch(options, reduction, rng):
    x = rng.standard_normal((4, 3)) * 4
    target = rng.random((4, 3))

    def make(nn):
        kwargs = {k: (torch.tensor(v) if nn is torch.nn else v) for k, v in options.items()}
        return nn.BCEWithLogitsLoss(reduction=reduction, **kwargs)

    _compare_loss(make, x, target, rng, grad_target=True)


def test_bce_with_logits_is_stable_for_huge_logits():
    x = cf.tensor(np.array([800.0, -800.0, 0.0]), requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(x, cf.tensor(np.array([0.0, 1.0, 1.0])), reduction="none")
    np.testing.assert_allclose(loss.detach().numpy(), [800.0, 800.0, np.log(2)])
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, -1.0, -0.5])


def test_loss_state_dict_holds_class_weights_as_torch():
    cf_loss = cf.nn.CrossEntropyLoss(weight=np.ones(3))
    torch_loss = torch.nn.CrossEntropyLoss(weight=torch.ones(3))
    assert list(cf_loss.state_dict()) == list(torch_loss.state_dict()) == ["weight"]
    assert list(cf.nn.BCEWithLogitsLoss().state_dict()) == []


def test_legacy_reduction_flags_are_honoured():
    x, t = cf.tensor(np.ones((2, 2))), cf.tensor(np.zeros((2, 2)))
    with pytest.warns(DeprecationWarning):
        assert F.mse_loss(x, t, size_average=False).item() == 4.0
    with pytest.warns(DeprecationWarning):
        assert F.mse_loss(x, t, reduce=False).shape == (2, 2)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: F.cross_entropy(cf.zeros(2, 3), cf.tensor([0, 3])), ValueError, "class index 3"),
        (
            lambda: F.cross_entropy(cf.zeros(2, 3), cf.tensor([0, 1, 2])),
            ValueError,
            r"must have shape \(2,\)",
        ),
        (lambda: F.cross_entropy(cf.zeros(2, 3), cf.zeros(2)), ValueError, "class probabilities"),
        (lambda: F.cross_entropy(cf.zeros(2, 3), cf.tensor([0, 1]), reduction="avg"), ValueError, "'avg'"),
        (lambda: F.cross_entropy(cf.zeros(2, 3), cf.tensor([0, 1]), weight=np.ones(2)), ValueError, "weight"),
        (lambda: F.cross_entropy(cf.zeros(2, 3), cf.tensor([0, 1]), label_smoothing=1.5), ValueError, "1.5"),
        (lambda: F.nll_loss(cf.zeros(2, 3), cf.zeros(2)), TypeError, "integer class indices"),
        (lambda: F.binary_cross_entropy_with_logits(cf.zeros(2, 3), cf.zeros(3)), ValueError, "target size"),
        (lambda: cf.nn.MSELoss(reduction="max"), ValueError, "reduction='max'"),
    ],
)
def test_losses_reject_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_mse_warns_on_broadcasting_target():
    with pytest.warns(UserWarning, match="different to the input size"):
        F.mse_loss(cf.zeros(3, 2), cf.zeros(2))
