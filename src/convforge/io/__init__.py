"""Saving and exchanging models: checkpoints and PyTorch state dicts.

``save_checkpoint`` / ``load_checkpoint`` keep a model, an optimizer and metadata in one
``.npz`` file with a JSON header (see :mod:`convforge.io.checkpoint`);
``load_torch_state_dict`` / ``to_torch_state_dict`` exchange weights with PyTorch as NumPy
arrays, torch itself never being imported.
"""

from .checkpoint import checkpoint_info, checkpoint_metadata, load_checkpoint, save_checkpoint
from .interop import load_torch_state_dict, to_torch_state_dict

__all__ = [
    "checkpoint_info",
    "checkpoint_metadata",
    "load_checkpoint",
    "load_torch_state_dict",
    "save_checkpoint",
    "to_torch_state_dict",
]
