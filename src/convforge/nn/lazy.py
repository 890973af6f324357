"""Lazy layers: LazyLinear, LazyConv*, LazyConvTranspose*, LazyBatchNorm*, as torch's.

A lazy layer is built without its input size (``in_features``, ``in_channels`` or
``num_features``, shown as 0); its parameters and running statistics start as
:class:`~convforge.nn.uninitialized.UninitializedParameter`/``UninitializedBuffer``. A
forward pre-hook reads the size from the first input (``input.shape[-1]`` for Linear,
``shape[1]`` of a batched input or ``shape[0]`` of an unbatched one for the others),
materializes the placeholders, initializes them as the eager layer does, and turns the
module into that eager layer (``LazyLinear`` becomes ``Linear``: ``cls_to_become``).
``load_state_dict`` materializes the placeholders from the saved shapes instead. As in
torch, an optimizer may be built before the first call: it holds the same objects.
"""

from __future__ import annotations

from ..autograd.function import no_grad
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .linear import Linear
from .module import Module
from .normalization import BatchNorm1d, BatchNorm2d, BatchNorm3d
from .normalization_extra import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d
from .uninitialized import UninitializedBuffer, UninitializedParameter, is_lazy

__all__ = [
    "LazyBatchNorm1d",
    "LazyBatchNorm2d",
    "LazyBatchNorm3d",
    "LazyConv1d",
    "LazyConv2d",
    "LazyConv3d",
    "LazyConvTranspose1d",
    "LazyConvTranspose2d",
    "LazyConvTranspose3d",
    "LazyInstanceNorm1d",
    "LazyInstanceNorm2d",
    "LazyInstanceNorm3d",
    "LazyLinear",
    "LazyModuleMixin",
]


def _infer_parameters(module: LazyModuleMixin, args: tuple) -> None:
    """The forward pre-hook: initialize from the first input, then become the eager layer."""
    if not args:
        raise TypeError(f"{type(module).__name__}: forward needs an input to infer its size from")
    module.initialize_parameters(*args)
    if module.has_uninitialized_params():
        raise RuntimeError(
            f"{type(module).__name__}: module {module._get_name()} has not been fully initialized"
        )
    module._initialize_hook.remove()
    del module._initialize_hook
    if module.cls_to_become is not None:
        module.__class__ = module.cls_to_become


class LazyModuleMixin:
    """What every lazy layer shares: the pre-hook, ``has_uninitialized_params`` and the
    placeholders' handling in ``load_state_dict`` and ``reset_parameters``.

    Subclasses call ``_make_lazy`` at the end of their constructor and implement
    ``initialize_parameters(input)`` and ``_sizes_from_state()``.
    """

    cls_to_become: type | None = None
    _lazy_constructing = False

    def _make_lazy(self, names: tuple[str, ...]) -> None:
        """Replace the named parameters/buffers by placeholders of the same dtype and register the hook."""
        for name in names:
            value = getattr(self, name)
            if value is None:
                continue
            if name in self._parameters:
                self._parameters[name] = UninitializedParameter(dtype=value.dtype)
            else:
                self._buffers[name] = UninitializedBuffer(dtype=value.dtype)
        object.__setattr__(self, "_lazy_constructing", False)
        self._initialize_hook = self.register_forward_pre_hook(_infer_parameters)

    def has_uninitialized_params(self) -> bool:
        """True while a parameter or buffer of this module is still a placeholder."""
        tensors = list(self._parameters.values()) + list(self._buffers.values())
        return any(is_lazy(t) for t in tensors)

    def initialize_parameters(self, input) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _sizes_from_state(self) -> None:
        """Set the inferred size attribute from materialized weights (after ``load_state_dict``)."""

    def _materialize(self, shapes: dict[str, tuple[int, ...]]) -> None:
        with no_grad():
            for name, shape in shapes.items():
                tensor = self._parameters.get(name, self._buffers.get(name))
                if is_lazy(tensor):
                    tensor.materialize(shape)
            self.reset_parameters()

    def reset_parameters(self) -> None:
        # the eager constructor built placeholder-sized weights: nothing to draw for them
        if self._lazy_constructing or self.has_uninitialized_params():
            return
        super().reset_parameters()

    def reset_running_stats(self) -> None:
        if self._lazy_constructing or self.has_uninitialized_params():
            return
        super().reset_running_stats()


