"""Models in and out: safetensors checkpoints, torch files without torch, ONNX.

* ``save`` / ``load`` (also ``cf.save`` / ``cf.load``): any nesting of tensors and JSON values
  in one safetensors file; ``load`` also reads safetensors files torch wrote and ``.pth``/``.pt``
  files of ``torch.save`` without torch, through an allow-list unpickler
  (:mod:`convforge.io.serialization`, :mod:`convforge.io.pth`).
* ``save_checkpoint`` / ``load_checkpoint``: a model, an optimizer and metadata, checked on
  load (:mod:`convforge.io.checkpoint`).
* ``load_torch_state_dict`` / ``to_torch_state_dict``: state dicts of torch models in memory.
* ``load_onnx`` / ``save_onnx``: an ONNX graph as a trainable Module, and a convforge model
  as an ONNX file onnxruntime runs (need the ``onnx`` extra).
"""

from .checkpoint import checkpoint_info, checkpoint_metadata, load_checkpoint, save_checkpoint
from .interop import load_torch_state_dict, to_torch_state_dict
from .serialization import load, save


def load_onnx(f, *, strict_opset: bool = True):
    """An ONNX model as a ``cf.nn.Module``; see :func:`convforge.io.onnx_import.load_onnx`."""
    from .onnx_import import load_onnx as _load_onnx

    return _load_onnx(f, strict_opset=strict_opset)


def save_onnx(model, path, example_input, **options):
    """Export ``model`` to ONNX; see :func:`convforge.io.onnx_export.save_onnx`."""
    from .onnx_export import save_onnx as _save_onnx

    return _save_onnx(model, path, example_input, **options)


__all__ = [
    "checkpoint_info",
    "checkpoint_metadata",
    "load",
    "load_checkpoint",
    "load_onnx",
    "load_torch_state_dict",
    "save",
    "save_checkpoint",
    "save_onnx",
    "to_torch_state_dict",
]
