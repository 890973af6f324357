"""nn.init's initializers, nn.parallel and the Module API additions against torch 2.13:
deterministic initializers give torch's values, random ones torch's distribution and
structure; DataParallel keeps torch's state dict keys; hooks with kwargs, prepend and
always_call; get_parameter/get_buffer; load_state_dict(assign=True)."""

from __future__ import annotations

import inspect
import math
import warnings

import numpy as np
import pytest
import torch

import convforge as cf
from conftest import assert_close

init, tinit = cf.nn.init, torch.nn.init


@pytest.mark.parametrize(
    ("nonlinearity", "param"),
    [("linear", None), ("conv2d", None), ("conv_transpose3d", None), ("sigmoid", None), ("tanh", None),
     ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None)],
)  # fmt: skip
def test_calculate_gain_matches_torch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == tinit.calculate_gain(nonlinearity, param)


@pytest.mark.parametrize("shape", [(3, 3), (2, 5), (5, 2)])
def test_eye_matches_torch(shape):
    ours = init.eye_(cf.zeros(*shape))
    np.testing.assert_array_equal(ours.detach().numpy(), tinit.eye_(torch.zeros(shape)).detach().numpy())


@pytest.mark.parametrize(
    ("shape", "groups"), [((4, 3, 3), 1), ((6, 2, 3, 3), 2), ((4, 4, 3, 3, 3), 1), ((2, 5, 2, 2), 1)]
)
def test_dirac_matches_torch_and_a_conv_with_it_copies_its_input(shape, groups):
    ours = init.dirac_(cf.zeros(*shape), groups)
    np.testing.assert_array_equal(
        ours.detach().numpy(), tinit.dirac_(torch.zeros(shape), groups).detach().numpy()
    )
    if shape == (4, 4, 3, 3, 3):
        x = cf.randn(1, 4, 5, 5, 5)
        assert_close(
            cf.nn.functional.conv3d(x, ours, padding=1).detach().numpy(), x.detach().numpy(), dtype=np.float32
        )


@pytest.mark.parametrize("shape", [(4, 4), (3, 6), (6, 3), (8, 2, 3, 3)])
def test_orthogonal_gives_orthonormal_rows_or_columns_times_gain(shape):
    cf.manual_seed(0)
    w = init.orthogonal_(cf.zeros(*shape, dtype=cf.float64), gain=2.0).detach().numpy().reshape(shape[0], -1)
    small = min(w.shape)
    gram = w @ w.T if w.shape[0] == small else w.T @ w
    assert_close(gram, 4.0 * np.eye(small))


def test_trunc_normal_stays_in_bounds_with_the_truncated_moments():
    cf.manual_seed(1)
    w = (
        init.trunc_normal_(cf.zeros(200_000, dtype=cf.float64), mean=0.5, std=2.0, a=-1.0, b=3.0)
        .detach()
        .numpy()
    )
    assert w.min() >= -1.0 and w.max() <= 3.0
    from scipy import stats

    dist = stats.truncnorm((-1.0 - 0.5) / 2.0, (3.0 - 0.5) / 2.0, loc=0.5, scale=2.0)
    assert abs(w.mean() - dist.mean()) < 0.01 and abs(w.std() - dist.std()) < 0.01


def test_trunc_normal_warns_like_torch_when_the_mean_is_far_outside():
    with pytest.warns(UserWarning, match="2 std"):
        tinit.trunc_normal_(torch.zeros(3), mean=10.0)
    with pytest.warns(UserWarning, match="2 std"):
        init.trunc_normal_(cf.zeros(3), mean=10.0)


def test_sparse_zeroes_ceil_sparsity_rows_per_column():
    cf.manual_seed(2)
    w = init.sparse_(cf.zeros(10, 6), sparsity=0.25, std=0.5).detach().numpy()
    assert ((w == 0).sum(axis=0) == math.ceil(0.25 * 10)).all()


