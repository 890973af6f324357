"""``torch.utils.data`` under its torch path: the very objects of :mod:`convforge.data`.

``cf.utils.data.DataLoader is cf.data.DataLoader``; the submodules ``dataset``, ``sampler``
and ``dataloader`` hold the names torch's submodules of the same names hold, so
``from torch.utils.data.sampler import RandomSampler`` resolves under convforge too. This
package's names are theirs together (their ``__all__`` lists are the one place each is listed).
"""

from . import dataloader, dataset, sampler
from .dataloader import *  # noqa: F403 - re-export: the names are dataloader.__all__
from .dataset import *  # noqa: F403
from .sampler import *  # noqa: F403

__all__ = [*dataloader.__all__, *dataset.__all__, *sampler.__all__, "dataloader", "dataset", "sampler"]
