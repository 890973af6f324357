"""randperm, bernoulli, multinomial (seeded, torch's shapes, dtypes and errors) and the small
top-level helpers torch scripts call: set_printoptions, Size, get_default_dtype."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import convforge as cf


def test_randperm_is_a_seeded_int64_permutation():
    cf.manual_seed(7)
    first = cf.randperm(10)
    cf.manual_seed(7)
    again = cf.randperm(10)
    assert first.dtype == np.int64 == np.dtype(str(torch.randperm(3).dtype).split(".")[1])
    assert sorted(first.tolist()) == list(range(10)) and first.tolist() == again.tolist()
    assert cf.randperm(0).shape == (0,) and cf.randperm(4, dtype=cf.int32).dtype == np.int32


def test_bernoulli_draws_ones_with_the_given_probabilities():
    cf.manual_seed(0)
    p = cf.full((20000,), 0.25)
    draws = cf.bernoulli(p)
    assert draws.dtype == np.float32 and set(np.unique(draws.array)) <= {0.0, 1.0}
    assert abs(draws.array.mean() - 0.25) < 0.02
    assert cf.bernoulli(cf.zeros(5)).tolist() == [0.0] * 5 and cf.bernoulli(cf.ones(5)).tolist() == [1.0] * 5
    with pytest.raises(RuntimeError, match="probabilities must be in"):
        cf.bernoulli(cf.tensor([1.5]))


def test_multinomial_follows_the_weights_shapes_and_rules_of_torch():
    cf.manual_seed(1)
    weights = cf.tensor([[0.0, 1.0, 3.0], [5.0, 0.0, 0.0]])
    drawn = cf.multinomial(weights, 4000, replacement=True)
    assert drawn.shape == tuple(torch.multinomial(torch.tensor(weights.array), 4, True).shape[:1]) + (4000,)
    assert drawn.dtype == np.int64 and set(drawn.array[1].tolist()) == {0}
    assert abs((drawn.array[0] == 2).mean() - 0.75) < 0.03 and not (drawn.array[0] == 0).any()
    once = cf.multinomial(cf.tensor([1.0, 1.0, 1.0, 1.0]), 4)
    assert sorted(once.tolist()) == [0, 1, 2, 3]  # without replacement: each index once
    for lib in (torch, cf):
        assert sorted(lib.multinomial(lib.tensor([1.0, 0.0]), 2).tolist()) == [0, 1]
        assert lib.multinomial(lib.tensor([0.0, 1.0, 0.0]), 1).tolist() == [1]
        with pytest.raises(RuntimeError, match="cannot sample n_sample > prob_dist"):
            lib.multinomial(lib.tensor([1.0, 0.0]), 3)


def test_set_printoptions_changes_how_tensors_print():
    try:
        cf.set_printoptions(precision=2)
        assert repr(cf.tensor([1.23456])) == "tensor([1.23])"
        cf.set_printoptions(profile="full")
        assert "..." not in repr(cf.zeros(2000))
        with pytest.raises(ValueError, match="profile must be one of"):
            cf.set_printoptions(profile="tiny")
    finally:
        cf.set_printoptions(profile="default")
    assert "..." in repr(cf.zeros(2000))


def test_size_and_default_dtype_answer_as_torch():
    assert cf.Size([2, 3]) == (2, 3) == torch.Size([2, 3]) and cf.Size([2, 3]).numel() == 6
    assert cf.zeros(2, 3).shape == cf.Size([2, 3])
    assert cf.get_default_dtype() == cf.float32 and str(torch.get_default_dtype()) == "torch.float32"