def test_initializers_follow_manual_seed():
    cf.manual_seed(3)
    a = init.orthogonal_(cf.zeros(4, 5)).detach().numpy().copy()
    cf.manual_seed(3)
    np.testing.assert_array_equal(init.orthogonal_(cf.zeros(4, 5)).detach().numpy(), a)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: init.orthogonal_(cf.zeros(3)), "2 or more"),
        (lambda: init.eye_(cf.zeros(2, 2, 2)), "2-D"),
        (lambda: init.sparse_(cf.zeros(3), 0.1), "2-D"),
        (lambda: init.dirac_(cf.zeros(3, 3)), "3, 4, or 5"),
        (lambda: init.dirac_(cf.zeros(3, 3, 3), groups=2), "groups"),
    ],
)
def test_initializers_reject_what_torch_rejects(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize(
    "name",
    [
        "uniform",
        "normal",
        "constant",
        "eye",
        "dirac",
        "xavier_uniform",
        "kaiming_normal",
        "orthogonal",
        "sparse",
    ],
)
def test_deprecated_spellings_warn_and_delegate_as_torch(name):
    args = {"constant": (0.5,), "sparse": (0.1,)}.get(name, ())
    shape = (3, 3, 3) if name == "dirac" else (3, 3)
    with pytest.warns(FutureWarning, match=f"{name}_"):
        getattr(init, name)(cf.zeros(*shape), *args)


@pytest.mark.parametrize("name", [n for n in dir(tinit) if n.endswith("_") and not n.startswith("_")])
def test_every_torch_initializer_exists_with_torchs_signature(name):
    ours = inspect.signature(getattr(init, name)).parameters
    theirs = inspect.signature(getattr(tinit, name)).parameters
    assert [(k, v.default) for k, v in ours.items()] == [(k, v.default) for k, v in theirs.items()]


# ---- nn.parallel ---------------------------------------------------------------------
def test_data_parallel_wraps_with_torchs_state_dict_keys_and_repr():
    torch_model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    ours = cf.nn.DataParallel(cf.nn.Sequential(cf.nn.Linear(3, 4), cf.nn.BatchNorm1d(4)), device_ids=[0, 1])
    theirs = torch.nn.DataParallel(torch_model, device_ids=[0, 1])
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    assert ours.device_ids == theirs.device_ids == []
    ours.load_state_dict(theirs.state_dict())
    theirs.eval(), ours.eval()
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    assert_close(
        ours(cf.tensor(x)).detach().numpy(), theirs(torch.from_numpy(x)).detach().numpy(), dtype=np.float32
    )


def test_data_parallel_function_runs_the_module_on_the_cpu():
    model = cf.nn.Linear(2, 3)
    x = cf.randn(4, 2)
    assert_close(
        cf.nn.parallel.data_parallel(model, x).detach().numpy(), model(x).detach().numpy(), dtype=np.float32
    )
    assert_close(
        cf.nn.parallel.data_parallel(model, (x,), device_ids=[0]).detach().numpy(),
        model(x).detach().numpy(),
        dtype=np.float32,
    )


def test_data_parallel_signatures_match_torch():
    for ours, theirs in ((cf.nn.DataParallel.__init__, torch.nn.DataParallel.__init__),
                         (cf.nn.parallel.data_parallel, torch.nn.parallel.data_parallel)):  # fmt: skip
        a, b = inspect.signature(ours).parameters, inspect.signature(theirs).parameters
        assert [(k, v.default) for k, v in a.items()] == [(k, v.default) for k, v in b.items()]


def test_data_parallel_refuses_a_non_module():
    with pytest.raises(TypeError, match="Module"):
        cf.nn.DataParallel(lambda x: x)


# ---- Module API ----------------------------------------------------------------------
def test_forward_hooks_with_kwargs_prepend_and_always_call_run_as_torchs():
    class Scale(cf.nn.Module):
        def forward(self, x, factor=1.0):
            if factor < 0:
                raise ValueError("negative")
            return x * factor

    calls = []
    module = Scale()
    module.register_forward_hook(lambda m, a, out: calls.append("plain"))
    module.register_forward_hook(lambda m, a, kw, out: calls.append(("kwargs", kw)), with_kwargs=True)
    module.register_forward_hook(lambda m, a, out: calls.append("first"), prepend=True)
    module.register_forward_pre_hook(lambda m, a, kw: (a, {"factor": 3.0}), with_kwargs=True)
    y = module(cf.ones(2), factor=2.0)
    assert y.detach().numpy().tolist() == [3.0, 3.0]
    assert calls == ["first", "plain", ("kwargs", {"factor": 3.0})]
    handle = Scale().register_forward_hook(lambda m, a, out: None)
    handle.remove()
    failing, seen = Scale(), []
    failing.register_forward_hook(lambda m, a, out: seen.append(out), always_call=True)
    with pytest.raises(ValueError):
        failing(cf.ones(2), factor=-1.0)
    assert seen == [None]


def test_get_parameter_and_get_buffer_follow_dotted_paths():
    model = cf.nn.Sequential(cf.nn.Conv2d(1, 2, 3), cf.nn.BatchNorm2d(2))
    assert model.get_parameter("0.weight") is model[0].weight
    assert model.get_buffer("1.running_mean") is model[1].running_mean
    with pytest.raises(AttributeError, match="no parameter"):
        model.get_parameter("0.missing")


def test_load_state_dict_assign_takes_the_saved_dtype_and_keeps_the_parameter_objects():
    model = cf.nn.Linear(2, 3)
    weight = model.weight
    state = {k: np.asarray(v, dtype=np.float64) for k, v in cf.nn.Linear(2, 3).state_dict().items()}
    model.load_state_dict(state, assign=True)
    assert model.weight is weight and model.weight.dtype == np.float64
    np.testing.assert_array_equal(model.weight.detach().numpy(), state["weight"])


def test_module_api_surface_matches_torch_for_common_methods():
    for name in ["apply", "add_module", "register_module", "register_buffer", "named_modules", "children",
                 "modules", "zero_grad", "requires_grad_", "train", "eval", "extra_repr", "get_submodule",
                 "get_parameter", "get_buffer", "register_forward_hook", "register_forward_pre_hook",
                 "load_state_dict", "named_parameters", "named_buffers", "share_memory"]:  # fmt: skip
        ours = inspect.signature(getattr(cf.nn.Module, name)).parameters
        theirs = inspect.signature(getattr(torch.nn.Module, name)).parameters
        assert list(ours) == list(theirs), name
    # torch's state_dict takes a deprecated *args before its keywords; the keywords agree
    assert list(inspect.signature(cf.nn.Module.state_dict).parameters) == [
        "self",
        "destination",
        "prefix",
        "keep_vars",
    ]


def test_init_functions_write_through_parameters_in_place():
    model = cf.nn.Linear(3, 3)
    before = model.weight
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        init.eye_(model.weight)
    assert model.weight is before
    np.testing.assert_array_equal(model.weight.detach().numpy(), np.eye(3, dtype=np.float32))


def test_nn_buffer_assignment_registers_buffers_as_torch():
    def build(lib):
        class Model(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.kept = lib.nn.Buffer(lib.ones(2))
                self.scratch = lib.nn.Buffer(lib.zeros(3), persistent=False)

        return Model()

    ours, theirs = build(cf), build(torch)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["kept"]
    assert (
        [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()] == ["kept", "scratch"]
    )
    assert type(ours.kept) is cf.Tensor and type(theirs.kept) is torch.Tensor
    ours.double()
    assert ours.kept.dtype == np.float64
