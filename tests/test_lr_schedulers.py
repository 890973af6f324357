"""cf.optim.lr_scheduler against torch.optim.lr_scheduler, scheduler by scheduler.

Each case builds the same scheduler in both libraries on an optimizer with two param groups
(SGD with momentum, or Adam where the momentum is cycled), steps both 30-60 times after
``optimizer.step()`` with the same gradients, and requires every learning rate (and every
cycled momentum or beta1) to equal torch's to 1e-12 relative. State dicts resume mid-schedule,
carry torch's keys and continue torch's own state; ``step(epoch)`` follows torch's closed
forms. Errors and the package surface: test_lr_scheduler_errors.py.
"""

from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import pytest
import torch

import convforge as cf
from conftest import assert_close
from convforge.optim import lr_scheduler as cf_sched

RTOL = 1e-12
SHAPES = [(3,), (2, 2)]  # one parameter per group
# torch's nested ChainedScheduler inside SequentialLR trips its step-order heuristic; not our concern
pytestmark = pytest.mark.filterwarnings("ignore:Detected call of:UserWarning")
TORCH_ONLY_KEYS = {"_get_lr_called_within_step"}  # torch's re-entrancy flag for its get_lr warning


def _decay(epoch):
    return 0.97**epoch


def _halving(x):
    return 0.5**x


class ScaleByCycle:
    """A callable object: its __dict__ is saved in state dicts (functions are not)."""

    def __init__(self, base):
        self.base = base

    def __call__(self, x):
        return self.base**x


# ---------------------------------------------------------------------------------------------
# the harness: one optimizer with two param groups, in cf or in torch


def _lib(lib):
    return (cf.optim, cf_sched) if lib == "cf" else (torch.optim, torch.optim.lr_scheduler)


def make_optimizer(lib, kind):
    """Two param groups with different learning rates (and momenta / betas)."""
    optim, _ = _lib(lib)
    rng = np.random.default_rng(0)
    init = [rng.normal(size=s) for s in SHAPES]
    if lib == "cf":
        params = [cf.tensor(a, requires_grad=True) for a in init]
    else:
        params = [torch.tensor(a, requires_grad=True) for a in init]
    if kind == "sgd":
        groups = [{"params": [params[0]]}, {"params": [params[1]], "lr": 0.05, "momentum": 0.5}]
        return optim.SGD(groups, lr=0.1, momentum=0.9), params
    if kind == "adam":
        groups = [{"params": [params[0]]}, {"params": [params[1]], "lr": 0.02, "betas": (0.8, 0.99)}]
        return optim.Adam(groups, lr=0.01), params
    groups = [{"params": [params[0]]}, {"params": [params[1]], "lr": 0.05}]
    return optim.Adagrad(groups, lr=0.1), params


def observe(optimizer, scheduler):
    """Everything a scheduler sets: each group's lr, momentum or beta1, and get_last_lr()."""
    row = []
    for group in optimizer.param_groups:
        row.append(group["lr"])
        row.append(group["betas"][0] if "betas" in group else group.get("momentum", 0.0))
    return row + list(scheduler.get_last_lr())


def _set_grads(lib, params, step):
    rng = np.random.default_rng(100 + step)
    for p in params:
        g = rng.normal(size=p.shape)
        p.grad = cf.tensor(g) if lib == "cf" else torch.tensor(g)


def advance(lib, optimizer, params, scheduler, steps, start=0, metrics=None):
    """``steps`` training steps: gradients, optimizer.step(), scheduler.step(); one row per step."""
    rows = []
    for step in range(start, start + steps):
        _set_grads(lib, params, step)
        optimizer.step()
        if metrics is None:
            scheduler.step()
        else:
            scheduler.step(metrics[step])
        rows.append(observe(optimizer, scheduler))
    return rows


def build(lib, factory, kind):
    optimizer, params = make_optimizer(lib, kind)
    return optimizer, params, factory(_lib(lib)[1], optimizer)


def run(lib, factory, kind, steps, metrics=None):
    """Rows observed after construction and after each of ``steps`` steps, and the final params."""
    optimizer, params, scheduler = build(lib, factory, kind)
    rows = [observe(optimizer, scheduler)]
    rows += advance(lib, optimizer, params, scheduler, steps, metrics=metrics)
    final = [np.array(p.array if lib == "cf" else p.detach().numpy()) for p in params]
    return rows, final


