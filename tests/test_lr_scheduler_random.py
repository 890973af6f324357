"""Randomized options for the schedulers with the most arithmetic (OneCycleLR's phases,
CyclicLR's fractional step sizes, CosineAnnealingWarmRestarts' fractional epochs): cf's
learning rates and momenta equal torch's to 1e-12 relative wherever torch runs, and where
torch divides by zero, ours refuses the options at construction."""

from __future__ import annotations

import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from test_lr_schedulers import _lib, advance, assert_rows_equal, build, make_optimizer, observe

SETTINGS = settings(max_examples=30, deadline=None)


def _trajectory(lib, factory, kind, steps):
    optimizer, params, scheduler = build(lib, factory, kind)
    return [observe(optimizer, scheduler)] + advance(lib, optimizer, params, scheduler, steps)


@SETTINGS
@given(
    total_steps=st.integers(2, 60),
    pct_start=st.floats(0.0, 1.0),
    three_phase=st.booleans(),
    anneal=st.sampled_from(["cos", "linear"]),
    kind=st.sampled_from(["sgd", "adam"]),
)
def test_one_cycle_matches_torch_for_random_phases(total_steps, pct_start, three_phase, anneal, kind):
    def factory(s, o):
        return s.OneCycleLR(
            o,
            [0.1, 0.03],
            total_steps=total_steps,
            pct_start=pct_start,
            anneal_strategy=anneal,
            three_phase=three_phase,
        )

    try:
        theirs = _trajectory("torch", factory, kind, total_steps)
    except ZeroDivisionError:  # a phase of zero length, reached
        with pytest.raises(ValueError, match="has no steps"):
            factory(_lib("cf")[1], make_optimizer("cf", kind)[0])
        return
    assert_rows_equal(_trajectory("cf", factory, kind, total_steps), theirs)


@SETTINGS
@given(
    up=st.floats(0.5, 12.0),
    down=st.one_of(st.none(), st.floats(0.0, 12.0)),
    mode=st.sampled_from(["triangular", "triangular2", "exp_range"]),
    gamma=st.floats(0.8, 1.0),
    kind=st.sampled_from(["sgd", "adam"]),
)
def test_cyclic_matches_torch_for_random_step_sizes(up, down, mode, gamma, kind):
    def factory(s, o):
        return s.CyclicLR(o, [0.01, 0.005], 0.1, step_size_up=up, step_size_down=down, mode=mode, gamma=gamma)

    assert_rows_equal(_trajectory("cf", factory, kind, 50), _trajectory("torch", factory, kind, 50))


@SETTINGS
@given(
    t_0=st.integers(1, 8),
    t_mult=st.integers(1, 4),
    epochs=st.lists(st.floats(0.0, 200.0), min_size=1, max_size=20),
)
def test_warm_restarts_matches_torch_at_random_fractional_epochs(t_0, t_mult, epochs):
    def trace(lib):
        optimizer, _ = make_optimizer(lib, "sgd")
        scheduler = _lib(lib)[1].CosineAnnealingWarmRestarts(optimizer, t_0, T_mult=t_mult, eta_min=0.001)
        rows = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for epoch in epochs:
                scheduler.step(epoch)
                rows.append(observe(optimizer, scheduler))
        return rows

    assert_rows_equal(trace("cf"), trace("torch"))
