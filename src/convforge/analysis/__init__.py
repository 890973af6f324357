"""Understanding convolution: shapes, receptive fields, parameter and MAC counts, the
Toeplitz and im2col views, and one output element written out as its sum of products.

Array-only: nothing here imports matplotlib (pictures live in :mod:`convforge.viz`).
"""

from .explain import Explanation, Term, explain
from .receptive_field import ReceptiveField, receptive_fields
from .shapes import ShapeReport, conv_output_shape, pool_output_shape, transposed_as_conv
from .summary import LayerSummary, ModelSummary, summary
from .toeplitz import conv_transpose_toeplitz, im2col_labels, im2col_view, toeplitz

__all__ = [
    "Explanation",
    "LayerSummary",
    "ModelSummary",
    "ReceptiveField",
    "ShapeReport",
    "Term",
    "conv_output_shape",
    "conv_transpose_toeplitz",
    "explain",
    "im2col_labels",
    "im2col_view",
    "pool_output_shape",
    "receptive_fields",
    "summary",
    "toeplitz",
    "transposed_as_conv",
]
