"""BCELoss, L1Loss, SmoothL1Loss, HuberLoss, KLDivLoss and their functionals against torch 2.13:
values and gradients (of input and target) for every reduction and option, constructor
signatures and state dict keys, and torch's errors."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
import torch

import convforge as cf
from conftest import assert_close, to_torch

REDUCTIONS = ["none", "mean", "sum"]


def _both(name, kwargs, x, y, grad_target=True):
    """Run cf.nn.<name> and torch.nn.<name>; returns (ours, theirs) as (loss, grad x, grad y)."""
    results = []
    for lib, wrap in ((cf, cf.tensor), (torch, to_torch)):
        xs, ys = wrap(x, requires_grad=True), wrap(y, requires_grad=grad_target)
        module_kwargs = {k: (wrap(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
        loss = getattr(lib.nn, name)(**module_kwargs)(xs, ys)
        (loss * loss).sum().backward()
        gy = ys.grad if grad_target else None
        results.append(
            [
                np.asarray(loss.detach().numpy()),
                xs.grad.detach().numpy(),
                None if gy is None else gy.detach().numpy(),
            ]
        )
    return results


def _check(ours, theirs, rtol=1e-9):
    for a, b in zip(ours, theirs):
        if b is not None:
            assert_close(a, b, rtol=rtol)


@pytest.fixture
def probs(rng):
    return rng.uniform(0.02, 0.98, size=(4, 3)), rng.uniform(0, 1, size=(4, 3))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_bce_loss_matches_torch(probs, rng, reduction, weighted):
    kwargs = {"reduction": reduction}
    if weighted:
        kwargs["weight"] = rng.uniform(0.5, 2, size=(3,))
    _check(*_both("BCELoss", kwargs, *probs))


def test_bce_at_probabilities_zero_and_one_is_finite_as_torch():
    x = np.array([0.0, 1.0, 0.0, 1.0, 0.5])
    y = np.array([0.0, 1.0, 1.0, 0.0, 0.3])
    ours, theirs = _both("BCELoss", {"reduction": "none"}, x, y, grad_target=False)
    _check(ours, theirs, rtol=1e-7)  # gradients of 2e14 at the clamp: torch's differ in the 9th digit
    assert np.isfinite(ours[0]).all()


def test_bce_rejects_probabilities_outside_unit_interval_and_mismatched_targets():
    with pytest.raises(RuntimeError):
        torch.nn.functional.binary_cross_entropy(torch.tensor([1.5]), torch.tensor([1.0]))
    with pytest.raises(ValueError, match="probabilities in"):
        cf.nn.functional.binary_cross_entropy(cf.tensor([1.5]), cf.tensor([1.0]))
    with pytest.raises(ValueError):
        torch.nn.functional.binary_cross_entropy(torch.rand(3), torch.rand(3, 1))
    with pytest.raises(ValueError, match="target size"):
        cf.nn.functional.binary_cross_entropy(cf.rand(3), cf.rand(3, 1))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("pos_weight", [False, True])
def test_bce_with_logits_loss_weight_and_pos_weight_match_torch(rng, reduction, pos_weight):
    x, y = rng.normal(scale=3, size=(5, 3)), rng.uniform(0, 1, size=(5, 3))
    kwargs = {"reduction": reduction, "weight": rng.uniform(0.5, 2, size=(3,))}
    if pos_weight:
        kwargs["pos_weight"] = rng.uniform(0.5, 3, size=(3,))
    _check(*_both("BCEWithLogitsLoss", kwargs, x, y))


def test_bce_losses_have_torchs_state_dict_keys():
    w = np.ones(3, dtype=np.float32)
    for name, kwargs in (("BCELoss", {"weight": w}), ("BCEWithLogitsLoss", {"weight": w, "pos_weight": w})):
        ours = getattr(cf.nn, name)(**{k: cf.tensor(v) for k, v in kwargs.items()})
        theirs = getattr(torch.nn, name)(**{k: torch.from_numpy(v) for k, v in kwargs.items()})
        assert list(ours.state_dict()) == list(theirs.state_dict())
    assert list(cf.nn.BCELoss().state_dict()) == list(torch.nn.BCELoss().state_dict()) == []


PAIRWISE_CASES = [
    ("L1Loss", {}),
    ("SmoothL1Loss", {}),
    ("SmoothL1Loss", {"beta": 0.3}),
    ("SmoothL1Loss", {"beta": 0.0}),
    ("HuberLoss", {}),
    ("HuberLoss", {"delta": 0.4}),
    ("HuberLoss", {"delta": 2.5}),
    ("MSELoss", {}),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("name", "kwargs"), PAIRWISE_CASES, ids=str)
def test_regression_losses_match_torch(rng, name, kwargs, reduction):
    x, y = rng.normal(size=(3, 4, 2)), rng.normal(size=(3, 4, 2))
    _check(*_both(name, {**kwargs, "reduction": reduction}, x, y))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("fn", ["l1_loss", "huber_loss"])
def test_weighted_functional_losses_match_torch(rng, fn, reduction):
    x, y, w = rng.normal(size=(4, 3)), rng.normal(size=(4, 3)), rng.uniform(0.1, 2, size=(4, 3))
    ours = getattr(cf.nn.functional, fn)(cf.tensor(x), cf.tensor(y), reduction=reduction, weight=cf.tensor(w))
    theirs = getattr(torch.nn.functional, fn)(
        to_torch(x), to_torch(y), reduction=reduction, weight=to_torch(w)
    )
    assert_close(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-9)


@pytest.mark.parametrize("reduction", ["none", "sum", "batchmean", "mean"])
@pytest.mark.parametrize(("log_target", "zero_target"), [(False, False), (False, True), (True, False)])
def test_kl_div_loss_matches_torch(rng, reduction, log_target, zero_target):
    x = np.log(rng.dirichlet(np.ones(5), size=4))
    y = rng.dirichlet(np.ones(5), size=4)
    if zero_target:
        y[0, 1] = 0.0  # contributes 0, as torch's xlogy (torch's target gradient there is nan: not compared)
    if log_target:
        y = np.log(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        kwargs = {"reduction": reduction, "log_target": log_target}
        _check(*_both("KLDivLoss", kwargs, x, y, grad_target=not zero_target))


def test_kl_div_mean_reduction_warns_as_torch():
    with pytest.warns(UserWarning, match="batchmean"):
        cf.nn.functional.kl_div(cf.zeros(2, 3), cf.ones(2, 3) / 3)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [("SmoothL1Loss", {"beta": -1.0}), ("HuberLoss", {"delta": 0.0}), ("HuberLoss", {"delta": -1.0})],
)
def test_bad_thresholds_raise_like_torch(name, kwargs):
    x = np.zeros(3)
    with pytest.raises(RuntimeError):
        getattr(torch.nn, name)(**kwargs)(to_torch(x), to_torch(x))
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        getattr(cf.nn, name)(**kwargs)(cf.tensor(x), cf.tensor(x))


def test_bad_reduction_is_refused_by_name():
    with pytest.raises(ValueError, match="reduction"):
        cf.nn.L1Loss(reduction="avg")


@pytest.mark.parametrize("name", ["BCELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "KLDivLoss"])
def test_constructor_signatures_and_defaults_match_torch(name):
    ours = inspect.signature(getattr(cf.nn, name).__init__).parameters
    theirs = inspect.signature(getattr(torch.nn, name).__init__).parameters
    assert list(ours) == list(theirs)
    assert [p.default for p in ours.values()] == [p.default for p in theirs.values()]


@pytest.mark.parametrize("fn", ["binary_cross_entropy", "l1_loss", "smooth_l1_loss", "huber_loss", "kl_div"])
def test_functional_signatures_match_torch(fn):
    ours = inspect.signature(getattr(cf.nn.functional, fn)).parameters
    theirs = inspect.signature(getattr(torch.nn.functional, fn)).parameters
    assert list(ours) == list(theirs)
    assert [p.default for p in ours.values()] == [p.default for p in theirs.values()]


def test_bce_gradient_passes_gradcheck(rng):
    x = cf.tensor(rng.uniform(0.1, 0.9, size=(3, 2)), requires_grad=True)
    y = cf.tensor(rng.uniform(0, 1, size=(3, 2)), requires_grad=True)
    assert cf.autograd.gradcheck(lambda a, b: cf.nn.functional.binary_cross_entropy(a, b), (x, y))
