"""``cf.nn.functional``: the same module as :mod:`convforge.functional`."""

from ..functional import *  # noqa: F403
from ..functional import __all__  # noqa: F401