def assert_rows_equal(actual, expected):
    np.testing.assert_allclose(
        np.array(actual, dtype=float), np.array(expected, dtype=float), rtol=RTOL, atol=0
    )


# ---------------------------------------------------------------------------------------------
# the cases: (factory(scheduler module, optimizer), optimizer kind, steps)


def _case(name, factory, kind="sgd", steps=40):
    return pytest.param(factory, kind, steps, id=name)


SIMPLE_CASES = [
    _case("multiplicative-one", lambda s, o: s.MultiplicativeLR(o, lr_lambda=lambda e: 0.95)),
    _case("multiplicative-per-group", lambda s, o: s.MultiplicativeLR(o, lr_lambda=[_decay, lambda e: 1.02])),
    _case("constant-default", lambda s, o: s.ConstantLR(o)),
    _case("constant-half-12", lambda s, o: s.ConstantLR(o, factor=0.5, total_iters=12)),
    _case("constant-one", lambda s, o: s.ConstantLR(o, factor=1.0, total_iters=3)),
    _case("linear-default", lambda s, o: s.LinearLR(o)),
    _case("linear-warmup", lambda s, o: s.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=15)),
    _case("linear-decay", lambda s, o: s.LinearLR(o, start_factor=1.0, end_factor=0.05, total_iters=30)),
    _case("linear-to-zero", lambda s, o: s.LinearLR(o, start_factor=0.5, end_factor=0.0, total_iters=20)),
    _case("polynomial-default", lambda s, o: s.PolynomialLR(o)),
    _case("polynomial-square", lambda s, o: s.PolynomialLR(o, total_iters=25, power=2.0)),
    _case("polynomial-sqrt", lambda s, o: s.PolynomialLR(o, total_iters=30, power=0.5)),
    _case("constant-float-total", lambda s, o: s.ConstantLR(o, factor=0.25, total_iters=4.0)),
    _case("linear-float-total", lambda s, o: s.LinearLR(o, start_factor=0.3, total_iters=7.5)),
    _case("polynomial-float-total", lambda s, o: s.PolynomialLR(o, total_iters=12.5, power=1.5)),
    _case("polynomial-power0", lambda s, o: s.PolynomialLR(o, total_iters=10, power=0.0)),
    _case("lambda-adam", lambda s, o: s.LambdaLR(o, lr_lambda=_decay), kind="adam"),
    _case("step-adam", lambda s, o: s.StepLR(o, step_size=7, gamma=0.5), kind="adam"),
]


def _warm(t_0, t_mult, eta_min):
    return lambda s, o: s.CosineAnnealingWarmRestarts(o, t_0, T_mult=t_mult, eta_min=eta_min)


WARM_RESTART_CASES = [
    _case(f"warm-restarts-T0={t_0}-Tmult={t_mult}-eta={eta}", _warm(t_0, t_mult, eta), steps=50)
    for t_0, t_mult, eta in [(3, 1, 0.0), (5, 1, 0.001), (3, 2, 0.0), (2, 3, 0.004), (7, 2, 0.01)]
]


def _cyclic(**options):
    return lambda s, o: s.CyclicLR(o, **options)


CYCLIC_CASES = [
    _case(
        f"cyclic-{mode}-{kind}-up{up}-down{down}-momentum{momentum}",
        _cyclic(
            base_lr=[0.01, 0.002],
            max_lr=0.1 if mode != "exp_range" else [0.1, 0.05],
            step_size_up=up,
            step_size_down=down,
            mode=mode,
            gamma=0.97,
            cycle_momentum=momentum,
        ),
        kind=kind,
        steps=60,
    )
    for mode in ["triangular", "triangular2", "exp_range"]
    for kind in ["sgd", "adam"]
    for up, down, momentum in [(5, None, True), (4, 9, True), (6, 3, False)]
] + [
    _case(
        "cyclic-scale-fn-cycle",
        _cyclic(base_lr=0.01, max_lr=0.1, step_size_up=4, scale_fn=_halving),
        steps=50,
    ),
    _case(
        "cyclic-scale-fn-iterations-adam",
        _cyclic(
            base_lr=0.001,
            max_lr=[0.01, 0.03],
            step_size_up=3,
            step_size_down=5,
            scale_fn=lambda x: 1 / (1 + 0.05 * x),
            scale_mode="iterations",
            base_momentum=[0.7, 0.75],
            max_momentum=[0.95, 0.9],
        ),
        kind="adam",
        steps=50,
    ),
    _case("cyclic-float-step-sizes", _cyclic(base_lr=0.01, max_lr=0.1, step_size_up=2.5, step_size_down=4.5)),
    _case("cyclic-no-down", _cyclic(base_lr=0.01, max_lr=0.1, step_size_up=4, step_size_down=0)),
]


