"""F.embedding and nn.Embedding against torch 2.13: lookups, weight gradients with
padding_idx and scale_grad_by_freq, max_norm renormalization, from_pretrained, reprs,
signatures and errors."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

import convforge as cf
from conftest import assert_close, to_torch


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"padding_idx": 2},
        {"padding_idx": -1},
        {"scale_grad_by_freq": True},
        {"padding_idx": 0, "scale_grad_by_freq": True},
    ],
    ids=str,
)
@pytest.mark.parametrize("index_shape", [(7,), (3, 4), ()])
def test_embedding_and_weight_gradient_match_torch(rng, kwargs, index_shape):
    weight = rng.normal(size=(6, 3))
    index = rng.integers(0, 6, size=index_shape)
    wc, wt = cf.tensor(weight, requires_grad=True), to_torch(weight, requires_grad=True)
    yc = cf.nn.functional.embedding(cf.tensor(index), wc, **kwargs)
    yt = torch.nn.functional.embedding(torch.from_numpy(index), wt, **kwargs)
    assert_close(yc.detach().numpy(), yt.detach().numpy())
    g = rng.normal(size=yt.shape)
    yc.backward(cf.tensor(g))
    yt.backward(to_torch(g))
    assert_close(wc.grad.detach().numpy(), wt.grad.detach().numpy())


@pytest.mark.parametrize(("max_norm", "norm_type"), [(1.0, 2.0), (0.5, 1.0)])
def test_max_norm_renormalizes_the_looked_up_rows_in_place_as_torch(rng, max_norm, norm_type):
    weight = rng.normal(scale=2, size=(6, 3))
    index = np.array([0, 2, 2, 5])
    wc, wt = cf.tensor(weight.copy()), to_torch(weight.copy())
    yc = cf.nn.functional.embedding(cf.tensor(index), wc, max_norm=max_norm, norm_type=norm_type)
    yt = torch.nn.functional.embedding(torch.from_numpy(index), wt, max_norm=max_norm, norm_type=norm_type)
    assert_close(yc.detach().numpy(), yt.numpy())
    assert_close(wc.detach().numpy(), wt.numpy())


def test_int32_indices_are_accepted_as_torch():
    out = cf.nn.functional.embedding(cf.tensor(np.array([1, 2], dtype=np.int32)), cf.ones(3, 2))
    assert out.shape == (2, 2)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: cf.nn.functional.embedding(cf.tensor([1.0]), cf.ones(3, 2)), TypeError),
        (lambda: cf.nn.functional.embedding(cf.tensor(np.array([5])), cf.ones(3, 2)), IndexError),
        (lambda: cf.nn.functional.embedding(cf.tensor(np.array([-1])), cf.ones(3, 2)), IndexError),
        (lambda: cf.nn.Embedding(3, 2, padding_idx=5), ValueError),
    ],
)
def test_bad_indices_fail_as_torch(call, error):
    with pytest.raises(error):
        call()


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"padding_idx": 2, "max_norm": 1.0},
        {"scale_grad_by_freq": True, "sparse": True, "norm_type": 1.0, "max_norm": 2.0},
    ],
    ids=str,
)
def test_layer_repr_state_dict_and_padding_row_match_torch(kwargs):
    ours, theirs = cf.nn.Embedding(10, 3, **kwargs), torch.nn.Embedding(10, 3, **kwargs)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    if "padding_idx" in kwargs:
        np.testing.assert_array_equal(ours.weight.detach().numpy()[2], 0)


def test_layer_forward_from_torchs_weights_matches(rng):
    theirs = torch.nn.Embedding(8, 4, padding_idx=1).double()
    ours = cf.nn.Embedding(8, 4, padding_idx=1).double()
    ours.load_state_dict(theirs.state_dict())
    index = rng.integers(0, 8, size=(2, 5))
    assert_close(ours(cf.tensor(index)).detach().numpy(), theirs(torch.from_numpy(index)).detach().numpy())


def test_from_pretrained_copies_and_freezes_as_torch():
    table = np.arange(6.0).reshape(3, 2)
    ours = cf.nn.Embedding.from_pretrained(cf.tensor(table))
    theirs = torch.nn.Embedding.from_pretrained(to_torch(table))
    assert ours.weight.requires_grad == theirs.weight.requires_grad is False
    assert repr(ours) == repr(theirs)
    assert cf.nn.Embedding.from_pretrained(cf.tensor(table), freeze=False).weight.requires_grad


def test_signatures_match_torch():
    pairs = [
        (cf.nn.Embedding.__init__, torch.nn.Embedding.__init__),
        (cf.nn.Embedding.from_pretrained, torch.nn.Embedding.from_pretrained),
        (cf.nn.functional.embedding, torch.nn.functional.embedding),
    ]
    for ours, theirs in pairs:
        a, b = inspect.signature(ours).parameters, inspect.signature(theirs).parameters
        assert [(k, v.default) for k, v in a.items()] == [(k, v.default) for k, v in b.items()]
