"""Module machinery: registration, traversal, modes, state dicts, containers, init, repr."""

from __future__ import annotations

import copy
from collections import OrderedDict

import numpy as np
import pytest
import torch

import convforge as cf
from conftest import assert_close, to_torch


def build_net(nn):
    """One architecture, written once, built with torch.nn or cf.nn."""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2)
            )
            self.blocks = nn.ModuleList([nn.Conv2d(4, 4, 3, padding=1, bias=False) for _ in range(2)])
            self.heads = nn.ModuleDict({"cls": nn.Linear(64, 3), "aux": nn.Linear(64, 2)})
            self.bn = nn.BatchNorm1d(3)

        def forward(self, x):
            x = self.features(x)
            for block in self.blocks:
                x = block(x).relu()
            return self.bn(self.heads["cls"](x.flatten(1)))

    return Net()


@pytest.fixture
def nets():
    reference = build_net(torch.nn).double()
    net = build_net(cf.nn).double()
    net.load_state_dict(reference.state_dict())
    return net, reference


def test_state_dict_keys_equal_torch(nets):
    net, reference = nets
    assert list(net.state_dict()) == list(reference.state_dict())
    assert "features.1.num_batches_tracked" in net.state_dict()
    assert net.state_dict()["features.1.num_batches_tracked"].dtype == np.int64


def test_traversal_names_equal_torch(nets):
    net, reference = nets
    assert [n for n, _ in net.named_parameters()] == [n for n, _ in reference.named_parameters()]
    assert [n for n, _ in net.named_buffers()] == [n for n, _ in reference.named_buffers()]
    assert [n for n, _ in net.named_modules()] == [n for n, _ in reference.named_modules()]
    assert [n for n, _ in net.named_children()] == [n for n, _ in reference.named_children()]
    assert sum(p.numel() for p in net.parameters()) == sum(p.numel() for p in reference.parameters())
    assert len(list(net.modules())) == len(list(reference.modules()))


def test_repr_equals_torch(nets):
    net, reference = nets
    assert repr(net) == repr(reference)


def test_loaded_torch_weights_give_torch_outputs_and_gradients(nets, rng):
    net, reference = nets
    x = rng.standard_normal((4, 1, 8, 8))
    xc, xt = cf.tensor(x, requires_grad=True), to_torch(x, requires_grad=True)
    yc, yt = net(xc), reference(xt)
    assert_close(yc, yt)
    yc.sum().backward()
    yt.sum().backward()
    assert_close(xc.grad, xt.grad)
    for (name, param), (_, expected) in zip(net.named_parameters(), reference.named_parameters()):
        if expected.grad is None:  # the unused auxiliary head
            assert param.grad is None and name.startswith("heads.aux")
        else:
            assert_close(param.grad, expected.grad)
    for (_, buffer), (_, expected) in zip(net.named_buffers(), reference.named_buffers()):
        assert_close(buffer, expected)


def test_state_dict_round_trips_and_holds_copies(nets):
    net, _ = nets
    state = net.state_dict()
    assert all(isinstance(v, np.ndarray) for v in state.values())
    saved = state["heads.cls.weight"].copy()
    net.heads["cls"].weight.array += 1  # training after the snapshot
    np.testing.assert_array_equal(state["heads.cls.weight"], saved)
    fresh = build_net(cf.nn).double()
    result = fresh.load_state_dict(state)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    for key, value in fresh.state_dict().items():
        np.testing.assert_array_equal(value, state[key])


def test_load_state_dict_accepts_tensors_and_casts_dtype(nets):
    net, reference = nets
    float_net = build_net(cf.nn)  # float32
    float_net.load_state_dict(reference.state_dict())  # torch tensors
    assert float_net.features[0].weight.dtype == np.float32
    float_net.load_state_dict({k: cf.tensor(v) for k, v in net.state_dict().items()})
    np.testing.assert_allclose(
        float_net.features[0].weight.detach().numpy(),
        net.features[0].weight.detach().numpy().astype(np.float32),
    )


def _snapshot(module):
    return {k: v.copy() for k, v in module.state_dict().items()}


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda s: s.pop("heads.aux.bias"), r'Missing key\(s\) in state_dict: "heads.aux.bias"'),
        (lambda s: s.update(extra=np.zeros(2)), r'Unexpected key\(s\) in state_dict: "extra"'),
        (
            lambda s: s.update({"bn.weight": np.zeros(4)}),
            r"size mismatch for bn.weight: copying a param with shape \(4,\)",
        ),
        (lambda s: s.update({"bn.bias": np.array(["a", "b", "c"])}), "must be numeric"),
    ],
)
def test_load_state_dict_errors_name_the_key_and_leave_the_model_unchanged(nets, edit, match):
    net, _ = nets
    state = build_net(cf.nn).double().state_dict()  # other values everywhere
    edit(state)
    before = _snapshot(net)
    with pytest.raises(cf.nn.StateDictError, match=match) as info:
        net.load_state_dict(state)
    assert isinstance(info.value, ValueError) and isinstance(info.value, RuntimeError)
    after = _snapshot(net)
    for key, value in before.items():
        np.testing.assert_array_equal(after[key], value)