def _one_cycle(**options):
    return lambda s, o: s.OneCycleLR(o, **options)


ONE_CYCLE_CASES = [
    _case(
        f"one-cycle-{kind}-{anneal}-three{three}-momentum{momentum}",
        _one_cycle(
            max_lr=[0.1, 0.04],
            total_steps=40,
            anneal_strategy=anneal,
            three_phase=three,
            cycle_momentum=momentum,
        ),
        kind=kind,
        steps=40,
    )
    for kind in ["sgd", "adam"]
    for anneal in ["cos", "linear"]
    for three in [False, True]
    for momentum in [True, False]
] + [
    _case(
        "one-cycle-epochs-options",
        _one_cycle(
            max_lr=0.2,
            epochs=5,
            steps_per_epoch=9,
            pct_start=0.25,
            base_momentum=[0.8, 0.7],
            max_momentum=0.99,
            div_factor=10.0,
            final_div_factor=100.0,
        ),
        steps=45,
    ),
    _case("one-cycle-pct0", _one_cycle(max_lr=0.1, total_steps=30, pct_start=0.0), kind="adam", steps=30),
    _case(
        "one-cycle-pct1", _one_cycle(max_lr=0.1, total_steps=30, pct_start=1.0, three_phase=True), steps=30
    ),
]

COMPOSITE_CASES = [
    _case(
        "sequential-warmup-cosine",
        lambda s, o: s.SequentialLR(
            o,
            [s.LinearLR(o, start_factor=0.1, total_iters=5), s.CosineAnnealingLR(o, T_max=30)],
            milestones=[5],
        ),
    ),
    _case(
        "sequential-three",
        lambda s, o: s.SequentialLR(
            o,
            [
                s.ConstantLR(o, factor=0.3, total_iters=10),
                s.ExponentialLR(o, 0.9),
                s.MultiStepLR(o, [3, 8, 8]),
            ],
            milestones=[4, 15],
        ),
    ),
    _case(
        "sequential-of-chained",
        lambda s, o: s.SequentialLR(
            o,
            [s.ChainedScheduler([s.ConstantLR(o, 0.5, 3), s.ExponentialLR(o, 0.95)]), s.StepLR(o, 4)],
            milestones=[10],
        ),
    ),
    _case(
        "chained-constant-exponential",
        lambda s, o: s.ChainedScheduler(
            [s.ConstantLR(o, factor=0.5, total_iters=6), s.ExponentialLR(o, 0.93)]
        ),
    ),
    _case(
        "chained-three-with-optimizer",
        lambda s, o: s.ChainedScheduler(
            [
                s.LinearLR(o, 0.2, total_iters=8),
                s.MultiStepLR(o, [10, 20], 0.5),
                s.MultiplicativeLR(o, _decay),
            ],
            optimizer=o,
        ),
        kind="adam",
    ),
]

# ReduceLROnPlateau: a metric that improves, then wobbles on a plateau, then improves again
PLATEAU_METRICS = [1 / (1 + 0.4 * t) if t < 8 else 0.24 + 0.002 * ((t * 7) % 5) for t in range(40)]
PLATEAU_METRICS += [0.2 - 0.01 * t for t in range(20)]


def _plateau(**options):
    return lambda s, o: s.ReduceLROnPlateau(o, **options)


