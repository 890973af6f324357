"""``cf.nn.utils`` gradient clipping and parameter vectors match torch.nn.utils (P1)."""

import numpy as np
import pytest
import torch

import convforge as cf

GRADS = [np.array([3.0, 4.0, 0.0], np.float32), np.array([[1.0, -2.0], [0.5, 7.0]], np.float32)]


def pair(grads):
    ours, theirs = [], []
    for g in grads:
        p = cf.nn.Parameter(np.ones_like(g))
        p.grad = cf.tensor(g.copy())
        q = torch.nn.Parameter(torch.ones(g.shape))
        q.grad = torch.tensor(g.copy())
        ours.append(p)
        theirs.append(q)
    return ours, theirs


@pytest.mark.parametrize("norm_type", [1.0, 2.0, 3.5, "inf", float("inf")])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    ours, theirs = pair(GRADS)
    total_ours = cf.nn.utils.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    total_theirs = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    np.testing.assert_allclose(total_ours.item(), total_theirs.item(), rtol=1e-6)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.array, q.grad.numpy(), rtol=1e-6)


def test_clip_grad_norm_skips_missing_grads_and_refuses_nonfinite_when_asked():
    ours, _ = pair(GRADS)
    ours.append(cf.nn.Parameter(np.ones(2, np.float32)))  # no grad
    assert cf.nn.utils.clip_grad_norm_(ours, 1.0).item() == pytest.approx(np.sqrt(25 + 1 + 4 + 0.25 + 49))
    ours[0].grad.array[0] = np.inf
    with pytest.raises(RuntimeError, match="non-finite"):
        cf.nn.utils.clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)


@pytest.mark.parametrize("norm_type", [0, -1, "two"])
def test_clip_grad_norm_refuses_a_bad_norm_type(norm_type):
    ours, _ = pair(GRADS)
    with pytest.raises(ValueError, match="norm_type"):
        cf.nn.utils.clip_grad_norm_(ours, 1.0, norm_type=norm_type)


def test_clip_grad_value_matches_torch():
    ours, theirs = pair(GRADS)
    cf.nn.utils.clip_grad_value_(ours, 1.5)
    torch.nn.utils.clip_grad_value_(theirs, 1.5)
    for p, q in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad.array, q.grad.numpy())


def test_parameters_to_vector_and_back_match_torch():
    ours, theirs = pair(GRADS)
    np.testing.assert_array_equal(
        cf.nn.utils.parameters_to_vector(ours).array,
        torch.nn.utils.parameters_to_vector(theirs).detach().numpy(),
    )
    values = np.arange(7, dtype=np.float32)
    cf.nn.utils.vector_to_parameters(cf.tensor(values), ours)
    torch.nn.utils.vector_to_parameters(torch.tensor(values), theirs)
    for p, q in zip(ours, theirs):
        np.testing.assert_array_equal(p.array, q.detach().numpy())


def test_vector_to_parameters_refuses_a_wrong_length():
    ours, _ = pair(GRADS)
    with pytest.raises(ValueError, match="vec has 4 elements but the parameters hold 7"):
        cf.nn.utils.vector_to_parameters(cf.tensor(np.zeros(4, np.float32)), ours)
