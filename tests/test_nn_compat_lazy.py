"""Lazy layers against torch 2.13: sizes inferred at the first call, the eager class after it,
the same outputs and gradients from the same weights, placeholders in state_dict and in an
optimizer built before the first call, and load_state_dict materializing them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import convforge as cf
from conftest import assert_close, to_torch

nn = cf.nn

# (lazy name, constructor args, input shape)
CASES = [
    ("LazyLinear", (4,), (2, 3)),
    ("LazyLinear", (5,), (3,)),
    ("LazyLinear", (2,), (2, 3, 6)),
    ("LazyConv1d", (4, 3), (2, 3, 9)),
    ("LazyConv1d", (4, 3), (3, 9)),
    ("LazyConv2d", (6, 3), (2, 4, 7, 7)),
    ("LazyConv2d", (6, (3, 2)), (4, 7, 7)),
    ("LazyConv3d", (2, 2), (1, 3, 4, 4, 4)),
    ("LazyConvTranspose1d", (4, 3), (2, 3, 5)),
    ("LazyConvTranspose2d", (6, 3), (2, 4, 5, 5)),
    ("LazyConvTranspose3d", (2, 2), (1, 3, 3, 3, 3)),
]
KWARGS = {
    "LazyConv2d": {"stride": 2, "padding": 1, "groups": 2},
    "LazyConvTranspose2d": {"stride": 2, "output_padding": 1, "groups": 2},
}


def _pair(name, args):
    kwargs = KWARGS.get(name, {}) if len(args) == 2 and args[1] == 3 else {}
    return getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)


@pytest.mark.parametrize(("name", "args", "shape"), CASES, ids=lambda v: str(v))
def test_first_call_infers_size_and_becomes_the_eager_layer_like_torch(name, args, shape):
    ours, theirs = _pair(name, args)
    assert repr(ours) == repr(theirs)
    x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    theirs(to_torch(x).float())
    ours(cf.tensor(x))
    assert type(ours).__name__ == type(theirs).__name__ == name[4:]
    assert repr(ours) == repr(theirs)
    assert ours.weight.shape == tuple(theirs.weight.shape)
    assert not hasattr(ours, "has_uninitialized_params")


@pytest.mark.parametrize(("name", "args", "shape"), CASES, ids=lambda v: str(v))
def test_output_and_gradients_match_torch_from_the_same_weights(name, args, shape):
    ours, theirs = _pair(name, args)
    x = np.random.default_rng(1).normal(size=shape)
    theirs.double()(to_torch(x))
    ours.double()(cf.tensor(x))
    ours.load_state_dict(theirs.state_dict())
    xt, xc = to_torch(x, requires_grad=True), cf.tensor(x, requires_grad=True)
    yt, yc = theirs(xt), ours(xc)
    assert_close(yc.detach().numpy(), yt.detach().numpy())
    yt.square().sum().backward()
    (yc * yc).sum().backward()
    assert_close(xc.grad.detach().numpy(), xt.grad.detach().numpy())
    assert_close(ours.weight.grad.detach().numpy(), theirs.weight.grad.detach().numpy())


@pytest.mark.parametrize("name", ["LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d"])
def test_lazy_batchnorm_infers_num_features_and_trains_like_torch(name):
    ours, theirs = getattr(nn, name)(momentum=0.3), getattr(torch.nn, name)(momentum=0.3)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    shape = {"LazyBatchNorm1d": (5, 3), "LazyBatchNorm2d": (4, 3, 2, 2), "LazyBatchNorm3d": (2, 3, 2, 2, 2)}[
        name
    ]
    x = np.random.default_rng(2).normal(size=shape).astype(np.float32)
    yt, yc = theirs(to_torch(x).float()), ours(cf.tensor(x))
    assert type(ours).__name__ == name[4:] and ours.num_features == 3
    assert repr(ours) == repr(theirs)
    assert_close(yc.detach().numpy(), yt.detach().numpy(), dtype=np.float32)
    for key, value in theirs.state_dict().items():
        assert_close(np.asarray(ours.state_dict()[key]), value.detach().numpy(), dtype=np.float32)


def test_batchnorm_with_nothing_to_infer_keeps_num_features_zero_like_torch():
    ours = nn.LazyBatchNorm1d(affine=False, track_running_stats=False)
    theirs = torch.nn.LazyBatchNorm1d(affine=False, track_running_stats=False)
    x = np.random.default_rng(3).normal(size=(4, 3)).astype(np.float32)
    assert_close(
        ours(cf.tensor(x)).detach().numpy(), theirs(torch.from_numpy(x)).detach().numpy(), dtype=np.float32
    )
    assert repr(ours) == repr(theirs)


def test_state_dict_before_the_first_call_holds_placeholders_under_torchs_keys():
    ours, theirs = nn.LazyConv2d(4, 3), torch.nn.LazyConv2d(4, 3)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight", "bias"]
    assert all(isinstance(v, nn.UninitializedParameter) for v in ours.state_dict().values())
    assert repr(ours.weight) == repr(theirs.weight) == "<UninitializedParameter>"
    with pytest.raises(RuntimeError, match="uninitialized"):
        ours.weight.shape  # noqa: B018 - the access is what is tested


def test_optimizer_built_before_the_first_call_updates_the_materialized_weights():
    cf.manual_seed(0)
    model = nn.Sequential(nn.LazyConv2d(3, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(2))
    optimizer = cf.optim.SGD(model.parameters(), lr=0.1)
    x = cf.randn(2, 1, 5, 5)
    model(x).sum().backward()
    before = model[3].weight.detach().numpy().copy()
    optimizer.step()
    assert model[3].weight.shape == (2, 27)
    assert not np.allclose(model[3].weight.detach().numpy(), before)
    assert optimizer.param_groups[0]["params"][2] is model[3].weight


def test_load_state_dict_materializes_placeholders_and_sets_the_inferred_size():
    eager = nn.Linear(3, 4)
    lazy = nn.LazyLinear(4)
    lazy.load_state_dict(eager.state_dict())
    assert lazy.in_features == 3 and lazy.weight.shape == (4, 3)
    assert_close(lazy.weight.detach().numpy(), eager.weight.detach().numpy(), dtype=np.float32)
    x = cf.randn(2, 3)
    assert_close(lazy(x).detach().numpy(), eager(x).detach().numpy(), dtype=np.float32)


def test_double_before_the_first_call_gives_float64_weights():
    lazy = nn.LazyLinear(3).double()
    lazy(cf.tensor(np.ones((2, 5))))
    assert lazy.weight.dtype == np.float64


@pytest.mark.parametrize(
    ("make", "shape", "match"),
    [
        (lambda: nn.LazyConv2d(8, 3), (2, 3, 4, 4, 4), "4D"),
        (lambda: nn.LazyConv2d(8, 3, groups=2), (1, 5, 6, 6), "groups"),
        (lambda: nn.LazyBatchNorm2d(), (3, 4), "4D"),
        (lambda: nn.LazyLinear(4), (), "0-d"),
    ],
)
def test_bad_first_inputs_raise_value_errors_that_name_the_problem(make, shape, match):
    module = make()
    with pytest.raises(ValueError, match=match):
        module(cf.zeros(*shape))
    assert module.has_uninitialized_params()


def test_constructor_signatures_and_defaults_match_torch():
    import inspect

    for name in ["LazyLinear", "LazyConv1d", "LazyConvTranspose2d", "LazyBatchNorm1d"]:
        ours = inspect.signature(getattr(nn, name).__init__).parameters
        theirs = inspect.signature(getattr(torch.nn, name).__init__).parameters
        assert list(ours) == list(theirs)
        assert [p.default for p in ours.values()] == [p.default for p in theirs.values()]


@pytest.mark.parametrize(
    "use", [lambda u: u + 1, lambda u: 2 * u, lambda u: u.sum(), lambda u: np.asarray(u), lambda u: u.numel()]
)
def test_using_a_placeholder_before_the_first_call_is_a_value_error_as_torch(use):
    with pytest.raises(ValueError):
        use(torch.nn.LazyLinear(2).weight)
    with pytest.raises(ValueError, match="uninitialized"):
        use(nn.LazyLinear(2).weight)