PLATEAU_CASES = [
    _case(
        f"plateau-{mode}-{threshold_mode}-patience{patience}-cooldown{cooldown}",
        _plateau(mode=mode, threshold_mode=threshold_mode, patience=patience, cooldown=cooldown, factor=0.5),
        steps=60,
    )
    for mode in ["min", "max"]
    for threshold_mode in ["rel", "abs"]
    for patience, cooldown in [(0, 0), (3, 0), (2, 4)]
] + [
    _case("plateau-default", _plateau(), steps=60),
    _case(
        "plateau-min-lr-list", _plateau(patience=1, factor=0.3, min_lr=[0.001, 0.002]), kind="adam", steps=60
    ),
    _case("plateau-eps", _plateau(patience=1, factor=0.9, min_lr=0.04, eps=0.004), steps=60),
    _case("plateau-threshold", _plateau(patience=2, threshold=0.05, threshold_mode="abs"), steps=60),
]

ALL_CASES = (
    SIMPLE_CASES + WARM_RESTART_CASES + CYCLIC_CASES + ONE_CYCLE_CASES + COMPOSITE_CASES + PLATEAU_CASES
)


def _metrics_for(factory):
    """The metric sequence for ReduceLROnPlateau (negated in mode 'max'), else None."""
    optimizer, _ = make_optimizer("cf", "sgd")
    scheduler = factory(cf_sched, optimizer)
    if not isinstance(scheduler, cf_sched.ReduceLROnPlateau):
        return None
    return [-m for m in PLATEAU_METRICS] if scheduler.mode == "max" else PLATEAU_METRICS


# ---------------------------------------------------------------------------------------------
# trajectories


@pytest.mark.parametrize(("factory", "kind", "steps"), ALL_CASES)
def test_scheduler_sets_torchs_learning_rates_and_momenta_at_every_step(factory, kind, steps):
    metrics = _metrics_for(factory)
    ours, our_params = run("cf", factory, kind, steps, metrics)
    theirs, their_params = run("torch", factory, kind, steps, metrics)
    assert_rows_equal(ours, theirs)
    for mine, reference in zip(our_params, their_params):  # the optimizer read what was set
        assert_close(mine, reference, rtol=1e-9)


def test_plateau_reduces_at_least_once_in_the_grid():
    """The metric sequence is long and flat enough that every plateau case reduces the lr."""
    for param in PLATEAU_CASES:
        factory, kind, steps = param.values
        rows, _ = run("cf", factory, kind, steps, _metrics_for(factory))
        assert rows[-1][0] < rows[0][0], param.id


def test_plateau_accepts_a_tensor_or_numpy_metric():
    optimizer, _ = make_optimizer("cf", "sgd")
    scheduler = cf_sched.ReduceLROnPlateau(optimizer, patience=0)
    for metric in [cf.tensor(1.0), np.float32(1.0), np.array([1.0])[0]]:
        scheduler.step(metric)
    assert scheduler.get_last_lr() == [0.1 * 0.1**2, 0.05 * 0.1**2]


def test_one_cycle_refuses_a_step_past_total_steps_like_torch():
    for lib in ["cf", "torch"]:
        optimizer, _ = make_optimizer(lib, "sgd")
        scheduler = _lib(lib)[1].OneCycleLR(optimizer, max_lr=0.1, total_steps=5)
        for _ in range(5):
            scheduler.step()
        with pytest.raises(ValueError, match="total.steps"):
            scheduler.step()


def test_constant_lr_with_factor_zero_restores_base_lr():
    """torch divides by the factor at total_iters (ZeroDivisionError); the schedule means base_lr."""
    optimizer, _ = make_optimizer("cf", "sgd")
    scheduler = cf_sched.ConstantLR(optimizer, factor=0.0, total_iters=3)
    lrs = [scheduler.get_last_lr()]
    for _ in range(4):
        scheduler.step()
        lrs.append(scheduler.get_last_lr())
    assert lrs == [[0.0, 0.0]] * 3 + [[0.1, 0.05]] * 2


# ---------------------------------------------------------------------------------------------
# state dicts


def _state_keys(state):
    """The key set of a scheduler state dict, children's key sets included."""
    children = tuple(_state_keys(child) for child in state.get("_schedulers", []))
    return frozenset(state) - TORCH_ONLY_KEYS, children


