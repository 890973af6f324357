"""cf.optim's Adadelta, RMSprop, Adagrad, Adamax, NAdam and RAdam against torch.optim: the same
5-8-3 MLP, init and batches give the same losses and parameters for 15 steps (float64) for
every option set; state dicts carry torch's buffer names; bad options fail as torch's do."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import convforge as cf
from conftest import assert_close, to_torch

STEPS = 15
SHAPES = [(5, 8), (8,), (8, 3), (3,)]


def run(lib: str, name: str, options: dict, groups=None):
    """Losses and final parameters of STEPS optimizer steps on a fixed MLP regression."""
    rng = np.random.default_rng(3)
    init = [rng.normal(scale=0.5, size=s) for s in SHAPES]
    batches = [(rng.normal(size=(16, 5)), rng.normal(size=(16, 3))) for _ in range(STEPS)]
    wrap = cf.tensor if lib == "cf" else to_torch
    params = [wrap(a, requires_grad=True) for a in init]
    module = cf.optim if lib == "cf" else torch.optim
    grouped = params if groups is None else [{"params": params[:2], **groups[0]}, {"params": params[2:]}]
    optimizer = getattr(module, name)(grouped, **options)
    losses = []
    for x, y in batches:
        optimizer.zero_grad()
        w1, b1, w2, b2 = params
        pred = (wrap(x) @ w1 + b1).relu() @ w2 + b2
        loss = ((pred - wrap(y)) * (pred - wrap(y))).mean()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.item()))
    return np.array(losses), [np.array(p.detach().numpy()) for p in params], optimizer


CASES = [
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.8}),
    ("Adadelta", {"lr": 2.0, "eps": 1e-4, "weight_decay": 0.1}),
    ("Adadelta", {"maximize": True, "rho": 0.95}),
    ("Adadelta", {"foreach": False}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.005, "alpha": 0.9}),
    ("RMSprop", {"lr": 0.005, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.005, "centered": True}),
    ("RMSprop", {"lr": 0.003, "centered": True, "momentum": 0.5, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.003, "eps": 1e-3, "maximize": True}),
    ("RMSprop", {"lr": 0.003, "momentum": 0.7, "foreach": True}),
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.05, "lr_decay": 0.1, "initial_accumulator_value": 0.5}),
    ("Adagrad", {"lr": 0.05, "weight_decay": 0.1, "eps": 1e-6, "maximize": True}),
    ("Adamax", {}),
    ("Adamax", {"lr": 0.01, "betas": (0.8, 0.9), "weight_decay": 0.1}),
    ("Adamax", {"lr": 0.01, "eps": 1e-4, "maximize": True}),
    ("NAdam", {}),
    ("NAdam", {"lr": 0.01, "momentum_decay": 0.01, "betas": (0.8, 0.99)}),
    ("NAdam", {"lr": 0.01, "weight_decay": 0.1}),
    ("NAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True}),
    ("RAdam", {}),
    ("RAdam", {"lr": 0.01, "betas": (0.5, 0.9)}),  # rho_t > 5 from step 3 on: both branches run
    ("RAdam", {"lr": 0.01, "weight_decay": 0.1}),
    ("RAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("Rprop", {}),
    ("Rprop", {"lr": 0.05, "etas": (0.3, 1.5), "step_sizes": (1e-4, 0.2)}),
    ("Rprop", {"lr": 0.02, "maximize": True}),
    ("ASGD", {}),
    (
        "ASGD",
        {"lr": 0.05, "lambd": 0.01, "alpha": 0.5, "t0": 5, "weight_decay": 0.1},
    ),  # averaging from step 6
    ("ASGD", {"lr": 0.05, "t0": 3, "maximize": True}),
]


@pytest.mark.parametrize(("name", "options"), CASES, ids=lambda v: str(v))
def test_trajectory_matches_torch_for_15_steps(name, options):
    cf_losses, cf_params, _ = run("cf", name, options)
    torch_losses, torch_params, _ = run("torch", name, options)
    assert_close(cf_losses, torch_losses, rtol=1e-9)
    for ours, theirs in zip(cf_params, torch_params):
        assert_close(ours, theirs, rtol=1e-9)


@pytest.mark.parametrize(
    ("name", "defaults", "group"),
    [("Adadelta", {"lr": 0.5}, {"rho": 0.5, "lr": 1.0}), ("RMSprop", {"lr": 0.01}, {"momentum": 0.9})],
)
def test_per_group_options_match_torch(name, defaults, group):
    cf_losses, cf_params, _ = run("cf", name, defaults, groups=[group])
    torch_losses, torch_params, _ = run("torch", name, defaults, groups=[group])
    assert_close(cf_losses, torch_losses, rtol=1e-9)
    for ours, theirs in zip(cf_params, torch_params):
        assert_close(ours, theirs, rtol=1e-9)


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("Adadelta", {}),
        ("RMSprop", {"momentum": 0.9, "centered": True}),
        ("RMSprop", {}),
        ("Adagrad", {"lr_decay": 0.01}),
        ("Adamax", {}),
        ("NAdam", {}),
        ("RAdam", {"betas": (0.5, 0.9)}),
        ("Rprop", {}),
        ("ASGD", {"t0": 3}),
    ],
)
def test_state_dict_has_torchs_keys_and_defaults(name, options):
    *_, ours = run("cf", name, options)
    *_, theirs = run("torch", name, options)
    ours_sd, theirs_sd = ours.state_dict(), theirs.state_dict()
    assert set(ours_sd["state"][0]) == set(theirs_sd["state"][0])
    assert ours_sd["param_groups"][0].keys() == theirs_sd["param_groups"][0].keys()
    for key, value in theirs_sd["param_groups"][0].items():
        if key != "params":
            assert ours_sd["param_groups"][0][key] == value, key
    for key, value in theirs_sd["state"][0].items():
        assert_close(np.asarray(ours_sd["state"][0][key]), value.detach().numpy(), rtol=1e-9)


def test_adagrad_state_exists_before_the_first_step_as_torch():
    ours = cf.optim.Adagrad([cf.ones(2, requires_grad=True)], initial_accumulator_value=0.3)
    theirs = torch.optim.Adagrad([torch.ones(2, requires_grad=True)], initial_accumulator_value=0.3)
    assert set(ours.state_dict()["state"][0]) == set(theirs.state_dict()["state"][0]) == {"step", "sum"}
    assert_close(ours.state_dict()["state"][0]["sum"], theirs.state_dict()["state"][0]["sum"].numpy())


@pytest.mark.parametrize(
    "name", ["Adadelta", "RMSprop", "Adagrad", "Adamax", "NAdam", "RAdam", "Rprop", "ASGD"]
)
def test_torch_state_dict_loads_and_continues_identically(name):
    """Three torch steps, then its state dict loaded here: two more steps give torch's parameters."""
    q = torch.ones(3, dtype=torch.float64, requires_grad=True)
    theirs = getattr(torch.optim, name)([q])

    def step(t, opt, k):
        opt.zero_grad()
        ((t - 0.5) * (t - 0.5) * (k + 1.0)).sum().backward()
        opt.step()

    for k in range(3):
        step(q, theirs, k)
    p = cf.tensor(q.detach().numpy().copy(), requires_grad=True)
    ours = getattr(cf.optim, name)([p])
    ours.load_state_dict(theirs.state_dict())
    assert ours.state_dict()["param_groups"] == theirs.state_dict()["param_groups"]
    for k in range(3, 5):
        step(q, theirs, k)
        step(p, ours, k)
    assert_close(p.detach().numpy(), q.detach().numpy(), rtol=1e-12)


