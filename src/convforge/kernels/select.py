"""Which algorithm computes which convolution: the one chooser.

Every algorithm offers ``supports(spec)`` and ``forward``, and usually the hand-written
``grad_input`` and ``grad_weight``; an algorithm without them gets both directions derived
from its ``forward`` (:mod:`.derived`, the gradients as convolutions of ``spec``). Registering
it in ``ALGORITHMS`` puts it under the parametrized parity tests and makes it selectable
with ``algorithm=``.

:func:`plan` is the front door: it always returns a :class:`Plan`, one algorithm per
direction (forward, grad input, grad weight), because the winner differs by direction; a
forced ``algorithm=`` is a plan with that name three times. ``'auto'`` takes :func:`rule`
(rules read off ``benchmarks/RESULTS.md``) or, with ``cf.backends.autotune = True``, the
fastest supporting algorithm timed once per geometry and dtype (cached in memory and, with
``cf.backends.autotune_file``, in a JSON file); a ``workspace=`` byte bound turns away
algorithms whose scratch memory per sample would pass it. A plan never holds an algorithm
whose ``supports(spec)`` is false for the dtype it computes in: the backend's dtype policy
(:func:`convforge.backend.compute_dtype`) says which that is, and the plan casts operands to
it and results back.

Exact algorithms agree with the definition to round-off; Winograd and FFT carry an
``ERROR_BOUND`` (per dtype, relative to the largest output) that :func:`error_bound` reports.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from ..backend import backends, compute_dtype
from ..spec import ConvSpec
from . import depthwise, derived, direct, fft, filter2d, gemm, im2col, reference, winograd

# name -> algorithm (a module, or an object with the same four functions)
ALGORITHMS: dict[str, ModuleType] = {
    im2col.NAME: im2col,
    reference.NAME: reference,
    gemm.NAME: gemm,
    winograd.F2.NAME: winograd.F2,
    winograd.F4.NAME: winograd.F4,
    fft.NAME: fft,
    depthwise.NAME: depthwise,
    direct.NAME: direct,
    filter2d.NAME: filter2d,
}
# fallback order when the rule's choice does not support a spec; the last always does
PREFERENCE: tuple[str, ...] = (gemm.NAME, im2col.NAME, reference.NAME)
DIRECTIONS = ("forward", "grad_input", "grad_weight")


def check_algorithm(op: str, algorithm: str) -> None:
    """Validate an ``algorithm=`` argument before any array work."""
    if not isinstance(algorithm, str):
        raise TypeError(f"{op}: algorithm must be a string, but got algorithm={algorithm!r}")
    if algorithm != "auto" and algorithm not in ALGORITHMS:
        allowed = ", ".join(repr(a) for a in ("auto", *ALGORITHMS))
        raise ValueError(f"{op}: algorithm must be one of {allowed}, but got algorithm={algorithm!r}")


def supported(spec: ConvSpec) -> list[str]:
    """Names of the algorithms that can compute ``spec``."""
    return [name for name, algo in ALGORITHMS.items() if algo.supports(spec)]


def error_bound(algorithm: str, dtype) -> float | None:
    """The tested relative error bound of an approximate algorithm; None if exact."""
    bounds = getattr(ALGORITHMS[algorithm], "ERROR_BOUND", None)
    return None if bounds is None else bounds[np.dtype(dtype)]


def _direction(name: str, direction: str):
    """The function of ``direction`` of algorithm ``name``: its own, or derived from forward."""
    algorithm = ALGORITHMS[name]
    own = getattr(algorithm, direction, None)
    if own is not None:
        return own
    return getattr(derived, direction)(algorithm.forward)


def _supports(name: str, spec: ConvSpec, direction: str = "forward") -> bool:
    """Whether ``name`` computes ``direction`` of ``spec`` (a derived direction needs its
    forward to support the gradient's convolution)."""
    algorithm = ALGORITHMS[name]
    if not algorithm.supports(spec):
        return False
    if direction == "forward" or hasattr(algorithm, direction):
        return True
    return algorithm.supports(derived.direction_spec(spec, direction))


@dataclass(frozen=True)
class Plan:
    """One algorithm per direction, as a kernel of the kernel contract.

    ``compute_dtype`` is what the algorithms compute in (the backend's policy for the
    operands' dtype); operands of another dtype are cast to it and results cast back.
    """

    forward_algorithm: str
    grad_input_algorithm: str
    grad_weight_algorithm: str
    compute_dtype: str = "float32"

    def supports(self, spec: ConvSpec) -> bool:
        spec = spec.with_dtype(self.compute_dtype)
        return all(_supports(name, spec, d) for name, d in zip(self.names, DIRECTIONS))

    @property
    def names(self) -> tuple[str, str, str]:
        return (self.forward_algorithm, self.grad_input_algorithm, self.grad_weight_algorithm)

    def _run(self, direction: str, name: str, a, b, spec: ConvSpec, *shape):
        stored = a.dtype
        computed = compute_dtype(stored)  # the policy for the arrays given (float16 -> float32)
        a, b = (v.astype(computed, copy=False) for v in (a, b))
        result = _direction(name, direction)(a, b, spec.with_dtype(computed.name), *shape)
        return result.astype(stored, copy=False)

    def forward(self, x, w, spec):
        return self._run("forward", self.forward_algorithm, x, w, spec)

    def grad_input(self, gy, w, spec, x_shape):
        return self._run("grad_input", self.grad_input_algorithm, gy, w, spec, x_shape)

    def grad_weight(self, x, gy, spec, w_shape):
        return self._run("grad_weight", self.grad_weight_algorithm, x, gy, spec, w_shape)


# --------------------------------------------------------------------------------------
# rules
# --------------------------------------------------------------------------------------
def _is_depthwise(spec: ConvSpec) -> bool:
    return spec.groups == spec.in_channels and spec.groups > 1 and spec.ndim <= 2


def rule(spec: ConvSpec, direction: str) -> str:
    """The algorithm the benchmark measurements favour for ``spec`` in ``direction``.

    Read off ``benchmarks/run.py`` on the 2-core AVX-512 machine (``benchmarks/RESULTS.md``):

    - depthwise: the compiled direct kernel; from 200 taps on (31x31) the FFT, whose cost
      does not grow with the kernel;
    - image filtering (at most 16 channel pairs per group on a plane of 256x256 and up, stride
      1): ``filter2d`` (one compiled pass) up to 7x7 for forward and input gradient, else
      ``gemm`` from 25 taps; FFT from 100;
    - dense large kernels at stride 1: FFT for long 1-D filters (32 taps and up) and for
      2-D kernels of 100 taps and up (11x11) at batch 4 and up; a 7x7 stays with im2col;
    - pointwise at stride 1: shift-and-accumulate GEMM (one GEMM per group, nothing copied);
      strided pointwise and every pointwise weight gradient: im2col (OpenBLAS is slow on
      the per-sample GEMMs with a small (Og, Cg) output that ``gemm`` would run);
    - very few channels at stride 1 (at most 3 in and 16 out, one group, 2-D, a plane below
      256x256: LeNet's 1->6 5x5): the compiled direct kernel, every direction (1 thread,
      b64: 1->6 0.27/0.39/0.39 ms vs im2col's 0.54/0.95/0.92; 6->16 at 14x14 loses to im2col);
    - few channels per group (LeNet, a 3-channel stem, ResNeXt's 4) at small batch: im2col,
      whose single GEMM has the long inner dimension those layers lack; at batch 8 and up
      the grouped GEMMs of ``gemm`` win;
    - dense 3x3 at stride 1 (one group, 16 channels and up), every direction: Winograd
      F(4x4) from 32 tiles of 4x4 per call (batch x tiles of the plane), else F(2x2) from
      48 tiles of 2x2, else the rules below. Measured on ResNet-18's layers, one thread, CPU
      time, best of 5 (the 2-core machine was too loaded for wall-clock timing), forward ms
      F4 / F2 / im2col / gemm: 64@56 b8 10.6 / 15.2 / 25.7 / 20.6; 128@28 b1 1.0 / 1.3 /
      2.3 / 2.3; 256@14 b1 2.3 / 1.9 / 2.5 / 2.9; 256@14 b8 10.1 / 11.4 / 18.6 / 22.5;
      512@7 b1 7.6 / 6.7 / 3.3 / 5.1; 512@7 b8 13.7 / 16.7 / 23.6 / 27.3 (the input
      gradient alike; weight gradient 64@56 b8 13.1 / 18.7 / 25.6 / 21.7, 512@7 b8
      20.4 / 23.6 / 21.2 / 28.6, 512@7 b1 11.0 / 7.9 / 2.8 / 4.3; the 512-channel Winograd
      forwards with the weight transform cached, as in inference). With few tiles the
      weight transform (4x the weights for F4) and the weight-sized GEMM operands are not
      paid back;
    - everything else (3x3, strided, dilated, 3-D): im2col forward; ``gemm`` for the input
      gradient of large planes (56x56 and up: no column buffer to fold back) and for the
      weight gradient of strided layers (no polyphase column copy).

    May name an algorithm that does not support ``spec`` (without Numba, say);
    :func:`plan` then falls back along :data:`PREFERENCE`.
    """
    taps = math.prod(spec.kernel_size)
    c_g = spec.in_channels // spec.groups
    stride_one = all(s == 1 for s in spec.stride)
    batch = spec.in_shape[0]
    if _is_depthwise(spec):
        return fft.NAME if taps >= 200 and stride_one else depthwise.NAME
    pairs = c_g * (spec.out_channels // spec.groups)
    if stride_one and pairs <= 16 and math.prod(spec.in_shape[2:]) >= 256 * 256:
        # image filtering (a few channels, a large plane): im2col's copy is taps x the image;
        # shift-and-accumulate from 5x5, the FFT from 10x10 (1 channel at 1024^2, 31x31:
        # im2col 1233 ms, gemm 222 ms, fft 27 ms)
        if taps >= 100:
            return fft.NAME
        if taps <= 49 and spec.ndim == 2 and spec.dilation == (1, 1) and direction != "grad_weight":
            return filter2d.NAME  # one pass over the plane (3x3 at 4096^2: 10 ms, gemm 200 ms)
        if taps >= 25:
            return gemm.NAME
    long_1d = spec.ndim == 1 and taps >= 32
    if stride_one and c_g >= 8 and (long_1d or (taps >= 100 and batch >= 4)):
        return fft.NAME
    if taps == 1:  # pointwise: no copy at stride 1; strided, im2col's column copy is small
        return gemm.NAME if stride_one and direction != "grad_weight" else im2col.NAME
    few = spec.groups == 1 and c_g <= 3 and spec.out_channels <= 16 and spec.ndim == 2
    if stride_one and few and math.prod(spec.in_shape[2:]) < 256 * 256:  # LeNet's 1->6
        return direct.NAME  # im2col's thin GEMM and column copy cost more than the work
    dense_3x3 = spec.ndim == 2 and spec.kernel_size == (3, 3) and spec.dilation == (1, 1)
    if dense_3x3 and stride_one and spec.groups == 1 and c_g >= 16:
        plane = spec.in_shape[2:] if direction == "grad_input" else spec.out_spatial
        if batch * math.prod(-(-s // 4) for s in plane) >= 32:
            return winograd.F4.NAME
        if batch * math.prod(-(-s // 2) for s in plane) >= 48:
            return winograd.F2.NAME
    if c_g < 16:
        return gemm.NAME if spec.groups > 1 and batch >= 8 else im2col.NAME
    if direction == "grad_input" and math.prod(spec.in_shape[2:]) >= 56 * 56:
        return gemm.NAME
    if direction == "grad_weight" and not stride_one:
        return gemm.NAME
    return im2col.NAME


def workspace_bytes(name: str, spec: ConvSpec) -> int:
    """Scratch memory per sample that algorithm ``name`` allocates for ``spec``'s forward.

    im2col copies every window: ``C_in * taps`` values per output cell (a 7x7 kernel over a
    1024x1024 float32 plane: 196 MiB); the other algorithms hold at most a few planes.
    """
    if name != im2col.NAME:
        return 0
    itemsize = 8 if spec.dtype == "float64" else 4
    return spec.in_channels * math.prod(spec.kernel_size) * math.prod(spec.out_spatial) * itemsize


def _auto_name(spec: ConvSpec, direction: str, workspace: int | None, op: str) -> str:
    """:func:`rule`'s choice, or the first of :data:`PREFERENCE` that supports ``spec`` and fits."""

    def usable(name: str) -> bool:
        fits = workspace is None or workspace_bytes(name, spec) <= workspace
        return fits and _supports(name, spec, direction)

    name = rule(spec, direction)
    if usable(name):
        return name
    fallback = next((n for n in PREFERENCE if usable(n)), None)
    if fallback is None:  # a spec no kernel takes (kernels get zero-padded specs)
        raise ValueError(f"{op}: no algorithm supports this convolution: {spec}")
    return fallback


def plan(spec: ConvSpec, algorithm: str = "auto", workspace: int | None = None, op: str = "conv") -> Plan:
    """The plan that computes ``spec``: the only place an algorithm is chosen.

    ``algorithm`` forces one algorithm for every direction (``ValueError`` where it does not
    support ``spec``); ``'auto'`` picks per direction, autotuned if ``backends.autotune``,
    else by :func:`rule`, among the algorithms whose scratch memory per sample
    (:func:`workspace_bytes`) fits ``workspace`` bytes (None: no bound). ``op`` names the
    call in errors.
    """
    check_algorithm(op, algorithm)
    computed = spec.with_dtype(compute_dtype(spec.dtype).name)
    if algorithm != "auto":
        if not all(_supports(algorithm, computed, d) for d in DIRECTIONS):
            raise ValueError(f"{op}: algorithm={algorithm!r} does not support this convolution: {spec}")
        return Plan(algorithm, algorithm, algorithm, computed.dtype)
    if backends.autotune:
        return _tuned_plan(computed, workspace)
    return Plan(*(_auto_name(computed, d, workspace, op) for d in DIRECTIONS), computed.dtype)


# --------------------------------------------------------------------------------------
# autotune
# --------------------------------------------------------------------------------------
_TUNED: dict[str, list[str]] = {}
_LOADED_FILE: list[str | None] = [None]


def _key(spec: ConvSpec, workspace: int | None = None) -> str:
    return json.dumps(
        [
            spec.in_shape,
            spec.weight_shape,
            spec.stride,
            spec.padding,
            spec.dilation,
            spec.groups,
            spec.dtype,
            workspace,
        ]
    )


def _load(path: str | None) -> None:
    if path is None or _LOADED_FILE[0] == path:
        return
    _LOADED_FILE[0] = path
    if os.path.exists(path):
        with open(path) as f:
            for key, names in json.load(f).items():
                _TUNED.setdefault(key, names)


def _save(path: str | None) -> None:
    if path is None:
        return
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(_TUNED, f, indent=0, sort_keys=True)
    os.replace(tmp, path)


def clear_autotune_cache() -> None:
    """Forget every tuned plan held in memory (the file, if any, is left alone)."""
    _TUNED.clear()
    _LOADED_FILE[0] = None


def _time(call, repeats: int = 2) -> float:
    call()  # warm up (and compile)
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


def time_algorithms(
    spec: ConvSpec, candidates=None, workspace: int | None = None
) -> dict[str, dict[str, float]]:
    """Seconds per call of every candidate, per direction, on random data of ``spec``
    (in ``spec.dtype``; only candidates that support it and fit ``workspace``)."""
    rng = np.random.default_rng(0)
    dtype = np.dtype(spec.dtype)
    x = rng.standard_normal(spec.in_shape).astype(dtype)
    w = rng.standard_normal(spec.weight_shape).astype(dtype)
    gy = rng.standard_normal(spec.out_shape).astype(dtype)
    names = [
        n
        for n in (candidates or ALGORITHMS)
        if n != reference.NAME
        and _supports(n, spec)
        and (workspace is None or workspace_bytes(n, spec) <= workspace)
    ]
    times: dict[str, dict[str, float]] = {d: {} for d in DIRECTIONS}
    for name in names:
        for direction, args in (
            ("forward", (x, w, spec)),
            ("grad_input", (gy, w, spec, x.shape)),
            ("grad_weight", (x, gy, spec, w.shape)),
        ):
            if _supports(name, spec, direction):
                call = _direction(name, direction)
                times[direction][name] = _time(lambda c=call, a=args: c(*a))
    return times


def _tuned_plan(spec: ConvSpec, workspace: int | None = None) -> Plan:
    _load(backends.autotune_file)
    key = _key(spec, workspace)
    names = _TUNED.get(key)
    if names is None or not all(n in ALGORITHMS and _supports(n, spec, d) for n, d in zip(names, DIRECTIONS)):
        times = time_algorithms(spec) if workspace is None else time_algorithms(spec, workspace=workspace)
        names = [min(times[d], key=times[d].get) for d in DIRECTIONS]
        _TUNED[key] = names
        _save(backends.autotune_file)
    return Plan(*names, spec.dtype)
