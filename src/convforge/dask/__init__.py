"""Convolution, filters and inference over Dask arrays larger than one machine.

``import convforge.dask`` needs the optional dependencies (``pip install convforge[dask]``);
``import convforge`` alone never imports Dask.

* :func:`conv` — N-d convolution of a dask array, chunked over space: each output chunk is
  computed by the in-memory kernel from its input chunk plus a halo of the neighbours, so
  the result equals ``convforge.functional.conv2d``/``conv3d`` on the whole array.
* :func:`filter` — the named image filters of ``convforge.viz.filters`` (``sobel``,
  ``gaussian:SIGMA``, ...) on a dask image, per channel for color.
* :func:`predict` — a trained model over a dask array of samples chunked along the batch.

The same code runs on the threaded scheduler, a ``distributed.LocalCluster`` or any Dask
deployment: the functions only build a graph; whichever scheduler is active computes it.
"""

from __future__ import annotations

try:
    import dask  # noqa: F401
    import dask.array  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "convforge.dask needs Dask (dask[array]); install it with: pip install convforge[dask]"
    ) from error

from .conv import conv
from .filters import filter
from .predict import predict

__all__ = ["conv", "filter", "predict"]
