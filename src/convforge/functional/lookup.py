"""``embedding``: rows of a weight matrix looked up by integer index, as torch's."""

from __future__ import annotations

import numpy as np

from ..autograd.function import no_grad
from ..autograd.ops.embedding import Embedding
from ..autograd.tensor import Tensor
from ._common import _float_tensor, _tensor

__all__ = ["embedding"]


def resolve_padding_idx(op: str, padding_idx, num_embeddings: int) -> int | None:
    """A negative ``padding_idx`` counts from the end; it must name one of the rows."""
    if padding_idx is None:
        return None
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise ValueError(
            f"{op}: padding_idx must be within num_embeddings={num_embeddings}, but got padding_idx={padding_idx}"
        )
    return int(padding_idx) % num_embeddings


def _renorm_(weight: Tensor, rows: np.ndarray, max_norm: float, norm_type: float) -> None:
    """torch's ``embedding_renorm_``: the looked-up rows whose norm passes ``max_norm`` are
    scaled down to it, in place and outside autograd."""
    data = weight.array
    unique = np.unique(rows)
    norms = np.linalg.norm(data[unique], ord=norm_type, axis=1)
    big = norms > max_norm
    with no_grad():
        data[unique[big]] *= (max_norm / (norms[big] + 1e-7))[:, None].astype(data.dtype)


def embedding(
    input,
    weight,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """``weight[input]``: one row of ``weight`` per index.

    ``padding_idx``'s row gets no gradient; ``max_norm`` renormalizes the looked-up rows of
    ``weight`` in place first; ``scale_grad_by_freq`` divides each row's gradient by its count
    in the batch. ``sparse=True`` is accepted and gives a dense gradient (no sparse tensors here).

    Shape: input (*) of integer indices, weight (num_embeddings, D) -> (*, D).
    """
    op = "embedding"
    index_tensor = _tensor(op, "input", input)
    w = _float_tensor(op, "weight", weight)
    if not np.issubdtype(index_tensor.dtype, np.integer):
        raise TypeError(
            f"{op}: input must hold integer indices (int64 or int32), but got dtype {index_tensor.dtype}"
        )
    if w.ndim != 2:
        raise ValueError(f"{op}: weight must be 2-D (num_embeddings, embedding_dim), but got shape {w.shape}")
    index = index_tensor.array.astype(np.int64)
    if index.size and (index.min() < 0 or index.max() >= w.shape[0]):
        bad = index.min() if index.min() < 0 else index.max()
        raise IndexError(f"{op}: index {int(bad)} is out of range for {w.shape[0]} embeddings")
    padding = resolve_padding_idx(op, padding_idx, w.shape[0])
    if max_norm is not None:
        _renorm_(w, index.reshape(-1), float(max_norm), float(norm_type))
    return Embedding.apply(w, index, padding, bool(scale_grad_by_freq))
