"""Argument normalization, output shapes and every validation error.

A user call such as ``conv2d(x, w, stride=2, padding='same')`` becomes one frozen
:class:`ConvSpec` (or :class:`PoolSpec`) here, before any array work, in two stages:
:meth:`ConvArgs.parse` normalizes the arguments (a module does it once and keeps the
result), :meth:`ConvArgs.resolve` checks them against the operands' shapes and dtypes.
Kernels receive only valid specs with padding already resolved to explicit
``(before, after)`` pairs per spatial dimension, so they never re-check arguments.

Pure Python: this package imports no array library.

Output-size rules (per spatial dimension, ``k_eff = d*(k-1) + 1`` the dilated kernel extent):

* convolution:            ``out = floor((in + pad_lo + pad_hi - k_eff) / s) + 1``
* transposed convolution: ``out = (in - 1)*s - pad_lo - pad_hi + k_eff + output_padding``
* pooling:                as convolution, with ``ceil`` instead of ``floor`` when
  ``ceil_mode``, minus one if the last window would start in the right padding.

Error grammar: ``"<op>: <argument> <what is wrong>, but got <argument>=<value>"``;
``TypeError`` for a wrong type, ``ValueError`` for a wrong value.

Modules: :mod:`._args` (shared helpers, :class:`Operand`), :mod:`.conv` (convolution and
its gradients), :mod:`.pool` (pooling, adaptive pooling, unfold/fold, max-unpooling).
"""

from __future__ import annotations

from ._args import (
    FLOAT_DTYPES,
    PAD_MODES,
    PADDING_MODES,
    Operand,
    Pads,
    batched_ndim,
    check_dtype,
    check_flag,
    check_nonempty,
    check_nonnegative_pads,
    check_operand_dtypes,
    check_pad_fits,
    conv_out_size,
    conv_transpose_out_size,
    effective_kernel_size,
    ntuple,
    pad_pairs_from_torch_order,
    pads_to_torch_order,
    pool_out_size,
    positive_int,
    resolve_padding,
    same_pads,
)
from ._args import (
    _is_int as _is_int,
)
from .conv import ConvArgs, ConvSpec, GradSpec, grad_input_spec, grad_weight_spec
from .pool import (
    PoolArgs,
    PoolSpec,
    adaptive_bounds,
    adaptive_output_size,
    check_unpool_indices,
    fold_ndim,
    fold_spec,
    pool_operand,
    unfold_spec,
    unpool_output_size,
)

__all__ = [
    "FLOAT_DTYPES",
    "PADDING_MODES",
    "PAD_MODES",
    "ConvArgs",
    "ConvSpec",
    "GradSpec",
    "Operand",
    "Pads",
    "PoolArgs",
    "PoolSpec",
    "adaptive_bounds",
    "adaptive_output_size",
    "batched_ndim",
    "check_dtype",
    "check_flag",
    "check_nonempty",
    "check_nonnegative_pads",
    "check_operand_dtypes",
    "check_pad_fits",
    "check_unpool_indices",
    "conv_out_size",
    "conv_transpose_out_size",
    "effective_kernel_size",
    "fold_ndim",
    "fold_spec",
    "grad_input_spec",
    "grad_weight_spec",
    "ntuple",
    "pad_pairs_from_torch_order",
    "pads_to_torch_order",
    "pool_operand",
    "pool_out_size",
    "positive_int",
    "resolve_padding",
    "same_pads",
    "unfold_spec",
    "unpool_output_size",
]
