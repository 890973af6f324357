"""Shared by the tutorial-style scripts: reproducible inputs and weights across libraries.

The first run (under PyTorch) draws the data and the initial weights and saves them as
``.npz``; the second run (under ``convforge run``) loads the same files, so both libraries
start from the same numbers. Only public PyTorch API is used here.
"""

import os

import numpy as np
import torch


def arrays(path, make):
    """The arrays saved at ``path``, or ``make()``'s, saved there first."""
    if os.path.exists(path):
        with np.load(path) as f:
            return {k: f[k] for k in f.files}
    data = make()
    np.savez(path, **data)
    return data


def same_init(model, path):
    """Save ``model``'s initial weights to ``path``, or load them from it."""
    if os.path.exists(path):
        with np.load(path) as f:
            model.load_state_dict({k: torch.tensor(f[k]) for k in f.files})
    else:
        state = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
        np.savez(path, **state)
