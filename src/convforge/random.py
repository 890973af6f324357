"""The default random generator, as ``torch.random``.

Everything random in convforge (``cf.randn``/``cf.rand``, ``nn.init``, dropout) draws from
one module-level :class:`numpy.random.Generator`, so ``cf.manual_seed(n)`` makes weight
initialization and dropout masks reproducible. Pass ``generator=`` to the functions that
accept it to draw from a generator of your own instead.
"""

from __future__ import annotations

import numbers

import numpy as np

_state: dict[str, np.random.Generator | int | None] = {"generator": np.random.default_rng(), "seed": None}


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the default generator; returns it (as ``torch.manual_seed``).

    Parameters
    ----------
    seed : int
        A non-negative integer.
    """
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool):
        raise TypeError(f"manual_seed: seed must be an int, but got seed={seed!r}")
    if seed < 0:
        raise ValueError(f"manual_seed: seed must be non-negative, but got seed={seed}")
    generator = np.random.default_rng(int(seed))
    _state["generator"] = generator
    _state["seed"] = int(seed)
    return generator


def initial_seed() -> int | None:
    """The seed last given to :func:`manual_seed` (None if never seeded)."""
    return _state["seed"]  # type: ignore[return-value]


def default_generator() -> np.random.Generator:
    """The generator that convforge draws from when no ``generator=`` is given."""
    return _state["generator"]  # type: ignore[return-value]


def resolve_generator(generator: np.random.Generator | None, op: str) -> np.random.Generator:
    """``generator`` itself, or the default generator when it is None."""
    if generator is None:
        return default_generator()
    if not isinstance(generator, np.random.Generator):
        raise TypeError(
            f"{op}: generator must be a numpy.random.Generator or None, "
            f"but got generator of type {type(generator).__name__}"
        )
    return generator
