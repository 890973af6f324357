"""Random index and event sampling as torch's: ``randperm``, ``bernoulli``, ``multinomial``.

All draw from the generator of :mod:`convforge.random` (seeded by ``cf.manual_seed``) unless
a ``generator`` is given; the results are plain (non-differentiable) tensors.
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import random as cf_random
from ..device import check_available
from .tensor import Tensor, as_tensor

__all__ = ["bernoulli", "multinomial", "randperm"]


def randperm(n: int, *, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A random permutation of ``0 .. n-1`` (int64 unless ``dtype`` says otherwise)."""
    if device is not None:
        check_available(device, "randperm")
    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 0:
        raise ValueError(f"randperm: n must be a non-negative int, but got n={n!r}")
    rng = cf_random.resolve_generator(generator, "randperm")
    return Tensor(rng.permutation(int(n)).astype(dtype or np.int64), requires_grad=requires_grad)


def bernoulli(input, p=None, *, generator=None) -> Tensor:
    """1 with probability ``input`` (or ``p``) elementwise, else 0; the dtype of ``input``."""
    probs = input if isinstance(input, Tensor) else as_tensor(input)
    chance = probs.array if p is None else np.broadcast_to(p, probs.shape)
    if np.any((chance < 0) | (chance > 1)):
        raise RuntimeError("bernoulli: all probabilities must be in [0, 1]")
    rng = cf_random.resolve_generator(generator, "bernoulli")
    return Tensor((rng.random(probs.shape) < chance).astype(probs.dtype))


def multinomial(input, num_samples: int, replacement: bool = False, *, generator=None) -> Tensor:
    """Indices drawn by the (unnormalized) weights of each row of ``input``.

    Shape: (C,) -> (num_samples,); (N, C) -> (N, num_samples); int64.
    """
    weights = np.asarray(input.array if isinstance(input, Tensor) else input, dtype=np.float64)
    if weights.ndim not in (1, 2):
        raise RuntimeError(f"prob_dist must be 1 or 2 dim, but got {weights.ndim}")
    if np.any(weights < 0) or not np.all(np.isfinite(weights)):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    rows = weights.reshape(-1, weights.shape[-1])
    if not replacement and num_samples > rows.shape[1]:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    if np.any(rows.sum(axis=1) <= 0):
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    rng = cf_random.resolve_generator(generator, "multinomial")
    if replacement:
        drawn = np.stack([rng.choice(row.size, size=num_samples, p=row / row.sum()) for row in rows])
    else:
        # a race of exponential clocks with rates = weights: the first num_samples to ring are a
        # draw without replacement; zero weights never ring and come last, in random order (torch)
        with np.errstate(divide="ignore"):
            clocks = rng.exponential(size=rows.shape) / rows
        drawn = np.lexsort((rng.random(rows.shape), clocks), axis=1)[:, :num_samples]
    out = drawn.astype(np.int64)
    return Tensor(out[0] if weights.ndim == 1 else out)