@pytest.mark.parametrize(
    ("name", "options", "match"),
    [
        ("Adadelta", {"lr": -1.0}, "lr"),
        ("Adadelta", {"rho": 1.5}, "rho"),
        ("Adadelta", {"eps": -1e-6}, "eps"),
        ("Adadelta", {"weight_decay": -0.1}, "weight_decay"),
        ("RMSprop", {"lr": -0.1}, "lr"),
        ("RMSprop", {"alpha": -0.5}, "alpha"),
        ("RMSprop", {"momentum": -0.5}, "momentum"),
        ("RMSprop", {"eps": -1.0}, "eps"),
        ("RMSprop", {"weight_decay": -1.0}, "weight_decay"),
        ("Adagrad", {"lr_decay": -1.0}, "lr_decay"),
        ("Adagrad", {"initial_accumulator_value": -1.0}, "initial_accumulator_value"),
        ("Adamax", {"betas": (1.0, 0.9)}, "betas"),
        ("NAdam", {"momentum_decay": -1.0}, "momentum_decay"),
        ("RAdam", {"betas": (0.9, -0.1)}, "betas"),
        ("Rprop", {"etas": (1.5, 1.2)}, "etas"),
    ],
)
def test_invalid_options_raise_value_error_like_torch(name, options, match):
    with pytest.raises(ValueError):
        getattr(torch.optim, name)([torch.ones(2, requires_grad=True)], **options)
    with pytest.raises(ValueError, match=match):
        getattr(cf.optim, name)([cf.ones(2, requires_grad=True)], **options)


