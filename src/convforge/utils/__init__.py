"""``torch.utils`` counterparts: :mod:`convforge.utils.data` (``torch.utils.data``)."""

from . import data

__all__ = ["data"]
