"""GroupNorm, LayerNorm, RMSNorm, InstanceNorm1d/2d/3d, LocalResponseNorm and SyncBatchNorm, as torch's:
the same constructor arguments, parameters, buffers, state dict keys and reprs."""

from __future__ import annotations

import warnings

import numpy as np

from .. import functional as F
from ..autograd.tensor import Tensor
from . import init
from .conv import factory_dtype, positive_int
from .module import Module
from .normalization import _BatchNorm
from .parameter import Parameter

__all__ = [
    "GroupNorm",
    "InstanceNorm1d",
    "InstanceNorm2d",
    "InstanceNorm3d",
    "LayerNorm",
    "CrossMapLRN2d",
    "LocalResponseNorm",
    "RMSNorm",
    "SyncBatchNorm",
]


def _shape_tuple(op: str, normalized_shape) -> tuple[int, ...]:
    if isinstance(normalized_shape, (int, np.integer)) and not isinstance(normalized_shape, bool):
        normalized_shape = (normalized_shape,)
    try:
        shape = tuple(positive_int(op, "normalized_shape", s) for s in normalized_shape)
    except TypeError as e:
        raise TypeError(
            f"{op}: normalized_shape must be an int or a sequence of positive ints, but got {normalized_shape!r}"
        ) from e
    return shape


class GroupNorm(Module):
    """Normalize each group of ``num_channels / num_groups`` channels; see ``F.group_norm``.

    Shape: input (N, C, *) with C = num_channels; output as input. weight (C,) ones, bias (C,) zeros.
    """

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.num_groups = positive_int("GroupNorm", "num_groups", num_groups)
        self.num_channels = positive_int("GroupNorm", "num_channels", num_channels)
        if num_channels % num_groups:
            raise ValueError(
                f"GroupNorm: num_groups must divide num_channels, but got num_groups={num_groups}, "
                f"num_channels={num_channels}"
            )
        self.eps, self.affine = eps, affine
        dtype = factory_dtype("GroupNorm", device, dtype)
        self.register_parameter("weight", Parameter(np.empty(num_channels, dtype=dtype)) if affine else None)
        self.register_parameter(
            "bias", Parameter(np.empty(num_channels, dtype=dtype)) if affine and bias else None
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.affine_init_(self.weight, self.bias)

    def forward(self, input) -> Tensor:
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, bias={self.bias is not None}"


class LayerNorm(Module):
    """Normalize over the trailing ``normalized_shape`` axes; see ``F.layer_norm``.

    Shape: input (*, *normalized_shape); output as input. weight ones, bias zeros, both
    ``normalized_shape``.
    """

    def __init__(
        self,
        normalized_shape,
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        self.normalized_shape = _shape_tuple("LayerNorm", normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        dtype = factory_dtype("LayerNorm", device, dtype)
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype))
            if bias:
                self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        init.affine_init_(self.weight, self.bias)

    def forward(self, input) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
            f"bias={self.bias is not None}"
        )


class RMSNorm(Module):
    """``x / sqrt(mean(x^2) + eps) * weight`` over the trailing axes; see ``F.rms_norm``.

    Shape: input (*, *normalized_shape); output as input; weight ones of ``normalized_shape``.
    """

    def __init__(
        self,
        normalized_shape,
        eps: float | None = None,
        elementwise_affine: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        self.normalized_shape = _shape_tuple("RMSNorm", normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        dtype = factory_dtype("RMSNorm", device, dtype)
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype))
        else:
            self.register_parameter("weight", None)

    def reset_parameters(self) -> None:
        init.affine_init_(self.weight)

    def forward(self, input) -> Tensor:
        return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class _InstanceNorm(_BatchNorm):
    """Per-sample, per-channel normalization; parameters and buffers as BatchNorm's, as torch.

    Defaults differ from BatchNorm: ``affine=False``, ``track_running_stats=False``. An
    unbatched input (C, *) is accepted and treated as a batch of one.
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)

    def _check_input_dim(self, input) -> None:
        ndim = len(np.shape(input.array if isinstance(input, Tensor) else input))
        if ndim not in (self._spatial + 1, self._spatial + 2):
            raise ValueError(
                f"{type(self).__name__}: expected {self._spatial + 1}D (unbatched) or "
                f"{self._spatial + 2}D (batched) input, but got {ndim}D input"
            )

    def forward(self, input) -> Tensor:
        self._check_input_dim(input)
        x = input if isinstance(input, Tensor) else Tensor(np.asarray(input))
        batched = x.ndim == self._spatial + 2
        if not batched:
            x = x.unsqueeze(0)
        if x.shape[1] != self.num_features and not self.affine:
            warnings.warn(
                f"input's size at dim=1 does not match num_features ({self.num_features}); "
                "you can silence this warning by not passing in num_features, which is not used "
                "because affine=False",
                UserWarning,
                stacklevel=2,
            )
        use_input_stats = self.training or not self.track_running_stats
        y = F.instance_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            use_input_stats,
            0.0 if self.momentum is None else self.momentum,
            self.eps,
        )
        return y if batched else y.squeeze(0)


class InstanceNorm1d(_InstanceNorm):
    """Instance normalization of (N, C, L) or (C, L) input. Shape: unchanged."""

    _spatial = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization of (N, C, H, W) or (C, H, W) input. Shape: unchanged."""

    _spatial = 2


