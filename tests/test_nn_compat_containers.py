"""Sequential/ModuleList operators and ParameterList/ParameterDict against torch 2.13: the
same children and keys, reprs, state dict keys, and torch's errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import convforge as cf


def _pair():
    return cf.nn.Sequential(cf.nn.ReLU(), cf.nn.Tanh()), torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Tanh())


@pytest.mark.parametrize(
    "op",
    [lambda s, lib: s * 2, lambda s, lib: 3 * s, lambda s, lib: s + lib.nn.Sequential(lib.nn.Sigmoid())],
    ids=["mul", "rmul", "add"],
)
def test_sequential_operators_build_torchs_sequential(op):
    ours, theirs = _pair()
    assert repr(op(ours, cf)) == repr(op(theirs, torch))


def test_sequential_in_place_operators_and_pop_match_torch():
    ours, theirs = _pair()
    ours *= 2
    theirs *= 2
    ours += cf.nn.Sequential(cf.nn.Sigmoid())
    theirs += torch.nn.Sequential(torch.nn.Sigmoid())
    assert repr(ours) == repr(theirs)
    assert repr(ours.pop(1)) == repr(theirs.pop(1))
    assert repr(ours) == repr(theirs)


def test_sequential_repetition_shares_the_module_objects_as_torch():
    layer = cf.nn.Linear(2, 2)
    doubled = cf.nn.Sequential(layer) * 2
    assert doubled[0] is doubled[1] is layer
    assert len(list(doubled.parameters())) == 2


@pytest.mark.parametrize(("factor", "error"), [(0, ValueError), (-1, ValueError), (1.5, TypeError)])
def test_sequential_bad_repetition_factor_raises_as_torch(factor, error):
    ours, theirs = _pair()
    with pytest.raises(error):
        theirs * factor
    with pytest.raises(error):
        ours * factor


def test_module_list_add_and_pop_match_torch():
    ours = cf.nn.ModuleList([cf.nn.ReLU()]) + cf.nn.ModuleList([cf.nn.Tanh(), cf.nn.Sigmoid()])
    theirs = torch.nn.ModuleList([torch.nn.ReLU()]) + torch.nn.ModuleList(
        [torch.nn.Tanh(), torch.nn.Sigmoid()]
    )
    assert repr(ours) == repr(theirs)
    assert repr(ours.pop(0)) == repr(theirs.pop(0))
    assert repr(ours) == repr(theirs)


def test_parameter_list_registers_wraps_and_prints_as_torch():
    ours = cf.nn.ParameterList([cf.nn.Parameter(cf.ones(2, 3)), cf.zeros(4)])
    theirs = torch.nn.ParameterList([torch.nn.Parameter(torch.ones(2, 3)), torch.zeros(4)])
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert isinstance(ours[1], cf.nn.Parameter) and ours[1].requires_grad
    ours.append(cf.ones(1))
    assert len(ours) == 3 and [p.shape for p in ours] == [(2, 3), (4,), (1,)]
    model = cf.nn.Module()
    model.weights = ours
    assert [name for name, _ in model.named_parameters()] == ["weights.0", "weights.1", "weights.2"]


def test_parameter_dict_registers_wraps_and_prints_as_torch():
    ours = cf.nn.ParameterDict({"a": cf.nn.Parameter(cf.ones(2)), "b": cf.tensor(np.zeros(3))})
    theirs = torch.nn.ParameterDict(
        {"a": torch.nn.Parameter(torch.ones(2)), "b": torch.zeros(3, dtype=torch.float64)}
    )
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert "a" in ours and ours.get("missing") is None
    assert list(ours.keys()) == ["a", "b"]
    ours.pop("a")
    assert list(ours.state_dict()) == ["b"]
    with pytest.raises(KeyError):
        ours["a"]


def test_parameter_list_index_errors():
    params = cf.nn.ParameterList([cf.ones(1)])
    with pytest.raises(IndexError):
        params[3]
    with pytest.raises(TypeError):
        params.extend(cf.ones(2))
