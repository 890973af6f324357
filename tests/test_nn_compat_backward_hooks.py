"""Full backward hooks and backward pre-hooks on modules against torch 2.13: what they see
(grad_input, grad_output), what returning a value replaces, Grad-CAM's use, removal."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import convforge as cf
from conftest import assert_close


def _net(lib, seed=0):
    rng = np.random.default_rng(seed)
    conv, lin = lib.nn.Conv2d(1, 2, 3), lib.nn.Linear(2 * 4 * 4, 3)
    model = lib.nn.Sequential(conv, lib.nn.ReLU(), lib.nn.Flatten(), lin).double()
    state = {k: rng.normal(scale=0.3, size=np.shape(v)) for k, v in model.state_dict().items()}
    model.load_state_dict({k: (torch.from_numpy(v) if lib is torch else v) for k, v in state.items()})
    return model


def _record(lib, input_requires_grad: bool):
    model = _net(lib)
    seen = {}

    def backward_hook(module, grad_input, grad_output):
        seen["grad_input"] = [None if g is None else np.array(g.detach().numpy()) for g in grad_input]
        seen["grad_output"] = [np.array(g.detach().numpy()) for g in grad_output]

    def pre_hook(module, grad_output):
        seen["pre"] = [np.array(g.detach().numpy()) for g in grad_output]

    model[3].register_full_backward_hook(backward_hook)
    model[3].register_full_backward_pre_hook(pre_hook)
    x = np.random.default_rng(1).normal(size=(2, 1, 6, 6))
    xs = (
        cf.tensor(x, requires_grad=input_requires_grad)
        if lib is cf
        else torch.tensor(x, requires_grad=input_requires_grad)
    )
    model(xs).sum().backward()
    return seen


@pytest.mark.parametrize("input_requires_grad", [False, True])
def test_full_backward_hook_sees_torchs_grad_input_and_grad_output(input_requires_grad):
    ours, theirs = _record(cf, input_requires_grad), _record(torch, input_requires_grad)
    assert set(ours) == set(theirs) == {"grad_input", "grad_output", "pre"}
    for key in theirs:
        assert len(ours[key]) == len(theirs[key])
        for a, b in zip(ours[key], theirs[key]):
            assert_close(a, b)


def test_hook_on_a_first_layer_without_input_grad_gets_none_as_torch():
    for lib in (cf, torch):
        model, seen = _net(lib), {}
        model[0].register_full_backward_hook(lambda m, gi, go, seen=seen: seen.update(gi=gi, go=go))
        x = np.ones((1, 1, 6, 6))
        with pytest.warns(UserWarning, match="no inputs require gradients"):
            model(cf.tensor(x) if lib is cf else torch.tensor(x)).sum().backward()
        assert seen["gi"] == (None,) and seen["go"][0].shape == (1, 2, 4, 4)


def test_returning_grad_input_replaces_it_as_torch():
    grads = []
    for lib in (cf, torch):
        model = _net(lib)
        model[1].register_full_backward_hook(lambda m, gi, go: tuple(g * 0 for g in gi))
        x = np.random.default_rng(2).normal(size=(1, 1, 6, 6))
        xs = cf.tensor(x, requires_grad=True) if lib is cf else torch.tensor(x, requires_grad=True)
        model(xs).sum().backward()
        grads.append((xs.grad.detach().numpy(), model[0].weight.grad.detach().numpy()))
    for a, b in zip(*grads):
        assert_close(a, b)
        assert np.all(a == 0)


def test_grad_cam_weights_match_torch():
    """Grad-CAM: the mean gradient of the class score over each feature map of the last conv."""
    cams = []
    for lib in (cf, torch):
        model, store = _net(lib), {}
        model[0].register_forward_hook(lambda m, i, o, store=store: store.update(act=o))
        model[0].register_full_backward_hook(lambda m, gi, go, store=store: store.update(grad=go[0]))
        x = np.random.default_rng(3).normal(size=(1, 1, 6, 6))
        score = model(cf.tensor(x) if lib is cf else torch.tensor(x))[0, 1]
        with pytest.warns(UserWarning, match="no inputs require gradients"):
            score.backward()
        weights = store["grad"].detach().numpy().mean(axis=(2, 3), keepdims=True)
        cams.append(np.maximum((weights * store["act"].detach().numpy()).sum(axis=1), 0))
    assert_close(cams[0], cams[1])


def test_removed_backward_hook_does_not_run():
    model, calls = _net(cf), []
    handle = model[3].register_full_backward_hook(lambda m, gi, go: calls.append(1))
    handle.remove()
    model(cf.ones(1, 1, 6, 6, dtype=cf.float64)).sum().backward()
    assert calls == []


def test_backward_hooks_are_skipped_under_no_grad():
    model, calls = _net(cf), []
    model[3].register_full_backward_hook(lambda m, gi, go: calls.append(1))
    with cf.no_grad():
        out = model(cf.ones(1, 1, 6, 6, dtype=cf.float64))
    assert not out.requires_grad and calls == []


def test_deprecated_backward_hook_warns_and_gives_torchs_grad_output():
    outputs = []
    for lib in (cf, torch):
        model, seen = _net(lib), {}
        x = np.random.default_rng(4).normal(size=(1, 1, 6, 6))
        xs = cf.tensor(x, requires_grad=True) if lib is cf else torch.tensor(x, requires_grad=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model[0].register_backward_hook(lambda m, gi, go, seen=seen: seen.update(go=go[0]))
            model(xs).sum().backward()
        assert any(issubclass(w.category, FutureWarning) for w in caught)  # torch warns in backward
        outputs.append(seen["go"].detach().numpy())
    assert_close(outputs[0], outputs[1])