@pytest.mark.parametrize(("factory", "kind", "steps"), ALL_CASES)
def test_state_dict_has_torchs_keys(factory, kind, steps):
    metrics = _metrics_for(factory)
    states = []
    for lib in ["cf", "torch"]:
        optimizer, params, scheduler = build(lib, factory, kind)
        advance(lib, optimizer, params, scheduler, 7, metrics=metrics)
        states.append(scheduler.state_dict())
    assert _state_keys(states[0]) == _state_keys(states[1])


@pytest.mark.parametrize(("factory", "kind", "steps"), ALL_CASES)
def test_state_dict_round_trip_mid_schedule_continues_identically(factory, kind, steps):
    metrics = _metrics_for(factory)
    half = steps // 2
    optimizer, params, scheduler = build("cf", factory, kind)
    advance("cf", optimizer, params, scheduler, half, metrics=metrics)
    saved = copy.deepcopy((optimizer.state_dict(), scheduler.state_dict()))
    expected = advance("cf", optimizer, params, scheduler, steps - half, start=half, metrics=metrics)

    optimizer, params, scheduler = build("cf", factory, kind)
    advance("cf", optimizer, params, scheduler, 3, metrics=metrics)  # a different point, overwritten
    optimizer.load_state_dict(saved[0])
    scheduler.load_state_dict(saved[1])
    resumed = advance("cf", optimizer, params, scheduler, steps - half, start=half, metrics=metrics)
    assert resumed == expected


@pytest.mark.parametrize(("factory", "kind", "steps"), ALL_CASES)
def test_torchs_state_dict_continues_torchs_schedule(factory, kind, steps):
    """Load torch's scheduler state (and the matching optimizer state) mid-schedule into cf."""
    metrics = _metrics_for(factory)
    half = steps // 2
    t_optimizer, t_params, t_scheduler = build("torch", factory, kind)
    advance("torch", t_optimizer, t_params, t_scheduler, half, metrics=metrics)
    torch_state = copy.deepcopy(t_scheduler.state_dict())
    expected = advance("torch", t_optimizer, t_params, t_scheduler, steps - half, start=half, metrics=metrics)

    optimizer, params, scheduler = build("cf", factory, kind)
    advance("cf", optimizer, params, scheduler, half, metrics=metrics)
    fresh_optimizer, fresh_params, fresh_scheduler = build("cf", factory, kind)
    fresh_optimizer.load_state_dict(optimizer.state_dict())
    fresh_scheduler.load_state_dict(torch_state)
    resumed = advance(
        "cf", fresh_optimizer, fresh_params, fresh_scheduler, steps - half, start=half, metrics=metrics
    )
    assert_rows_equal(resumed, expected)


def test_state_dict_keeps_a_callable_objects_dict_but_not_a_function():
    scale = ScaleByCycle(0.9)
    optimizer, _ = make_optimizer("cf", "sgd")
    state = cf_sched.CyclicLR(optimizer, 0.01, 0.1, step_size_up=3, scale_fn=scale).state_dict()
    assert state["_scale_fn_custom"] == {"base": 0.9}
    other = ScaleByCycle(0.5)
    restored = cf_sched.CyclicLR(make_optimizer("cf", "sgd")[0], 0.01, 0.1, step_size_up=3, scale_fn=other)
    restored.load_state_dict(state)
    assert other.base == 0.9
    multiplicative = cf_sched.MultiplicativeLR(make_optimizer("cf", "sgd")[0], [_decay, scale])
    assert multiplicative.state_dict()["lr_lambdas"] == [None, {"base": 0.9}]


# ---------------------------------------------------------------------------------------------
# step(epoch): closed forms


def _epoch_trace(lib, factory, epochs):
    optimizer, _ = make_optimizer(lib, "sgd")
    scheduler = factory(_lib(lib)[1], optimizer)
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch deprecates step(epoch)
        for epoch in epochs:
            scheduler.step(epoch)
            rows.append(observe(optimizer, scheduler))
    return rows


