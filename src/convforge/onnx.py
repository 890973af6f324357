"""``cf.onnx``: torch.onnx's role for convforge models.

``cf.onnx.export(model, args, f, ...)`` takes ``torch.onnx.export``'s leading arguments
(model, args, f, export_params, verbose, training, input_names, output_names,
operator_export_type, opset_version, do_constant_folding, dynamic_axes), so a script that
exports at its end runs unchanged; see :func:`convforge.io.onnx_export.export`. Needs the
``onnx`` extra (``pip install convforge[onnx]``).
"""

from __future__ import annotations

from .io.onnx_export import export

__all__ = ["export"]
