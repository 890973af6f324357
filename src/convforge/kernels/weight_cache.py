"""Arrays computed from a weight, kept between calls while the weight's values stay the same.

Winograd multiplies by ``U = G g G^T``, a transform of the weights 4x their size for
F(4x4); recomputing it costs 38 % of a 128-channel 28x28 forward at batch 1 (measured, one
thread), and inference calls a layer again and again with the same weights. An entry is
found by where the weights lie (data address, shape, strides, dtype: a new view of the same
parameter finds it too) and returned only if the memory still holds the values it held when
the entry was made: the entry keeps a copy and compares it on every call (one read of the
weights, a quarter of what the transform writes). So an optimizer's in-place update,
``w[...] = ...`` by the user, or a new array allocated where a freed one lay all give a
fresh transform, never a stale one.
In training every step changes the weights: the comparison fails at a cost of one pass
over the weights, and the new transform replaces the old entry.

Entries are evicted least recently used beyond :data:`LIMIT_BYTES` (copy plus value);
values are returned read-only. Thread-safe: the table is guarded by a lock, and two
threads missing at once both compute the same value.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

import numpy as np

LIMIT_BYTES = 64 << 20  # copies plus values held at most


class WeightCache:
    """``get(kind, w, compute)`` is ``compute(w)``, computed once per value of ``w``."""

    def __init__(self, limit_bytes: int = LIMIT_BYTES) -> None:
        self.limit_bytes = limit_bytes
        self._entries: OrderedDict = OrderedDict()  # key -> (copy of w, value)
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def get(self, kind: Hashable, w: np.ndarray, compute: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        key = (kind, w.__array_interface__["data"][0], w.shape, w.strides, w.dtype.str)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
        if entry is not None and np.array_equal(entry[0], w, equal_nan=True):
            return entry[1]
        value = compute(w)
        value.flags.writeable = False
        copy = np.array(w, copy=True)
        size = copy.nbytes + value.nbytes
        if size > self.limit_bytes:
            return value
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[0].nbytes + old[1].nbytes
            self._entries[key] = (copy, value)
            self._bytes += size
            while self._bytes > self.limit_bytes:
                _, (old_copy, old_value) = self._entries.popitem(last=False)
                self._bytes -= old_copy.nbytes + old_value.nbytes
        return value