def test_load_state_dict_non_strict_reports_keys(nets):
    net, _ = nets
    state = net.state_dict()
    del state["bn.running_var"]
    state["stray.weight"] = np.zeros(1)
    missing, unexpected = net.load_state_dict(state, strict=False)
    assert missing == ["bn.running_var"] and unexpected == ["stray.weight"]
    state["bn.weight"] = np.zeros(5)
    with pytest.raises(ValueError, match="size mismatch for bn.weight"):
        net.load_state_dict(state, strict=False)  # shapes are checked even when not strict


def test_torch_loads_convforge_state_dict(nets, rng):
    net, _ = nets
    for param in net.parameters():
        param.array[...] = rng.standard_normal(param.shape)
    reference = build_net(torch.nn).double()
    reference.load_state_dict({k: torch.from_numpy(v) for k, v in net.state_dict().items()})
    net.eval()
    reference.eval()
    x = rng.standard_normal((2, 1, 8, 8))
    assert_close(net(cf.tensor(x)), reference(to_torch(x)))


def test_train_and_eval_propagate_to_every_submodule(nets):
    net, _ = nets
    assert net.eval() is net
    assert all(not m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError, match="mode must be a bool"):
        net.train("yes")


def test_zero_grad_sets_none_or_zeros(nets):
    net, _ = nets
    net(cf.randn(2, 1, 8, 8, dtype=np.float64)).sum().backward()
    used = [p for name, p in net.named_parameters() if not name.startswith("heads.aux")]
    assert all(p.grad is not None for p in used)
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in used)
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_apply_requires_grad_and_double():
    net = build_net(cf.nn)
    visited = []
    assert net.apply(lambda m: visited.append(type(m).__name__)) is net
    assert visited[-1] == "Net" and visited.count("Conv2d") == 3
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    net.double()
    assert all(p.dtype == np.float64 for p in net.parameters())
    assert net.bn.running_mean.dtype == np.float64 and net.bn.num_batches_tracked.dtype == np.int64
    net.to(cf.float32)
    assert all(p.dtype == np.float32 for p in net.parameters())


def test_setattr_registers_parameters_modules_and_buffers():
    module = cf.nn.Module()
    module.weight = cf.nn.Parameter(np.ones(3))
    module.child = cf.nn.Linear(2, 2)
    module.register_buffer("steps", cf.tensor(0))
    module.register_buffer("scratch", np.zeros(2), persistent=False)
    module.plain = np.zeros(1)
    assert [n for n, _ in module.named_parameters()] == ["weight", "child.weight", "child.bias"]
    assert list(module.state_dict()) == ["weight", "steps", "child.weight", "child.bias"]
    assert [n for n, _ in module.named_buffers()] == ["steps", "scratch"]
    module.steps = np.array(5)  # assigning to a buffer name keeps it a buffer
    assert isinstance(module.steps, cf.Tensor) and module.state_dict()["steps"] == 5
    with pytest.raises(TypeError, match="cannot assign 'ndarray' as parameter 'weight'"):
        module.weight = np.zeros(3)
    module.weight = None
    assert "weight" not in module.state_dict()
    del module.child
    assert list(module.named_children()) == []
    with pytest.raises(KeyError, match="already exists"):
        module.register_buffer("plain", None)
    with pytest.raises(KeyError, match='contain "\\."'):
        module.register_parameter("a.b", None)
    with pytest.raises(TypeError, match="Tensor or None required"):
        module.register_buffer("bad", "text")


def test_assigning_before_init_fails():
    class Broken(cf.nn.Module):
        def __init__(self):
            self.weight = cf.nn.Parameter(np.ones(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Broken()


def test_shared_parameters_are_listed_once():
    shared = cf.nn.Linear(3, 3)
    net = cf.nn.Sequential(shared, cf.nn.ReLU(), shared)
    assert len(list(net.parameters())) == 2
    assert list(net.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]  # as torch
    assert len(list(net.named_modules())) == 3


def test_forward_hooks_see_and_may_replace_outputs():
    net = cf.nn.Sequential(cf.nn.Linear(2, 3), cf.nn.ReLU())
    seen = []
    handle = net[0].register_forward_hook(lambda m, args, out: seen.append(out.shape))
    pre = net[1].register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    y = net(cf.ones(4, 2))
    assert seen == [(4, 3)] and not y.detach().numpy().any()
    handle.remove()
    pre.remove()
    net(cf.ones(4, 2))
    assert seen == [(4, 3)]


def test_module_without_forward_says_so():
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        cf.nn.Module()(1)


def test_deepcopy_gives_an_independent_module(nets):
    net, _ = nets
    clone = copy.deepcopy(net)
    clone.bn.weight.array += 1
    assert not np.array_equal(clone.bn.weight.detach().numpy(), net.bn.weight.detach().numpy())


# ---- containers ----------------------------------------------------------------------
def test_sequential_indexing_slicing_and_editing():
    layers = [cf.nn.Linear(2, 2), cf.nn.ReLU(), cf.nn.Linear(2, 1)]
    net = cf.nn.Sequential(*layers)
    assert len(net) == 3 and net[0] is layers[0] and net[-1] is layers[2]
    head = net[1:]
    assert isinstance(head, cf.nn.Sequential) and list(head._modules) == ["1", "2"]  # keys kept
    net.append(cf.nn.Sigmoid())
    assert list(net._modules) == ["0", "1", "2", "3"]
    del net[1]
    assert list(net._modules) == ["0", "1", "2"] and isinstance(net[1], cf.nn.Linear)
    net[0] = cf.nn.Identity()
    assert isinstance(net[0], cf.nn.Identity)
    with pytest.raises(IndexError):
        net[5]
    named = cf.nn.Sequential(OrderedDict(conv=cf.nn.Conv2d(1, 1, 1), act=cf.nn.ReLU()))
    assert list(named.state_dict()) == ["conv.weight", "conv.bias"]


def test_sequential_slicing_matches_torch():
    def make(nn):
        return nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1), nn.Sigmoid())

    assert repr(make(cf.nn)[1:3]) == repr(make(torch.nn)[1:3])


