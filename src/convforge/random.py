"""Random generators, as ``torch.random`` and ``torch.Generator``.

Everything random in convforge (``cf.randn``/``cf.rand``, ``nn.init``, dropout, the
DataLoader's shuffling, random transforms) draws from one default :class:`Generator`, so
``cf.manual_seed(n)`` makes weight initialization, dropout masks and the order of the data
reproducible. Pass ``generator=`` (a :class:`Generator` or a ``numpy.random.Generator``) to
the functions that accept it to draw from a generator of your own instead.

A DataLoader worker thread draws from a generator of its own, seeded as torch seeds its
worker processes (``base_seed + worker_id``), so what a worker draws does not depend on how
the threads happen to be scheduled.
"""

from __future__ import annotations

import numbers
import secrets
import threading

import numpy as np

_SEED_MODULUS = 2**64  # torch keeps seeds as uint64: manual_seed(-1) is seed 2**64 - 1
_DEFAULT_SEED = 67280421310721  # the initial seed of a new torch.Generator()


def _check_seed(seed, op: str) -> int:
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool):
        raise TypeError(f"{op}: seed must be an int, but got seed={seed!r}")
    return int(seed) % _SEED_MODULUS


class Generator:
    """A pseudo-random generator with torch's seeding interface, drawing through NumPy.

    Parameters
    ----------
    device : str, optional
        Only ``'cpu'`` (the generator lives with the NumPy arrays).

    Notes
    -----
    A new generator starts from torch's default seed 67280421310721, so two new generators
    give the same numbers, as in torch; the numbers themselves are NumPy's (PCG64), not
    torch's. ``numpy`` is the underlying ``numpy.random.Generator``.
    """

    def __init__(self, device: str = "cpu") -> None:
        if str(device) != "cpu":
            raise ValueError(f"Generator: device must be 'cpu', but got device={device!r}")
        self.device = "cpu"
        self.manual_seed(_DEFAULT_SEED)

    def manual_seed(self, seed: int) -> Generator:
        """Reseed; returns the generator itself (negative seeds wrap modulo 2**64, as torch)."""
        self._seed = _check_seed(seed, "manual_seed")
        self.numpy = np.random.default_rng(self._seed)
        return self

    def initial_seed(self) -> int:
        """The seed this generator was last seeded with."""
        return self._seed

    def seed(self) -> int:
        """Reseed from the operating system's entropy; returns the new seed."""
        self.manual_seed(secrets.randbits(64))
        return self._seed

    def get_state(self) -> dict:
        """The state of the underlying bit generator (a dict, where torch gives a ByteTensor)."""
        return {"seed": self._seed, "bit_generator": self.numpy.bit_generator.state}

    def set_state(self, state: dict) -> Generator:
        """Restore a state returned by :meth:`get_state`."""
        if not isinstance(state, dict) or set(state) != {"seed", "bit_generator"}:
            raise TypeError("set_state: state must be a dict returned by Generator.get_state()")
        self._seed = int(state["seed"])
        self.numpy.bit_generator.state = state["bit_generator"]
        return self

    def __repr__(self) -> str:
        return f"Generator(device='cpu', initial_seed={self._seed})"


_global = Generator()
_global.seed()  # the default generator starts from fresh entropy, as torch's does
_worker = threading.local()  # .generator: the default generator of a DataLoader worker thread


def _current() -> Generator:
    return getattr(_worker, "generator", None) or _global


def set_thread_generator(generator: Generator | None) -> None:
    """Make ``generator`` the default generator of the calling thread (None: the global one).

    DataLoader worker threads use this; ``cf.manual_seed`` called inside a worker then seeds
    the worker's generator, as it would seed a torch worker process's.
    """
    _worker.generator = generator


def manual_seed(seed: int) -> Generator:
    """Reseed the default generator; returns it (as ``torch.manual_seed``).

    Parameters
    ----------
    seed : int
        Any int; negative seeds wrap modulo 2**64, as in torch.
    """
    return _current().manual_seed(seed)


def seed() -> int:
    """Reseed the default generator from fresh entropy; returns the seed (``torch.seed``)."""
    return _current().seed()


def initial_seed() -> int:
    """The seed of the default generator (set by :func:`manual_seed` or drawn at start-up)."""
    return _current().initial_seed()


def default_generator() -> np.random.Generator:
    """The NumPy generator that convforge draws from when no ``generator=`` is given."""
    return _current().numpy


def resolve_generator(generator: Generator | np.random.Generator | None, op: str) -> np.random.Generator:
    """The NumPy generator to draw from: ``generator``'s, or the default one when it is None."""
    if generator is None:
        return default_generator()
    if isinstance(generator, Generator):
        return generator.numpy
    if not isinstance(generator, np.random.Generator):
        raise TypeError(
            f"{op}: generator must be a convforge.Generator, a numpy.random.Generator or None, "
            f"but got generator of type {type(generator).__name__}"
        )
    return generator
