"""Which algorithm computes which convolution.

The only module that knows which algorithm wins where. Every algorithm module offers
``supports(spec)``, ``forward``, ``grad_input`` and ``grad_weight``; registering it in
``ALGORITHMS`` puts it under the parametrized parity tests and makes it selectable with
``algorithm=``.
"""

from __future__ import annotations

from types import ModuleType

from ..spec import ConvSpec
from . import im2col, reference

# name -> module; 'auto' tries them in PREFERENCE order and takes the first that supports
ALGORITHMS: dict[str, ModuleType] = {
    im2col.NAME: im2col,
    reference.NAME: reference,
}
PREFERENCE: tuple[str, ...] = (im2col.NAME,)


def check_algorithm(op: str, algorithm: str) -> None:
    """Validate an ``algorithm=`` argument before any array work."""
    if not isinstance(algorithm, str):
        raise TypeError(f"{op}: algorithm must be a string, but got algorithm={algorithm!r}")
    if algorithm != "auto" and algorithm not in ALGORITHMS:
        allowed = ", ".join(repr(a) for a in ("auto", *ALGORITHMS))
        raise ValueError(f"{op}: algorithm must be one of {allowed}, but got algorithm={algorithm!r}")


def kernel_for(spec: ConvSpec, algorithm: str = "auto", op: str = "conv") -> ModuleType:
    """The algorithm module that will compute ``spec``."""
    check_algorithm(op, algorithm)
    if algorithm != "auto":
        module = ALGORITHMS[algorithm]
        if not module.supports(spec):
            raise ValueError(f"{op}: algorithm={algorithm!r} does not support this convolution: {spec}")
        return module
    for name in PREFERENCE:
        if ALGORITHMS[name].supports(spec):
            return ALGORITHMS[name]
    return reference