CLOSED_FORM_CASES = [
    pytest.param(factory, id=name)
    for name, factory in [
        ("constant", lambda s, o: s.ConstantLR(o, factor=0.4, total_iters=6)),
        ("linear", lambda s, o: s.LinearLR(o, start_factor=0.2, end_factor=0.9, total_iters=10)),
        ("polynomial", lambda s, o: s.PolynomialLR(o, total_iters=12, power=1.5)),
        ("multiplicative", lambda s, o: s.MultiplicativeLR(o, _decay)),
        (
            "cyclic",
            lambda s, o: s.CyclicLR(o, 0.01, 0.1, step_size_up=3, step_size_down=5, mode="triangular2"),
        ),
        ("one-cycle", lambda s, o: s.OneCycleLR(o, max_lr=0.1, total_steps=20, three_phase=True)),
    ]
]


@pytest.mark.parametrize("factory", CLOSED_FORM_CASES)
def test_step_to_epoch_uses_torchs_closed_form(factory):
    epochs = [3, 7, 4, 12, 0, 19, 5, 5, 20]
    assert_rows_equal(_epoch_trace("cf", factory, epochs), _epoch_trace("torch", factory, epochs))


@pytest.mark.parametrize(("t_0", "t_mult"), [(3, 1), (4, 2), (2, 3)])
def test_warm_restarts_step_to_fractional_epoch_matches_torch(t_0, t_mult):
    def factory(s, o):
        return s.CosineAnnealingWarmRestarts(o, T_0=t_0, T_mult=t_mult, eta_min=0.002)

    epochs = [0.5, 1.25, 3.7, 10.2, 2.0, 31.9, 0, 6, 6.0001, 45.5]
    epochs += [epoch + batch / 7 for epoch in range(4) for batch in range(7)]  # per-batch stepping
    ours, theirs = _epoch_trace("cf", factory, epochs), _epoch_trace("torch", factory, epochs)
    assert_rows_equal(ours, theirs)


def test_warm_restarts_restart_at_base_lr_after_each_period():
    optimizer, _ = make_optimizer("cf", "sgd")
    scheduler = cf_sched.CosineAnnealingWarmRestarts(optimizer, T_0=2, T_mult=2)
    lrs = [scheduler.get_last_lr()[0]]
    for _ in range(14):
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
    restarts = [epoch for epoch, lr in enumerate(lrs) if math.isclose(lr, 0.1)]
    assert restarts == [0, 2, 6, 14]


RESUME_CASES = [
    pytest.param(factory, kind, id=name)
    for name, factory, kind in [
        ("multiplicative", lambda s, o, e: s.MultiplicativeLR(o, _decay, last_epoch=e), "sgd"),
        ("linear", lambda s, o, e: s.LinearLR(o, 0.2, 0.9, total_iters=30, last_epoch=e), "sgd"),
        ("polynomial", lambda s, o, e: s.PolynomialLR(o, total_iters=30, power=2.0, last_epoch=e), "sgd"),
        ("warm-restarts", lambda s, o, e: s.CosineAnnealingWarmRestarts(o, 3, T_mult=2, last_epoch=e), "sgd"),
        (
            "cyclic",
            lambda s, o, e: s.CyclicLR(o, 0.01, 0.1, step_size_up=4, mode="triangular2", last_epoch=e),
            "adam",
        ),
        ("one-cycle", lambda s, o, e: s.OneCycleLR(o, [0.1, 0.05], total_steps=40, last_epoch=e), "sgd"),
    ]
]


@pytest.mark.parametrize(("factory", "kind"), RESUME_CASES)
def test_resuming_with_last_epoch_matches_torch(factory, kind):
    """Torch's resume recipe: a new optimizer loads the saved state, then the scheduler is built
    with ``last_epoch``; the steps after it (quirks included) equal torch's."""

    def resumed(lib):
        optimizer, params, scheduler = build(lib, lambda s, o: factory(s, o, -1), kind)
        advance(lib, optimizer, params, scheduler, 15)
        saved = optimizer.state_dict()
        optimizer, params = make_optimizer(lib, kind)
        optimizer.load_state_dict(saved)
        scheduler = factory(_lib(lib)[1], optimizer, 15)
        return [observe(optimizer, scheduler)] + advance(lib, optimizer, params, scheduler, 20, start=15)

    assert_rows_equal(resumed("cf"), resumed("torch"))