def _begin(module: Module) -> None:
    """Mark construction: the eager constructor's reset of its placeholder-sized weights is skipped."""
    object.__setattr__(module, "_lazy_constructing", True)


class LazyLinear(LazyModuleMixin, Linear):
    """A :class:`Linear` whose ``in_features`` is ``input.shape[-1]`` of the first input.

    Shape: input (*, H_in), output (*, out_features); weight (out_features, H_in) once known.
    """

    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None) -> None:
        _begin(self)
        super().__init__(1, out_features, bias, device, dtype)
        self.in_features = 0
        self._make_lazy(("weight", "bias"))

    def initialize_parameters(self, input) -> None:
        if not self.has_uninitialized_params():
            return
        if len(input.shape) == 0:
            raise ValueError(
                f"{type(self).__name__}: input must have at least 1 dimension, but got a 0-d input"
            )
        self.in_features = int(input.shape[-1])
        shapes = {"weight": (self.out_features, self.in_features), "bias": (self.out_features,)}
        self._materialize(shapes)

    def _sizes_from_state(self) -> None:
        self.in_features = self.weight.shape[1]


class _LazyConvXdMixin(LazyModuleMixin):
    """Lazy convolutions: ``in_channels`` from dim 1 (batched) or 0 (unbatched) of the input."""

    def _in_channels_of(self, input) -> int:
        ndim = len(input.shape)
        if ndim not in (self._ndim + 1, self._ndim + 2):
            raise ValueError(
                f"{type(self).__name__}: expected {self._ndim + 1}D (unbatched) or {self._ndim + 2}D "
                f"(batched) input, but got input of shape {tuple(input.shape)}"
            )
        channels = int(input.shape[0] if ndim == self._ndim + 1 else input.shape[1])
        if channels % self.groups:
            raise ValueError(
                f"{type(self).__name__}: groups must divide in_channels, but got groups={self.groups}, "
                f"in_channels={channels} (from the input of shape {tuple(input.shape)})"
            )
        return channels

    def initialize_parameters(self, input, *args) -> None:
        if not self.has_uninitialized_params():
            return
        self.in_channels = self._in_channels_of(input)
        if self.transposed:
            weight = (self.in_channels, self.out_channels // self.groups, *self.kernel_size)
        else:
            weight = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
        self._materialize({"weight": weight, "bias": (self.out_channels,)})

    def _sizes_from_state(self) -> None:
        weight = self.weight.shape
        self.in_channels = weight[0] if self.transposed else weight[1] * self.groups


class _LazyConvNd(_LazyConvXdMixin):
    """The Conv*d signature without ``in_channels`` (the eager base comes next in the MRO)."""

    def __init__(
        self,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ) -> None:
        _begin(self)
        # in_channels=groups: a valid placeholder for the eager checks; replaced below
        super().__init__(
            groups, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
            device, dtype,
        )  # fmt: skip
        self.in_channels = 0
        self._make_lazy(("weight", "bias"))


class _LazyConvTransposeNd(_LazyConvXdMixin):
    """The ConvTranspose*d signature without ``in_channels``."""

    def __init__(
        self,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups: int = 1,
        bias: bool = True,
        dilation=1,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ) -> None:
        _begin(self)
        super().__init__(
            groups, out_channels, kernel_size, stride, padding, output_padding, groups, bias, dilation,
            padding_mode, device, dtype,
        )  # fmt: skip
        self.in_channels = 0
        self._make_lazy(("weight", "bias"))


class LazyConv1d(_LazyConvNd, Conv1d):
    """A :class:`Conv1d` whose ``in_channels`` is read from the first input. Shape: as Conv1d."""

    cls_to_become = Conv1d


class LazyConv2d(_LazyConvNd, Conv2d):
    """A :class:`Conv2d` whose ``in_channels`` is read from the first input. Shape: as Conv2d."""

    cls_to_become = Conv2d


class LazyConv3d(_LazyConvNd, Conv3d):
    """A :class:`Conv3d` whose ``in_channels`` is read from the first input. Shape: as Conv3d."""

    cls_to_become = Conv3d


class LazyConvTranspose1d(_LazyConvTransposeNd, ConvTranspose1d):
    """A :class:`ConvTranspose1d` whose ``in_channels`` is read from the first input."""

    cls_to_become = ConvTranspose1d


class LazyConvTranspose2d(_LazyConvTransposeNd, ConvTranspose2d):
    """A :class:`ConvTranspose2d` whose ``in_channels`` is read from the first input."""

    cls_to_become = ConvTranspose2d


class LazyConvTranspose3d(_LazyConvTransposeNd, ConvTranspose3d):
    """A :class:`ConvTranspose3d` whose ``in_channels`` is read from the first input."""

    cls_to_become = ConvTranspose3d


class _LazyBatchNorm(LazyModuleMixin):
    """BatchNorm's signature without ``num_features``, inferred from dim 1 of the first input.

    As in torch, a layer with ``affine=False`` and ``track_running_stats=False`` has nothing
    to infer: it keeps ``num_features=0``.
    """

    def __init__(
        self,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ) -> None:
        _begin(self)
        super().__init__(1, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)
        self.num_features = 0
        self._make_lazy(("weight", "bias", "running_mean", "running_var"))

    def initialize_parameters(self, input) -> None:
        if not self.has_uninitialized_params():
            return
        self._check_input_dim(input)
        self.num_features = int(input.shape[self._channel_axis(input)])
        shape = (self.num_features,)
        self._materialize(dict.fromkeys(("weight", "bias", "running_mean", "running_var"), shape))

    def _channel_axis(self, input) -> int:
        return 1

    def _sizes_from_state(self) -> None:
        for tensor in (self.weight, self.running_mean):
            if tensor is not None:
                self.num_features = tensor.shape[0]
                return


class LazyBatchNorm1d(_LazyBatchNorm, BatchNorm1d):
    """A :class:`BatchNorm1d` whose ``num_features`` is read from the first input. Shape: as BatchNorm1d."""

    cls_to_become = BatchNorm1d


class LazyBatchNorm2d(_LazyBatchNorm, BatchNorm2d):
    """A :class:`BatchNorm2d` whose ``num_features`` is read from the first input. Shape: as BatchNorm2d."""

    cls_to_become = BatchNorm2d


class LazyBatchNorm3d(_LazyBatchNorm, BatchNorm3d):
    """A :class:`BatchNorm3d` whose ``num_features`` is read from the first input. Shape: as BatchNorm3d."""

    cls_to_become = BatchNorm3d


class _LazyInstanceNorm(_LazyBatchNorm):
    """InstanceNorm's lazy form: torch's defaults here are ``affine=True``,
    ``track_running_stats=True`` (those of its lazy base). An unbatched input's channels are
    its dimension 0 (torch 2.13 reads dimension 1 there too, then rejects the input)."""

    def _channel_axis(self, input) -> int:
        return 0 if len(input.shape) == self._spatial + 1 else 1


class LazyInstanceNorm1d(_LazyInstanceNorm, InstanceNorm1d):
    """An :class:`InstanceNorm1d` whose ``num_features`` is read from the first input."""

    cls_to_become = InstanceNorm1d


class LazyInstanceNorm2d(_LazyInstanceNorm, InstanceNorm2d):
    """An :class:`InstanceNorm2d` whose ``num_features`` is read from the first input."""

    cls_to_become = InstanceNorm2d


class LazyInstanceNorm3d(_LazyInstanceNorm, InstanceNorm3d):
    """An :class:`InstanceNorm3d` whose ``num_features`` is read from the first input."""

    cls_to_become = InstanceNorm3d