def test_module_list_and_dict():
    blocks = cf.nn.ModuleList([cf.nn.ReLU() for _ in range(3)])
    blocks.append(cf.nn.Linear(2, 2))
    blocks.insert(0, cf.nn.Tanh())
    assert len(blocks) == 5 and isinstance(blocks[0], cf.nn.Tanh) and isinstance(blocks[-1], cf.nn.Linear)
    assert list(blocks.state_dict()) == ["4.weight", "4.bias"]
    assert isinstance(blocks[1:3], cf.nn.ModuleList) and len(blocks[1:3]) == 2
    heads = cf.nn.ModuleDict({"a": cf.nn.Linear(1, 1)})
    heads["b"] = cf.nn.Linear(1, 2)
    assert list(heads) == ["a", "b"] and "b" in heads and len(heads) == 2
    assert heads.pop("a") is not None and list(heads.keys()) == ["b"]


def test_module_list_repr_compresses_repeats_as_torch():
    def make(nn):
        return nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2), nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2)])

    assert repr(make(cf.nn)) == repr(make(torch.nn))
    assert repr(cf.nn.ModuleList()) == repr(torch.nn.ModuleList())


# ---- init ----------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(5, 3), (6, 4, 3), (8, 2, 3, 3), (4, 2, 1, 2, 3)])
def test_fan_computation_matches_torch(shape):
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert cf.nn.init.calculate_fan_in_and_fan_out(cf.zeros(shape)) == expected


@pytest.mark.parametrize(
    ("name", "param"), [("linear", None), ("relu", None), ("tanh", None), ("leaky_relu", 0.2), ("selu", None)]
)
def test_calculate_gain_matches_torch(name, param):
    assert cf.nn.init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param))


@pytest.mark.parametrize(
    ("fill", "std", "bound"),
    [
        (lambda t: cf.nn.init.kaiming_uniform_(t, a=np.sqrt(5)), None, 1 / np.sqrt(90)),
        (lambda t: cf.nn.init.kaiming_uniform_(t, nonlinearity="relu"), None, np.sqrt(6 / 90)),
        (
            lambda t: cf.nn.init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu"),
            np.sqrt(2 / 180),
            None,
        ),
        (lambda t: cf.nn.init.xavier_uniform_(t, gain=2.0), None, 2 * np.sqrt(6 / 270)),
        (lambda t: cf.nn.init.xavier_normal_(t), np.sqrt(2 / 270), None),
        (lambda t: cf.nn.init.uniform_(t, -0.5, 0.25), None, 0.5),
        (lambda t: cf.nn.init.normal_(t, 0.0, 0.3), 0.3, None),
    ],
)
def test_initializers_follow_torch_formulas(fill, std, bound):
    weight = cf.zeros(20, 10, 3, 3)  # fan_in 90, fan_out 180
    cf.manual_seed(3)
    assert fill(weight) is weight
    values = weight.numpy()
    if bound is not None:
        assert np.abs(values).max() <= bound and np.abs(values).max() > 0.95 * bound
    if std is not None:
        assert values.std() == pytest.approx(std, rel=0.05)


def test_manual_seed_makes_initialization_reproducible():
    cf.manual_seed(42)
    first = cf.nn.Conv2d(3, 8, 3).state_dict()
    cf.manual_seed(42)
    second = cf.nn.Conv2d(3, 8, 3).state_dict()
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])
    assert cf.initial_seed() == 42


def test_constant_initializers():
    weight = cf.zeros(2, 3)
    cf.nn.init.constant_(weight, 0.5)
    assert (weight.numpy() == 0.5).all()
    cf.nn.init.ones_(weight)
    assert (weight.numpy() == 1).all()
    cf.nn.init.zeros_(weight)
    assert not weight.numpy().any()
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        cf.nn.init.xavier_uniform_(cf.zeros(3))
