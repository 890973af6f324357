"""PyTorch interop: state dicts in and out, as NumPy arrays, without importing torch.

convforge modules name their parameters and buffers as torch does, so a model built the
same way in both libraries exchanges weights directly::

    cf.io.load_torch_state_dict(cf_model, torch_model.state_dict())
    torch_model.load_state_dict({k: torch.from_numpy(v) for k, v in cf.io.to_torch_state_dict(cf_model).items()})
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..autograd import Tensor


def _to_numpy(name: str, value) -> np.ndarray:
    """An ndarray from a torch tensor (via ``.detach().cpu()``), a cf Tensor or an array."""
    if isinstance(value, Tensor):
        return value.array
    if hasattr(value, "detach"):
        value = value.detach()
        value = value.cpu() if hasattr(value, "cpu") else value
    array = np.asarray(value)
    if array.dtype == object:
        raise TypeError(
            f"load_torch_state_dict: entry {name!r} is not an array or tensor but {type(value).__name__}"
        )
    return array


def load_torch_state_dict(model, state_dict: Mapping[str, Any], strict: bool = True):
    """Load a PyTorch ``state_dict`` (tensors or arrays) into a convforge model.

    Parameters
    ----------
    model : cf.nn.Module
        A model with the same architecture (the same parameter and buffer names).
    state_dict : mapping of str to tensor or array
        E.g. ``torch_model.state_dict()``; torch tensors are converted with
        ``np.asarray(v.detach().cpu())``, so torch is never imported here.
    strict : bool
        Require exactly the model's keys (as torch's ``load_state_dict``).

    Returns
    -------
    The model's ``load_state_dict`` result.

    Raises
    ------
    ValueError
        Listing the missing and unexpected keys and the mismatched shapes; nothing is
        loaded then.
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError(
            f"load_torch_state_dict: state_dict must be a mapping, but got {type(state_dict).__name__}"
        )
    arrays = {name: _to_numpy(name, value) for name, value in state_dict.items()}
    expected = model.state_dict()
    missing = [name for name in expected if name not in arrays]
    unexpected = [name for name in arrays if name not in expected]
    mismatched = [
        f"{name}: given {arrays[name].shape}, model {np.shape(expected[name])}"
        for name in expected
        if name in arrays and arrays[name].shape != np.shape(expected[name])
    ]
    problems = []
    if strict and missing:
        problems.append(f"missing keys {missing}")
    if strict and unexpected:
        problems.append(f"unexpected keys {unexpected}")
    if mismatched:
        problems.append("shape mismatch " + "; ".join(mismatched))
    if problems:
        raise ValueError(
            f"load_torch_state_dict: the state dict does not fit {type(model).__name__}: "
            + ", ".join(problems)
        )
    if not strict:
        arrays = {name: value for name, value in arrays.items() if name in expected}
    return model.load_state_dict(arrays, strict=strict)


def to_torch_state_dict(model) -> OrderedDict[str, np.ndarray]:
    """The model's state with torch's key names, as NumPy arrays (copies).

    Wrap the values with ``torch.from_numpy`` to load them into the torch twin of ``model``.
    """
    return OrderedDict((name, np.array(value, copy=True)) for name, value in model.state_dict().items())