@pytest.mark.parametrize("name", ["Adadelta", "RMSprop", "Adamax", "NAdam", "RAdam"])
@pytest.mark.parametrize("flag", ["capturable", "differentiable"])
def test_capturable_and_differentiable_are_refused_by_name(name, flag):
    with pytest.raises(ValueError, match=flag):
        getattr(cf.optim, name)([cf.ones(2, requires_grad=True)], **{flag: True})


def test_rmsprop_centered_with_momentum_buffers_have_parameter_shape():
    p = cf.tensor(np.ones((2, 3)), requires_grad=True)
    opt = cf.optim.RMSprop([p], momentum=0.9, centered=True)
    (p * p).sum().backward()
    opt.step()
    assert {k: np.shape(v) for k, v in opt.state[p].items() if k != "step"} == {
        "square_avg": (2, 3),
        "momentum_buffer": (2, 3),
        "grad_avg": (2, 3),
    }


@pytest.mark.parametrize(
    "name", ["Adadelta", "RMSprop", "Adagrad", "Adamax", "NAdam", "RAdam", "Rprop", "LBFGS"]
)
def test_constructor_signatures_and_defaults_match_torch(name):
    import inspect

    ours = inspect.signature(getattr(cf.optim, name).__init__).parameters
    theirs = inspect.signature(getattr(torch.optim, name).__init__).parameters
    assert [(k, v.default, v.kind) for k, v in ours.items()] == [
        (k, v.default, v.kind) for k, v in theirs.items()
    ]


def _lbfgs_run(lib, options, steps=4):
    """L-BFGS with a closure on the MLP regression: losses after each step and final parameters."""
    rng = np.random.default_rng(5)
    init = [rng.normal(scale=0.5, size=s) for s in SHAPES]
    x, y = rng.normal(size=(16, 5)), rng.normal(size=(16, 3))
    wrap = cf.tensor if lib == "cf" else to_torch
    params = [wrap(a, requires_grad=True) for a in init]
    optimizer = (cf.optim if lib == "cf" else torch.optim).LBFGS(params, **options)
    xs, ys = wrap(x), wrap(y)

    def closure():
        optimizer.zero_grad()
        w1, b1, w2, b2 = params
        pred = (xs @ w1 + b1).relu() @ w2 + b2
        loss = ((pred - ys) * (pred - ys)).mean()
        loss.backward()
        return loss

    losses = [optimizer.step(closure).item() for _ in range(steps)]
    return np.array(losses), [p.detach().numpy().copy() for p in params], optimizer


@pytest.mark.parametrize(
    "options",
    [{}, {"lr": 0.5, "max_iter": 5}, {"history_size": 3, "max_iter": 10}, {"max_iter": 7, "max_eval": 5}],
    ids=str,
)
def test_lbfgs_with_a_closure_matches_torch(options):
    cf_losses, cf_params, ours = _lbfgs_run("cf", options)
    torch_losses, torch_params, theirs = _lbfgs_run("torch", options)
    assert_close(cf_losses, torch_losses, rtol=1e-7)
    for a, b in zip(cf_params, torch_params):
        assert_close(a, b, rtol=1e-7)
    ours_state = ours.state[next(iter(ours.state))]
    theirs_state = theirs.state[next(iter(theirs.state))]
    assert (
        ours_state["func_evals"] == theirs_state["func_evals"]
        and ours_state["n_iter"] == theirs_state["n_iter"]
    )


def test_lbfgs_refuses_what_it_does_not_provide():
    p = cf.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="strong_wolfe"):
        cf.optim.LBFGS([p], line_search_fn="strong_wolfe")
    with pytest.raises(ValueError, match="parameter groups"):
        cf.optim.LBFGS([{"params": [p]}, {"params": [cf.ones(1, requires_grad=True)]}])
    with pytest.raises(ValueError, match="closure"):
        cf.optim.LBFGS([p]).step()
