"""cf.optim against torch.optim: the same tiny MLP, init and batches give the same losses,
parameters and learning rates for 20 steps (float64), for every optimizer option set and
every scheduler; state dicts round-trip and interoperate with torch's."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import convforge as cf
from conftest import assert_close, to_torch
from convforge.optim import lr_scheduler as cf_sched

STEPS = 20
RTOL = 1e-8  # float64: round-off only (the issue asks for 1e-5)
SHAPES = [(5, 8), (8,), (8, 3), (3,)]  # w1, b1, w2, b2 of a 5-8-3 MLP


def make_problem(seed: int = 0):
    rng = np.random.default_rng(seed)
    init = [rng.normal(scale=0.5, size=s) for s in SHAPES]
    batches = [(rng.normal(size=(16, 5)), rng.normal(size=(16, 3))) for _ in range(STEPS)]
    return init, batches


def mlp_loss(params, x, y):
    """mean((relu(x @ w1 + b1) @ w2 + b2 - y)^2), written with ops both libraries share."""
    w1, b1, w2, b2 = params
    pred = (x @ w1 + b1).relu() @ w2 + b2
    return ((pred - y) * (pred - y)).mean()


def group_params(params, groups):
    """Split [w1, b1, w2, b2] into param groups: None -> a plain list."""
    if groups is None:
        return params
    return [{"params": params[:2], **groups[0]}, {"params": params[2:], **groups[1]}]


def train(lib, make_optimizer, make_scheduler=None, groups=None, seed=0, steps=STEPS):
    """Losses, final parameters and learning rates of `steps` steps, in cf or torch."""
    init, batches = make_problem(seed)
    if lib == "cf":
        params = [cf.tensor(a, requires_grad=True) for a in init]
        wrap = cf.tensor
    else:
        params = [to_torch(a, requires_grad=True) for a in init]
        wrap = to_torch
    optimizer = make_optimizer(group_params(params, groups))
    scheduler = make_scheduler(optimizer) if make_scheduler else None
    losses, lrs = [], []
    for x, y in batches[:steps]:
        optimizer.zero_grad()
        loss = mlp_loss(params, wrap(x), wrap(y))
        loss.backward()
        optimizer.step()
        losses.append(float(loss.item()))
        if scheduler is not None:
            scheduler.step()
            lrs.append(list(scheduler.get_last_lr()))
    return (
        np.array(losses),
        [np.array(p.detach().numpy() if lib == "torch" else p.array) for p in params],
        lrs,
    )


def case_id(value) -> str:
    """A deterministic test id (xdist workers must agree): callables by name."""
    if isinstance(value, dict):
        return ",".join(f"{k}={case_id(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(case_id(v) for v in value) + "]"
    return getattr(value, "__name__", str(value))


def assert_same_run(cf_run, torch_run):
    cf_losses, cf_params, cf_lrs = cf_run
    torch_losses, torch_params, torch_lrs = torch_run
    assert_close(cf_losses, torch_losses, rtol=RTOL)
    for ours, theirs in zip(cf_params, torch_params):
        assert_close(ours, theirs, rtol=RTOL)
    np.testing.assert_allclose(np.array(cf_lrs, dtype=float), np.array(torch_lrs, dtype=float), rtol=1e-12)


OPTIMIZER_CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.5}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.1, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "weight_decay": 0.05, "nesterov": True}),
    ("SGD", {"lr": 0.01, "momentum": 0.5, "maximize": True}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01, "amsgrad": True}),
    ("Adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.05, "maximize": True}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.2, "amsgrad": True}),
    ("AdamW", {"lr": 0.01, "betas": (0.5, 0.9), "maximize": True}),
]


@pytest.mark.parametrize(("name", "options"), OPTIMIZER_CASES, ids=case_id)
def test_optimizer_matches_torch_for_20_steps(name, options):
    cf_run = train("cf", lambda p: getattr(cf.optim, name)(p, **options))
    torch_run = train("torch", lambda p: getattr(torch.optim, name)(p, **options))
    assert_same_run(cf_run, torch_run)


@pytest.mark.parametrize(
    ("name", "defaults", "groups"),
    [
        ("SGD", {"lr": 0.05}, [{"momentum": 0.9}, {"lr": 0.1, "weight_decay": 0.01}]),
        ("Adam", {"lr": 0.01}, [{"amsgrad": True}, {"lr": 0.02, "betas": (0.8, 0.9)}]),
        ("AdamW", {"lr": 0.01}, [{"weight_decay": 0.0}, {"weight_decay": 0.3}]),
    ],
)
def test_per_group_options_match_torch(name, defaults, groups):
    cf_run = train("cf", lambda p: getattr(cf.optim, name)(p, **defaults), groups=groups)
    torch_run = train("torch", lambda p: getattr(torch.optim, name)(p, **defaults), groups=groups)
    assert_same_run(cf_run, torch_run)


def _decay(epoch):
    return 1.0 / (1.0 + 0.3 * epoch)


SCHEDULER_CASES = [
    ("StepLR", {"step_size": 3, "gamma": 0.5}, None),
    ("MultiStepLR", {"milestones": [2, 5, 5, 9], "gamma": 0.5}, None),
    ("ExponentialLR", {"gamma": 0.9}, None),
    ("CosineAnnealingLR", {"T_max": 6, "eta_min": 0.001}, None),  # 20 steps: past T_max, rising again
    ("CosineAnnealingLR", {"T_max": 20}, None),
    ("LambdaLR", {"lr_lambda": _decay}, None),
    ("LambdaLR", {"lr_lambda": [_decay, lambda e: 0.95**e]}, [{}, {"lr": 0.2}]),
    ("StepLR", {"step_size": 4, "gamma": 0.3}, [{}, {"lr": 0.2}]),
]


@pytest.mark.parametrize(("name", "options", "groups"), SCHEDULER_CASES, ids=case_id)
@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_scheduler_matches_torch_for_20_steps(name, options, groups, optimizer):
    opt_options = {"lr": 0.1, "momentum": 0.9} if optimizer == "SGD" else {"lr": 0.02}

    def run(lib):
        optim = cf.optim if lib == "cf" else torch.optim
        sched = cf_sched if lib == "cf" else torch.optim.lr_scheduler
        return train(
            lib,
            lambda p: getattr(optim, optimizer)(p, **opt_options),
            lambda o: getattr(sched, name)(o, **options),
            groups=groups,
        )

    assert_same_run(run("cf"), run("torch"))


def _lr_trace(lib, name, options, epochs):
    """lr after scheduler.step(epoch) for each epoch, in cf or torch."""
    param = cf.tensor(np.zeros(2), requires_grad=True) if lib == "cf" else torch.zeros(2, requires_grad=True)
    optim = cf.optim if lib == "cf" else torch.optim
    sched = cf_sched if lib == "cf" else torch.optim.lr_scheduler
    scheduler = getattr(sched, name)(optim.SGD([param], lr=0.1), **options)
    trace = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch deprecates step(epoch)
        for epoch in epochs:
            scheduler.step(epoch)
            trace.append(scheduler.get_last_lr()[0])
    return trace


@pytest.mark.parametrize(
    ("name", "options", "groups"), [c for c in SCHEDULER_CASES if c[2] is None], ids=case_id
)
def test_scheduler_step_to_epoch_uses_torchs_closed_form(name, options, groups):
    epochs = [3, 7, 4, 12, 0, 19]
    np.testing.assert_allclose(
        _lr_trace("cf", name, options, epochs), _lr_trace("torch", name, options, epochs), rtol=1e-12
    )


def test_cosine_closed_form_values():
    param = cf.tensor(np.zeros(2), requires_grad=True)
    scheduler = cf_sched.CosineAnnealingLR(cf.optim.SGD([param], lr=1.0), T_max=4, eta_min=0.2)
    lrs = [scheduler.get_last_lr()[0]]
    for _ in range(4):
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
    expected = [0.2 + 0.8 * (1 + math.cos(math.pi * t / 4)) / 2 for t in range(5)]
    np.testing.assert_allclose(lrs, expected, rtol=1e-12)


@pytest.mark.parametrize(
    ("name", "options", "groups"), [c for c in SCHEDULER_CASES if c[2] is None], ids=case_id
)
def test_scheduler_resumes_from_state_dict(name, options, groups):
    def fresh():
        param = cf.tensor(np.zeros(2), requires_grad=True)
        optimizer = cf.optim.SGD([param], lr=0.1)
        return optimizer, getattr(cf_sched, name)(optimizer, **options)

    optimizer, scheduler = fresh()
    for _ in range(7):
        scheduler.step()
    saved_opt, saved_sched = optimizer.state_dict(), scheduler.state_dict()
    expected = []
    for _ in range(8):
        scheduler.step()
        expected.append(scheduler.get_last_lr())
    optimizer, scheduler = fresh()
    optimizer.load_state_dict(saved_opt)
    scheduler.load_state_dict(saved_sched)
    resumed = []
    for _ in range(8):
        scheduler.step()
        resumed.append(scheduler.get_last_lr())
    assert resumed == expected


def test_scheduler_state_dict_has_torchs_keys():
    param = cf.tensor(np.zeros(2), requires_grad=True)
    tparam = torch.zeros(2, requires_grad=True)
    ours = cf_sched.StepLR(cf.optim.SGD([param], lr=0.1), step_size=3).state_dict()
    theirs = torch.optim.lr_scheduler.StepLR(torch.optim.SGD([tparam], lr=0.1), step_size=3).state_dict()
    assert set(ours) <= set(theirs)
    assert {
        k: ours[k] for k in ("step_size", "gamma", "base_lrs", "last_epoch", "_step_count", "_last_lr")
    } == {k: theirs[k] for k in ("step_size", "gamma", "base_lrs", "last_epoch", "_step_count", "_last_lr")}


def test_scheduler_with_last_epoch_needs_initial_lr():
    param = cf.tensor(np.zeros(2), requires_grad=True)
    with pytest.raises(ValueError, match="initial_lr"):
        cf_sched.StepLR(cf.optim.SGD([param], lr=0.1), step_size=2, last_epoch=3)


# ---- state dicts ----------------------------------------------------------------------
@pytest.mark.parametrize(("name", "options"), OPTIMIZER_CASES[1::2], ids=case_id)
def test_state_dict_round_trip_resumes_training_exactly(name, options):
    """10 steps, save, a fresh optimizer loads the state, 10 more == 20 uninterrupted."""
    init, batches = make_problem()
    full = train("cf", lambda p: getattr(cf.optim, name)(p, **options))

    params = [cf.tensor(a, requires_grad=True) for a in init]
    optimizer = getattr(cf.optim, name)(params, **options)

    def run(optimizer, batches):
        losses = []
        for x, y in batches:
            optimizer.zero_grad()
            loss = mlp_loss(params, cf.tensor(x), cf.tensor(y))
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        return losses

    losses = run(optimizer, batches[:10])
    state = optimizer.state_dict()
    restored = getattr(cf.optim, name)(params, lr=123.0)  # options come from the state
    restored.load_state_dict(state)
    losses += run(restored, batches[10:])
    np.testing.assert_array_equal(losses, full[0])
    for ours, expected in zip(params, full[1]):
        np.testing.assert_array_equal(ours.array, expected)


def _torch_state(state_dict):
    """A cf optimizer state dict with arrays made torch tensors."""
    return {
        "state": {
            k: {n: torch.from_numpy(v.copy()) if isinstance(v, np.ndarray) else v for n, v in s.items()}
            for k, s in state_dict["state"].items()
        },
        "param_groups": state_dict["param_groups"],
    }


@pytest.mark.parametrize(
    ("name", "options"), [("SGD", {"lr": 0.05, "momentum": 0.9}), ("Adam", {"lr": 0.01, "amsgrad": True})]
)
@pytest.mark.parametrize("direction", ["torch_to_cf", "cf_to_torch"])
def test_state_dict_interoperates_with_torch(name, options, direction):
    """Train 10 steps in one library, continue 10 in the other from its state dict."""
    init, batches = make_problem()
    expected = train("torch", lambda p: getattr(torch.optim, name)(p, **options))
    first, second = ("torch", "cf") if direction == "torch_to_cf" else ("cf", "torch")
    params = {"cf": [cf.tensor(a, requires_grad=True) for a in init], "torch": None}
    params["torch"] = [to_torch(a, requires_grad=True) for a in init]
    wrap = {"cf": cf.tensor, "torch": to_torch}
    libs = {"cf": cf.optim, "torch": torch.optim}
    losses = []

    def run(lib, optimizer, part):
        for x, y in part:
            optimizer.zero_grad()
            loss = mlp_loss(params[lib], wrap[lib](x), wrap[lib](y))
            loss.backward()
            optimizer.step()
            losses.append(loss.item())

    optimizer = getattr(libs[first], name)(params[first], **options)
    run(first, optimizer, batches[:10])
    for src, dst in zip(params[first], params[second]):  # carry the weights over
        data = src.detach().numpy() if first == "torch" else src.array
        if second == "torch":
            with torch.no_grad():
                dst.copy_(torch.from_numpy(data.copy()))
        else:
            dst.data[...] = data
    state = optimizer.state_dict()
    optimizer = getattr(libs[second], name)(params[second], **options)
    optimizer.load_state_dict(_torch_state(state) if second == "torch" else state)
    run(second, optimizer, batches[10:])
    assert_close(np.array(losses), expected[0], rtol=RTOL)


def test_state_dict_structure_matches_torch():
    init, _ = make_problem()
    ours = cf.optim.Adam([cf.tensor(a, requires_grad=True) for a in init], lr=0.01)
    theirs = torch.optim.Adam([to_torch(a, requires_grad=True) for a in init], lr=0.01)
    for opt, params in ((ours, ours.param_groups[0]["params"]), (theirs, theirs.param_groups[0]["params"])):
        for p in params[:3]:  # the last parameter gets no gradient, hence no state
            p.grad = cf.tensor(np.ones(p.shape)) if opt is ours else torch.ones(p.shape, dtype=torch.float64)
        opt.step()
    ours_sd, theirs_sd = ours.state_dict(), theirs.state_dict()
    assert ours_sd["state"].keys() == theirs_sd["state"].keys() == {0, 1, 2}
    assert ours_sd["state"][0].keys() == theirs_sd["state"][0].keys()
    assert ours_sd["param_groups"][0]["params"] == theirs_sd["param_groups"][0]["params"]
    assert set(ours_sd["param_groups"][0]) <= set(theirs_sd["param_groups"][0])
    for key in ("exp_avg", "exp_avg_sq"):
        assert_close(ours_sd["state"][1][key], theirs_sd["state"][1][key])


def test_load_state_dict_rejects_mismatched_groups_and_shapes():
    a, b = (cf.tensor(np.zeros(3), requires_grad=True) for _ in range(2))
    source = cf.optim.SGD([a, b], lr=0.1, momentum=0.9)
    for p in (a, b):
        p.grad = cf.tensor(np.ones(3))
    source.step()
    with pytest.raises(ValueError, match="2 parameters in the state, but 1"):
        cf.optim.SGD([a], lr=0.1).load_state_dict(source.state_dict())
    c = cf.tensor(np.zeros(4), requires_grad=True)
    target = cf.optim.SGD([a, c], lr=0.1, momentum=0.9)
    before = target.state_dict()
    with pytest.raises(ValueError, match="shape"):
        target.load_state_dict(source.state_dict())
    assert target.state_dict()["param_groups"] == before["param_groups"]
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        target.load_state_dict({"lr": 0.1})


# ---- behaviour ------------------------------------------------------------------------
@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad(set_to_none):
    p = cf.tensor(np.ones(3), requires_grad=True)
    (p * 2).sum().backward()
    cf.optim.SGD([p], lr=0.1).zero_grad(set_to_none=set_to_none)
    if set_to_none:
        assert p.grad is None
    else:
        np.testing.assert_array_equal(p.grad.array, np.zeros(3))


def test_parameters_without_grad_are_skipped():
    p, q = cf.tensor(np.ones(3), requires_grad=True), cf.tensor(np.ones(2), requires_grad=True)
    optimizer = cf.optim.Adam([p, q], lr=0.1)
    (p * p).sum().backward()
    optimizer.step()
    np.testing.assert_array_equal(q.array, np.ones(2))
    assert q not in optimizer.state and p in optimizer.state


def test_step_calls_closure_and_returns_its_loss():
    p = cf.tensor(np.array([3.0]), requires_grad=True)
    optimizer = cf.optim.SGD([p], lr=0.25)

    def closure():
        optimizer.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    loss = optimizer.step(closure)
    assert loss.item() == 9.0
    np.testing.assert_allclose(p.array, [1.5])


def test_float32_parameters_stay_float32():
    p = cf.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    for optimizer in (cf.optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.1), cf.optim.AdamW([p])):
        (p * p).sum().backward()
        optimizer.step()
        optimizer.zero_grad()
        assert p.dtype == np.float32
        assert all(
            v.dtype == np.float32 for s in optimizer.state.values() for v in s.values() if hasattr(v, "dtype")
        )


def test_named_parameters_are_accepted():
    p = cf.tensor(np.ones(3), requires_grad=True)
    optimizer = cf.optim.SGD([("weight", p)], lr=0.1)
    assert optimizer.param_groups[0]["param_names"] == ["weight"]
    assert optimizer.param_groups[0]["params"][0] is p


def test_repr_lists_groups():
    p = cf.tensor(np.ones(3), requires_grad=True)
    text = repr(cf.optim.SGD([p], lr=0.1, momentum=0.9))
    assert text.startswith("SGD (") and "lr: 0.1" in text and "momentum: 0.9" in text


def _param():
    return cf.tensor(np.ones(2), requires_grad=True)


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: cf.optim.SGD([_param()], lr=-0.1), ValueError, "lr must be >= 0.0, but got lr=-0.1"),
        (lambda: cf.optim.SGD([_param()], lr="fast"), TypeError, "lr must be a real number"),
        (lambda: cf.optim.SGD([_param()], lr=0.1, momentum=-1), ValueError, "momentum"),
        (lambda: cf.optim.SGD([_param()], lr=0.1, weight_decay=-1e-4), ValueError, "weight_decay"),
        (
            lambda: cf.optim.SGD([_param()], lr=0.1, nesterov=True),
            ValueError,
            "nesterov=True requires momentum",
        ),
        (
            lambda: cf.optim.SGD([_param()], lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
            ValueError,
            "dampening",
        ),
        (lambda: cf.optim.SGD([{"params": [_param()], "lr": -1.0}]), ValueError, "lr"),
        (lambda: cf.optim.Adam([_param()], lr=float("nan")), ValueError, "lr"),
        (lambda: cf.optim.Adam([_param()], betas=(1.0, 0.999)), ValueError, r"betas\[0\] must be < 1.0"),
        (lambda: cf.optim.Adam([_param()], betas=(0.9, -0.1)), ValueError, r"betas\[1\]"),
        (lambda: cf.optim.Adam([_param()], betas=0.9), TypeError, "betas must be a pair"),
        (lambda: cf.optim.Adam([_param()], eps=-1e-8), ValueError, "eps"),
        (lambda: cf.optim.AdamW([_param()], weight_decay=-0.01), ValueError, "AdamW: weight_decay"),
        (lambda: cf.optim.SGD([], lr=0.1), ValueError, "empty parameter list"),
        (lambda: cf.optim.SGD(_param(), lr=0.1), TypeError, "single Tensor"),
        (lambda: cf.optim.SGD([np.ones(2)], lr=0.1), TypeError, "can only optimize Tensors"),
        (lambda: cf.optim.SGD([_param() * 2], lr=0.1), ValueError, "non-leaf"),
        (lambda: cf.optim.SGD({_param()}, lr=0.1), TypeError, "not a set"),
    ],
)
def test_invalid_arguments_raise_clear_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_same_parameter_in_two_groups_is_rejected():
    p = _param()
    with pytest.raises(ValueError, match="more than one parameter group"):
        cf.optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda o: cf_sched.StepLR(o, step_size=0), ValueError, "step_size must be a positive int"),
        (lambda o: cf_sched.StepLR(o, step_size=2.5), ValueError, "step_size"),
        (lambda o: cf_sched.CosineAnnealingLR(o, T_max=0), ValueError, "T_max"),
        (lambda o: cf_sched.MultiStepLR(o, milestones=[2, -1]), ValueError, "milestones"),
        (lambda o: cf_sched.ExponentialLR(o, gamma="x"), TypeError, "gamma"),
        (lambda o: cf_sched.LambdaLR(o, lr_lambda=[_decay, _decay]), ValueError, "expected 1 lr_lambdas"),
        (lambda o: cf_sched.LambdaLR(o, lr_lambda=0.5), TypeError, "callable"),
        (lambda o: cf_sched.StepLR("sgd", step_size=2), TypeError, "optimizer must be"),
    ],
)
def test_invalid_scheduler_arguments_raise_clear_errors(make, error, match):
    with pytest.raises(error, match=match):
        make(cf.optim.SGD([_param()], lr=0.1))
