"""A layer-by-layer summary of a model: shapes, parameters, MACs and receptive fields.

:func:`summary` runs one forward pass of a random sample with a forward hook on every
layer that does work (the leaves of the module tree, and any module with parameters of
its own) and records, per call, in execution order:

* the output shape;
* the parameters (a module called twice is counted at its first call);
* the multiply-accumulates of convolutions and linear layers (``spec.macs``, the same
  count the kernels perform; other layers count 0, so FLOPs are about ``2 * MACs``);
* the receptive field (size, jump, start; see :mod:`.receptive_field`);
* for convolutions, the parameters of the fully connected layer that would map the same
  input to the same output: what local connectivity and weight sharing save.

Operations done outside modules (``out + identity`` of a residual block, ``x.flatten(1)``)
are found by walking the autograd graph back to the layers whose outputs they combine; a
sum of branches sees what its widest branch sees. Where that walk crosses an operation
that moves the grid (a pooling called as a function, a slice), the field is reported as
unknown (``None``, printed ``?``) rather than guessed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .. import nn
from .. import spec as sp
from ..autograd.function import enable_grad
from ..autograd.tensor import Tensor
from .receptive_field import ReceptiveField

__all__ = ["LayerSummary", "ModelSummary", "summary"]

_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_CONV_T = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
_MAX_POOL = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)
_AVG_POOL = (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)
_ADAPTIVE = (
    nn.AdaptiveAvgPool1d,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveAvgPool3d,
    nn.AdaptiveMaxPool1d,
    nn.AdaptiveMaxPool2d,
    nn.AdaptiveMaxPool3d,
)
_KNOWN = (*_CONV, *_CONV_T, *_MAX_POOL, *_AVG_POOL, *_ADAPTIVE, nn.Linear, nn.Flatten)


@dataclass(frozen=True)
class LayerSummary:
    """One call of one layer."""

    name: str  # dotted path in the model ('' for the model itself)
    kind: str  # class name
    output_shape: tuple[int, ...]
    params: int
    macs: int
    receptive_field: ReceptiveField | None  # None where the layer's geometry is unknown
    dense_params: int | None  # convolutions: a Linear from input to output, with bias


@dataclass(frozen=True)
class ModelSummary:
    """What :func:`summary` returns; ``str()`` prints the table."""

    model_name: str
    input_shape: tuple[int, ...]  # (C, *spatial), one sample
    layers: tuple[LayerSummary, ...]
    total_params: int
    trainable_params: int

    @property
    def total_macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.layers[-1].output_shape if self.layers else (1, *self.input_shape)

    def __str__(self) -> str:
        header = ("layer", "type", "output shape", "params", "MACs", "receptive field", "FC equivalent")
        rows = [
            (
                layer.name or "(model)",
                layer.kind,
                "x".join(map(str, layer.output_shape[1:])),
                f"{layer.params:,}",
                f"{layer.macs:,}",
                "?" if layer.receptive_field is None else layer.receptive_field.describe(),
                "" if layer.dense_params is None else f"{layer.dense_params:,}",
            )
            for layer in self.layers
        ]
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        right = {3, 4, 6}

        def line(cells) -> str:
            return "  ".join(
                c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))
            ).rstrip()

        rule = "-" * len(line(header))
        shape = "x".join(map(str, self.input_shape))
        lines = [f"{self.model_name} on a {shape} input", rule, line(header), rule, *map(line, rows), rule]
        lines.append(
            f"total: {self.total_params:,} parameters ({self.trainable_params:,} trainable), "
            f"{self.total_macs:,} MACs = {_si(self.total_macs)}MACs (about {_si(2 * self.total_macs)}FLOPs)"
        )
        lines.append(
            "receptive field: size = input cells one output sees, jump = input cells between "
            "neighbouring outputs, start = centre of the first output's field"
        )
        lines.append("FC equivalent: parameters of a fully connected layer with the same input and output")
        return "\n".join(lines)


def _si(value: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.2f} {unit}"
    return f"{value:g} "


class _Tracer:
    """Forward hooks that fill the rows and track the receptive field of every tensor."""

    def __init__(self, model: nn.Module, spatial: tuple[int, ...]) -> None:
        self.model = model
        self.spatial = spatial
        self.fields: dict[int, tuple[Tensor, ReceptiveField | None]] = {}
        self.rows: list[LayerSummary] = []
        self.seen: set[int] = set()
        self.names = {id(m): name for name, m in model.named_modules()}

    def remember(self, tensor: Tensor, field: ReceptiveField | None) -> None:
        self.fields[id(tensor)] = (tensor, field)  # the reference keeps the id unique

    def field_of(self, tensor, same_grid: bool = True) -> ReceptiveField | None:
        """The field of a tensor: recorded, or combined from the graph behind it.

        With ``same_grid`` the tensors found must have the spatial shape of ``tensor``
        (unless they already see the whole input): an operation outside any module that
        moves the grid (a functional pooling, slicing, a reshape) has unknown geometry, so
        the field is unknown rather than wrong.
        """
        if not isinstance(tensor, Tensor):
            return None
        found: list[ReceptiveField | None] = []
        stack, visited = [tensor], set()
        while stack:
            node = stack.pop()
            if id(node) in visited:
                continue
            visited.add(id(node))
            if id(node) in self.fields:
                recorded, field = self.fields[id(node)]
                moved = recorded.shape[2:] != tensor.shape[2:] or recorded.ndim != tensor.ndim
                found.append(None if same_grid and moved and not (field and field.whole) else field)
            elif node.grad_fn is not None:
                stack.extend(t for t in node.grad_fn.inputs if isinstance(t, Tensor))
        if not found or any(f is None for f in found):
            return None
        if any(f.whole for f in found):
            return next(f for f in found if f.whole)
        return max(found, key=lambda f: math.prod(f.size))

    def hook(self, module: nn.Module, args, output) -> None:
        x = args[0] if args else None
        y = output[0] if isinstance(output, (tuple, list)) else output
        if not isinstance(y, Tensor):
            return
        known = isinstance(module, _KNOWN)
        before = self.field_of(x, same_grid=not isinstance(module, (nn.Linear, nn.Flatten)))
        field, macs, dense = _layer_effect(module, x, y, before, self.spatial)
        if not known:
            # element-wise layers, containers with parameters of their own, unknown layers: the
            # graph from the output back to recorded tensors tells (unknown if it moves the grid)
            field = self.field_of(y)
        self.remember(y, field)
        own = module.parameters(recurse=not module._modules)
        params = 0 if id(module) in self.seen else sum(p.numel() for p in own)
        self.seen.add(id(module))
        name = self.names.get(id(module), "?")
        self.rows.append(
            LayerSummary(name, type(module).__name__, tuple(y.shape), params, macs, field, dense)
        )


def _whole(before: ReceptiveField | None, spatial) -> ReceptiveField | None:
    return ReceptiveField.of_input(len(spatial)).whole_input(spatial) if before is not None else None


def _layer_effect(module, x, y, before: ReceptiveField | None, spatial):
    """(receptive field after, MACs, dense-equivalent parameters) of one call."""
    n = len(spatial)
    x_shape = tuple(x.shape) if isinstance(x, Tensor) else None
    if isinstance(module, (*_CONV, *_CONV_T)):
        dims = len(module.kernel_size)
        weight = tuple(module.weight.shape)
        # the module's own parsed arguments, resolved against the shapes this call saw
        spec = module.conv_args().resolve(sp.Operand(x_shape), sp.Operand(weight), op="summary")
        macs = spec.with_batch(1).macs
        in_numel, out_numel = math.prod(x_shape[1:]), math.prod(y.shape[1:])
        dense = in_numel * out_numel + out_numel
        field = None
        if before is not None and dims == n:
            step = before.transposed if isinstance(module, _CONV_T) else before.conv
            field = step(spec.kernel_size, spec.stride, spec.padding, spec.dilation)
        return field, macs, dense
    if isinstance(module, (*_MAX_POOL, *_AVG_POOL)):
        # the module's own parsed arguments, as for convolutions
        spec = module.pool_args().resolve(sp.Operand(x_shape), op="summary")
        field = before.conv(spec.kernel_size, spec.stride, spec.padding, spec.dilation) if before else None
        return field, 0, None
    if isinstance(module, _ADAPTIVE):
        return _adaptive_field(before, x_shape, tuple(y.shape), spatial), 0, None
    if isinstance(module, nn.Linear):
        macs = math.prod(y.shape[1:]) * module.in_features
        return _whole(before, spatial), macs, None
    if isinstance(module, nn.Flatten):
        return _whole(before, spatial), 0, None
    return None, 0, None  # the caller reads the field from the autograd graph


def _adaptive_field(before, x_shape, y_shape, spatial):
    if before is None or x_shape is None:
        return None
    if all(o == 1 for o in y_shape[2:]):
        return _whole(before, spatial)
    kernel, stride = [], []
    for i, o in zip(x_shape[2:], y_shape[2:]):
        windows = sp.adaptive_bounds(i, o)
        kernel.append(max(stop - start for start, stop in windows))
        stride.append(i / o)
    return before.conv(kernel, stride, tuple((0, 0) for _ in kernel), (1,) * len(kernel))


def summary(model: nn.Module, input_shape: Sequence[int], seed: int = 0) -> ModelSummary:
    """Per layer: output shape, parameters, MACs, receptive field, dense equivalent.

    Parameters
    ----------
    model : nn.Module
        Any model; it is run once in eval mode (its mode is restored).
    input_shape : sequence of int
        One sample, without the batch: ``(C, *spatial)``, e.g. ``(3, 224, 224)``.
    seed : int
        Seed of the random input (values do not change the counts).

    Returns
    -------
    ModelSummary
        ``.layers``, ``.total_params``, ``.total_macs``; ``print()`` it for a table.

    Examples
    --------
    ``summary(cf.models.resnet18(), (3, 224, 224))`` reports 11,689,512 parameters and
    about 1.82 GMACs; its last convolution sees 435x435 input pixels.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"summary: model must be a convforge.nn.Module, but got {type(model).__name__}")
    shape = tuple(input_shape)
    if len(shape) < 2 or not all(sp._is_int(v) and v > 0 for v in shape):
        raise ValueError(
            f"summary: input_shape must be one sample's (C, *spatial) of positive ints, but got {input_shape!r}"
        )
    dtype = next((p.dtype for p in model.parameters()), np.float32)
    x = Tensor(np.random.default_rng(seed).standard_normal((1, *shape)).astype(dtype), requires_grad=True)
    spatial = shape[1:]
    tracer = _Tracer(model, spatial)
    tracer.remember(x, ReceptiveField.of_input(len(spatial)))
    handles = [
        module.register_forward_hook(tracer.hook)
        for module in model.modules()
        if not module._modules or module._parameters
    ]
    was_training = model.training
    model.eval()
    try:
        with enable_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    params = list(model.parameters())
    total = sum(p.numel() for p in params)
    trainable = sum(p.numel() for p in params if p.requires_grad)
    return ModelSummary(type(model).__name__, shape, tuple(tracer.rows), total, trainable)
