"""The bilinear form ``y = x1^T A x2 + b`` (``F.bilinear``), composed from matmul."""

from __future__ import annotations

from ..autograd.tensor import Tensor
from ._common import _float_tensor

__all__ = ["bilinear"]


def bilinear(input1, input2, weight, bias=None) -> Tensor:
    """``y[..., k] = sum_ij x1[..., i] A[k, i, j] x2[..., j] + b[k]``.

    Shape: input1 (*, H1), input2 (*, H2), weight (out, H1, H2), bias (out,) -> (*, out).
    """
    op = "bilinear"
    x1, x2 = _float_tensor(op, "input1", input1), _float_tensor(op, "input2", input2)
    w = _float_tensor(op, "weight", weight)
    if w.ndim != 3:
        raise ValueError(
            f"{op}: weight must be (out_features, in1_features, in2_features), but got {w.shape}"
        )
    out, h1, h2 = w.shape
    if x1.shape[-1:] != (h1,) or x2.shape[-1:] != (h2,) or x1.shape[:-1] != x2.shape[:-1]:
        raise ValueError(
            f"{op}: input1 {x1.shape} and input2 {x2.shape} must share their leading dimensions and end "
            f"with {h1} and {h2} features (weight {w.shape})"
        )
    if bias is not None and tuple(bias.shape) != (out,):
        raise ValueError(f"{op}: bias must have shape ({out},), but got {tuple(bias.shape)}")
    lead = x1.shape[:-1]
    flat1, flat2 = x1.reshape(-1, h1), x2.reshape(-1, h2)
    # (B, out*H2) = (B, H1) @ (H1, out*H2), then contract H2 with x2
    projected = (flat1 @ w.permute(1, 0, 2).reshape(h1, out * h2)).reshape(-1, out, h2)
    y = (projected * flat2.reshape(-1, 1, h2)).sum(dim=2)
    if bias is not None:
        y = y + bias
    return y.reshape(*lead, out)