class InstanceNorm3d(_InstanceNorm):
    """Instance normalization of (N, C, D, H, W) or (C, D, H, W) input. Shape: unchanged."""

    _spatial = 3


class LocalResponseNorm(Module):
    """Normalize each channel by its ``size`` neighbours' mean square; see ``F.local_response_norm``.

    Shape: input (N, C, *); output as input.
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size = positive_int("LocalResponseNorm", "size", size)
        self.alpha, self.beta, self.k = alpha, beta, k

    def forward(self, input) -> Tensor:
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class SyncBatchNorm(_BatchNorm):
    """Batch normalization synchronized across processes, as torch's; convforge runs one
    process, where it is BatchNorm over any (N, C, *) input (as torch's without a process
    group). ``convert_sync_batchnorm`` swaps a model's BatchNorm layers for it.

    Shape: (N, C, *), unchanged.
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        process_group=None,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)
        self.process_group = process_group

    def _check_input_dim(self, input) -> None:
        ndim = len(np.shape(input.array if isinstance(input, Tensor) else input))
        if ndim < 2:
            raise ValueError(f"SyncBatchNorm: expected at least 2D input, but got {ndim}D input")

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group=None) -> Module:
        """``module`` with every BatchNorm1d/2d/3d (itself or nested) replaced by a SyncBatchNorm
        holding the same parameters and running statistics (the objects themselves, as torch)."""
        if isinstance(module, _BatchNorm) and not isinstance(module, (cls, _InstanceNorm)):
            converted = cls(
                module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats,
                process_group, bias=module.bias is not None,
            )  # fmt: skip
            for name in ("weight", "bias"):
                if getattr(module, name) is not None:
                    converted.register_parameter(name, getattr(module, name))
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                converted.register_buffer(name, getattr(module, name))
            converted.train(module.training)
            return converted
        for name, child in list(module.named_children()):
            module.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return module


def _cross_map_windows(channels: int, size: int) -> np.ndarray:
    """(C, C) 0/1 matrix: row c marks the channels torch's legacy CrossMapLRN2d sums for c.

    Built by running torch's running-sum recurrence on indicator rows: the window of c is
    ``c - pre_pad + 1 .. c + pre_pad - 1`` with ``pre_pad = (size - 1) // 2 + 1``, except that
    the recurrence never subtracts channel 0 (it removes channel ``c - pre_pad`` only for
    ``c > pre_pad``), so channel 0 stays in every later window; reproduced as torch computes it.
    """
    pre_pad = int((size - 1) / 2 + 1)
    windows = np.zeros((channels, channels))
    windows[0, : min(pre_pad, channels)] = 1
    for c in range(1, channels):
        windows[c] = windows[c - 1]
        if c < channels - pre_pad + 1:
            windows[c, c + pre_pad - 1] += 1
        if c > pre_pad:
            windows[c, c - pre_pad] -= 1
    return windows


class CrossMapLRN2d(Module):
    """torch's legacy cross-channel LRN: ``x * (k + alpha / size * window sum of x^2)^-beta``
    with that module's exact (and peculiar) windows; see :func:`_cross_map_windows`. The
    gradient is the exact one of this forward (torch's legacy backward is its own
    approximation and fails for some sizes).

    Shape: (N, C, H, W), unchanged.
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1) -> None:
        super().__init__()
        self.size = positive_int("CrossMapLRN2d", "size", size)
        self.alpha, self.beta, self.k = alpha, beta, k

    def forward(self, input) -> Tensor:
        x = input if isinstance(input, Tensor) else Tensor(np.asarray(input))
        if x.ndim != 4:
            raise ValueError(f"CrossMapLRN2d: expected 4D input, but got {x.ndim}D input")
        windows = Tensor(_cross_map_windows(x.shape[1], self.size).astype(x.dtype))
        sums = ((x * x).permute(0, 2, 3, 1) @ windows.T).permute(0, 3, 1, 2)  # (N, H, W, C) @ (C, C)
        return x * (sums * (self.alpha / self.size) + self.k) ** -self.beta

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
