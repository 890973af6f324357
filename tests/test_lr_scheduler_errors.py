"""cf.optim.lr_scheduler's errors and surface: bad arguments raise where torch raises (the same
type), arguments torch only fails on later raise a clear error at construction, every torch
scheduler name exists, and train.make_scheduler keeps working."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import convforge as cf
from convforge.optim import lr_scheduler as cf_sched
from test_lr_schedulers import _decay, _halving, _lib, make_optimizer

# ---------------------------------------------------------------------------------------------
# bad arguments


def _seq(s, o, schedulers, milestones):
    return s.SequentialLR(o, schedulers, milestones)


SHARED_ERRORS = [  # torch raises the same type for each
    ("constant-factor-above-1", lambda s, o: s.ConstantLR(o, factor=1.5), ValueError),
    ("constant-factor-negative", lambda s, o: s.ConstantLR(o, factor=-0.1), ValueError),
    ("linear-start-0", lambda s, o: s.LinearLR(o, start_factor=0), ValueError),
    ("linear-end-above-1", lambda s, o: s.LinearLR(o, end_factor=1.5), ValueError),
    ("multiplicative-count", lambda s, o: s.MultiplicativeLR(o, [_decay]), ValueError),
    ("multiplicative-not-callable", lambda s, o: s.MultiplicativeLR(o, 0.9), TypeError),
    ("warm-T0-zero", lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=0), ValueError),
    ("warm-T0-float", lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=2.5), ValueError),
    ("warm-Tmult-zero", lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0), ValueError),
    ("warm-Tmult-float", lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=1.5), ValueError),
    ("warm-eta-str", lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=2, eta_min="0"), ValueError),
    ("warm-negative-epoch", lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=2).step(-1), ValueError),
    ("plateau-factor-1", lambda s, o: s.ReduceLROnPlateau(o, factor=1.0), ValueError),
    ("plateau-mode", lambda s, o: s.ReduceLROnPlateau(o, mode="up"), ValueError),
    ("plateau-threshold-mode", lambda s, o: s.ReduceLROnPlateau(o, threshold_mode="pct"), ValueError),
    ("plateau-min-lr-count", lambda s, o: s.ReduceLROnPlateau(o, min_lr=[0.1]), ValueError),
    ("plateau-optimizer", lambda s, o: s.ReduceLROnPlateau("sgd"), TypeError),
    ("cyclic-mode", lambda s, o: s.CyclicLR(o, 0.01, 0.1, mode="sine"), ValueError),
    ("cyclic-base-lr-count", lambda s, o: s.CyclicLR(o, [0.01, 0.02, 0.03], 0.1), ValueError),
    ("cyclic-max-momentum-count", lambda s, o: s.CyclicLR(o, 0.01, 0.1, max_momentum=[0.9]), ValueError),
    ("cyclic-optimizer", lambda s, o: s.CyclicLR("sgd", 0.01, 0.1), TypeError),
    ("one-cycle-no-length", lambda s, o: s.OneCycleLR(o, max_lr=0.1), ValueError),
    ("one-cycle-epochs-only", lambda s, o: s.OneCycleLR(o, max_lr=0.1, epochs=3), ValueError),
    ("one-cycle-total-0", lambda s, o: s.OneCycleLR(o, max_lr=0.1, total_steps=0), ValueError),
    ("one-cycle-total-float", lambda s, o: s.OneCycleLR(o, max_lr=0.1, total_steps=10.0), ValueError),
    ("one-cycle-epochs-0", lambda s, o: s.OneCycleLR(o, 0.1, epochs=0, steps_per_epoch=3), ValueError),
    (
        "one-cycle-steps-per-epoch",
        lambda s, o: s.OneCycleLR(o, 0.1, epochs=2, steps_per_epoch=-1),
        ValueError,
    ),
    ("one-cycle-pct-above-1", lambda s, o: s.OneCycleLR(o, 0.1, total_steps=10, pct_start=1.5), ValueError),
    ("one-cycle-pct-int", lambda s, o: s.OneCycleLR(o, 0.1, total_steps=10, pct_start=0), ValueError),
    (
        "one-cycle-anneal",
        lambda s, o: s.OneCycleLR(o, 0.1, total_steps=10, anneal_strategy="exp"),
        ValueError,
    ),
    ("one-cycle-max-lr-count", lambda s, o: s.OneCycleLR(o, [0.1, 0.2, 0.3], total_steps=10), ValueError),
    ("one-cycle-optimizer", lambda s, o: s.OneCycleLR(None, 0.1, total_steps=10), TypeError),
    ("sequential-empty", lambda s, o: _seq(s, o, [], []), ValueError),
    ("sequential-milestones", lambda s, o: _seq(s, o, [s.ConstantLR(o), s.StepLR(o, 2)], [2, 4]), ValueError),
    (
        "sequential-plateau",
        lambda s, o: _seq(s, o, [s.ConstantLR(o), s.ReduceLROnPlateau(o)], [2]),
        ValueError,
    ),
    ("sequential-not-scheduler", lambda s, o: _seq(s, o, [s.ConstantLR(o), 3], [2]), TypeError),
    ("chained-empty", lambda s, o: s.ChainedScheduler([]), ValueError),
    (
        "chained-plateau",
        lambda s, o: s.ChainedScheduler([s.ConstantLR(o), s.ReduceLROnPlateau(o)]),
        ValueError,
    ),
]


@pytest.mark.parametrize(("factory", "error"), [pytest.param(f, e, id=n) for n, f, e in SHARED_ERRORS])
@pytest.mark.parametrize("lib", ["cf", "torch"])
def test_bad_arguments_raise_where_torch_raises(factory, error, lib):
    optimizer, _ = make_optimizer(lib, "sgd")
    with pytest.raises(error):
        factory(_lib(lib)[1], optimizer)


@pytest.mark.parametrize("lib", ["cf", "torch"])
@pytest.mark.parametrize("name", ["SequentialLR", "ChainedScheduler"])
def test_composite_refuses_a_scheduler_of_another_optimizer(lib, name):
    first, _ = make_optimizer(lib, "sgd")
    second, _ = make_optimizer(lib, "sgd")
    sched = _lib(lib)[1]
    children = [sched.ConstantLR(first), sched.ExponentialLR(second, 0.9)]
    with pytest.raises(ValueError):
        if name == "SequentialLR":
            sched.SequentialLR(first, children, milestones=[3])
        else:
            sched.ChainedScheduler(children)


@pytest.mark.parametrize("lib", ["cf", "torch"])
@pytest.mark.parametrize("name", ["CyclicLR", "OneCycleLR"])
def test_momentum_cycling_needs_momentum_or_betas(lib, name):
    optimizer, _ = make_optimizer(lib, "adagrad")
    sched = _lib(lib)[1]
    with pytest.raises(ValueError, match="momentum"):
        if name == "CyclicLR":
            sched.CyclicLR(optimizer, 0.01, 0.1)
        else:
            sched.OneCycleLR(optimizer, 0.1, total_steps=10)
    # without cycling, an optimizer without momentum is fine
    if name == "CyclicLR":
        sched.CyclicLR(optimizer, 0.01, 0.1, cycle_momentum=False)
    else:
        sched.OneCycleLR(optimizer, 0.1, total_steps=10, cycle_momentum=False)


CF_ONLY_ERRORS = [  # torch accepts these and fails later (ZeroDivisionError) or never; ours name the argument
    (lambda o: cf_sched.ConstantLR(o, total_iters=0), "total_iters must be a positive int"),
    (lambda o: cf_sched.ConstantLR(o, total_iters=4.5), "total_iters must be a positive int"),
    (lambda o: cf_sched.LinearLR(o, total_iters=0), "total_iters must be a positive number"),
    (lambda o: cf_sched.PolynomialLR(o, total_iters=-2.5), "total_iters must be a positive number"),
    (lambda o: cf_sched.PolynomialLR(o, power=-1), "power must be >= 0"),
    (lambda o: cf_sched.CyclicLR(o, 0.01, 0.1, step_size_up=0), "step_size_up must be > 0"),
    (lambda o: cf_sched.CyclicLR(o, 0.01, 0.1, step_size_down=-2), "step_size_down must be >= 0"),
    (lambda o: cf_sched.CyclicLR(o, 0.01, 0.1, scale_fn=_halving, scale_mode="epochs"), "scale_mode must be"),
    (
        lambda o: cf_sched.OneCycleLR(o, 0.1, total_steps=10, pct_start=0.1),
        "phase 0 of the schedule has no steps",
    ),
    (lambda o: cf_sched.ReduceLROnPlateau(o, patience=-1), "patience must be an int >= 0"),
    (lambda o: cf_sched.ReduceLROnPlateau(o, factor=-0.5), "factor must be >= 0"),
    (lambda o: cf_sched.ReduceLROnPlateau(o, min_lr=[0.1, -1.0]), "min_lr must be >= 0"),
]


@pytest.mark.parametrize(("make", "match"), CF_ONLY_ERRORS)
def test_arguments_torch_fails_on_later_raise_clear_errors_at_construction(make, match):
    optimizer, _ = make_optimizer("cf", "sgd")
    with pytest.raises(ValueError, match=match):
        make(optimizer)


# ---------------------------------------------------------------------------------------------
# the package's surface


def test_every_torch_scheduler_name_is_importable_from_cf():
    names = [
        "LRScheduler",
        "_LRScheduler",
        "LambdaLR",
        "MultiplicativeLR",
        "StepLR",
        "MultiStepLR",
        "ConstantLR",
        "LinearLR",
        "ExponentialLR",
        "PolynomialLR",
        "CosineAnnealingLR",
        "CosineAnnealingWarmRestarts",
        "CyclicLR",
        "OneCycleLR",
        "ReduceLROnPlateau",
        "SequentialLR",
        "ChainedScheduler",
    ]
    from convforge.optim.lr_scheduler import ReduceLROnPlateau  # the import form scripts use

    assert ReduceLROnPlateau is cf.optim.lr_scheduler.ReduceLROnPlateau
    for name in names:
        assert hasattr(torch.optim.lr_scheduler, name), name
        assert issubclass(getattr(cf.optim.lr_scheduler, name), cf_sched.LRScheduler), name


def test_make_scheduler_still_anneals_to_zero():
    from convforge import train

    optimizer = train.make_optimizer("sgd", [cf.tensor(np.zeros(2), requires_grad=True)], lr=0.1)
    scheduler = train.make_scheduler(optimizer, 4)
    lrs = [scheduler.get_last_lr()[0]]
    for _ in range(4):
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
    np.testing.assert_allclose(lrs, [0.1 * (1 + math.cos(math.pi * t / 4)) / 2 for t in range(5)], atol=1e-15)


RESUME_WITHOUT_INITIAL_LR = [
    pytest.param(factory, id=name)
    for name, factory in [
        ("step", lambda s, o: s.StepLR(o, 2, last_epoch=3)),
        ("linear", lambda s, o: s.LinearLR(o, last_epoch=3)),
        ("warm-restarts", lambda s, o: s.CosineAnnealingWarmRestarts(o, 2, last_epoch=3)),
        ("cyclic", lambda s, o: s.CyclicLR(o, 0.01, 0.1, last_epoch=3)),
        ("one-cycle", lambda s, o: s.OneCycleLR(o, 0.1, total_steps=10, last_epoch=3)),
    ]
]


@pytest.mark.parametrize("factory", RESUME_WITHOUT_INITIAL_LR)
@pytest.mark.parametrize("lib", ["cf", "torch"])
def test_resuming_without_initial_lr_raises_keyerror_like_torch(factory, lib):
    optimizer, _ = make_optimizer(lib, "sgd")
    with pytest.raises(KeyError, match="initial_lr"):
        factory(_lib(lib)[1], optimizer)


def test_missing_initial_lr_is_also_a_valueerror_with_a_plain_message():
    optimizer, _ = make_optimizer("cf", "sgd")
    with pytest.raises(ValueError) as info:
        cf_sched.StepLR(optimizer, 2, last_epoch=3)
    assert str(info.value).startswith("StepLR: resuming with last_epoch=3 needs 'initial_lr'")
