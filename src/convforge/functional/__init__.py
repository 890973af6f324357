"""torch.nn.functional-compatible functions (also ``cf.nn.functional``), one module per family.

Each function takes ndarrays or Tensors, validates its arguments through :mod:`convforge.spec`
before any array work, calls one differentiable Function and returns a Tensor. Names,
signatures and defaults are torch's; convforge's extensions are keyword-only (see
:mod:`.conv`).

Families:

* :mod:`.conv`        conv1d/2d/3d, conv_transpose1d/2d/3d
* :mod:`.pool`        max/avg/adaptive pools, max_unpool, unfold, fold
* :mod:`.shape`       pad, channel_shuffle
* :mod:`.activation`  relu, leaky_relu, gelu, sigmoid, tanh, softmax, log_softmax, dropout
* :mod:`.activation_extra`  hardtanh, relu6, hardsigmoid, hardswish, silu, softplus, mish, elu,
  selu, celu, logsigmoid, softsign, tanhshrink, threshold, hard/softshrink, glu, softmin, prelu
* :mod:`.affine`      linear
* :mod:`.affine_extra`  bilinear
* :mod:`.dropout_nd`  dropout1d/2d/3d, alpha_dropout, feature_alpha_dropout
* :mod:`.norm`        batch_norm
* :mod:`.normalization`  layer_norm, rms_norm, group_norm, instance_norm, local_response_norm
* :mod:`.similarity`  normalize, cosine_similarity, pairwise_distance, one_hot
* :mod:`.pool_extra`  lp_pool1d/2d/3d, max_pool*_with_indices
* :mod:`.resize`      interpolate (every mode), upsample*, pixel_shuffle, pixel_unshuffle
* :mod:`.grid`        affine_grid, grid_sample (spatial transformers)
* :mod:`.loss`        cross_entropy, nll_loss, mse_loss, binary_cross_entropy_with_logits
* :mod:`.loss_extra`  binary_cross_entropy, l1_loss, smooth_l1_loss, huber_loss, kl_div
* :mod:`.lookup`      embedding
* :mod:`.loss_margin`  margin/hinge/soft-margin/cosine/triplet/multi-margin, Poisson and Gaussian NLL
* :mod:`._common`     the operand helpers the families share (not public)

Adding a family: write ``functional/<family>.py`` with its own ``__all__``, importing
operand helpers from ``._common``; then add the module to the import list below (in the
``from . import ...`` line, in ``_FAMILIES`` and as one ``from .<family> import *`` line).
``__all__`` here is the union of the families' ``__all__``, so ``cf.functional`` and
``cf.nn.functional`` pick the new names up with no other edit.
"""

from __future__ import annotations

from . import (
    activation,
    activation_extra,
    affine,
    affine_extra,
    conv,
    dropout_nd,
    grid,
    lookup,
    loss,
    loss_extra,
    loss_margin,
    norm,
    normalization,
    pool,
    pool_extra,
    resize,
    shape,
    similarity,
)

# captured before the star imports: a family module may share its name with one of its functions
_FAMILIES = (
    activation,
    activation_extra,
    affine,
    affine_extra,
    conv,
    dropout_nd,
    grid,
    loss,
    loss_extra,
    loss_margin,
    lookup,
    norm,
    normalization,
    pool,
    pool_extra,
    resize,
    shape,
    similarity,
)

from .activation import *  # noqa: E402, F403
from .activation_extra import *  # noqa: E402, F403
from .affine import *  # noqa: E402, F403
from .affine_extra import *  # noqa: E402, F403
from .conv import *  # noqa: E402, F403
from .dropout_nd import *  # noqa: E402, F403
from .grid import *  # noqa: E402, F403
from .lookup import *  # noqa: E402, F403
from .loss import *  # noqa: E402, F403
from .loss import _reduction  # noqa: E402, F401  (nn.loss resolves torch's legacy reduction flags)
from .loss_extra import *  # noqa: E402, F403
from .loss_margin import *  # noqa: E402, F403
from .norm import *  # noqa: E402, F403
from .normalization import *  # noqa: E402, F403
from .pool import *  # noqa: E402, F403
from .pool_extra import *  # noqa: E402, F403
from .resize import *  # noqa: E402, F403
from .shape import *  # noqa: E402, F403
from .similarity import *  # noqa: E402, F403

__all__ = sorted(name for family in _FAMILIES for name in family.__all__)
