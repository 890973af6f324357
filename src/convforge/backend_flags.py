"""The GPU-library flags PyTorch scripts read and set (``cf.backends.cudnn`` and friends).

``torch.backends.cudnn.benchmark = True`` is a line in most CNN training scripts. On a
CPU-only torch build the flags are plain settable attributes that change nothing, and the
``is_available()`` queries answer False; convforge, which computes on the CPU, behaves the
same. (convforge's own algorithm timing is ``cf.backends.autotune``.)
"""

from __future__ import annotations


class CudnnFlags:
    """``torch.backends.cudnn``: settable flags with torch's defaults; cuDNN is not available."""

    def __init__(self) -> None:
        self.enabled = True
        self.benchmark = False
        self.benchmark_limit = 10
        self.deterministic = False
        self.allow_tf32 = True

    @staticmethod
    def is_available() -> bool:
        return False

    @staticmethod
    def version() -> None:
        return None

    def __repr__(self) -> str:
        return (
            f"cudnn(enabled={self.enabled}, benchmark={self.benchmark}, "
            f"deterministic={self.deterministic}, allow_tf32={self.allow_tf32})"
        )


class CudaMatmulFlags:
    """``torch.backends.cuda.matmul``: the TF32/reduced-precision switches, torch's defaults."""

    def __init__(self) -> None:
        self.allow_tf32 = False
        self.allow_fp16_reduced_precision_reduction = True
        self.allow_bf16_reduced_precision_reduction = True


class CudaFlags:
    """``torch.backends.cuda``: not built in; ``matmul`` holds the settable flags."""

    def __init__(self) -> None:
        self.matmul = CudaMatmulFlags()

    @staticmethod
    def is_built() -> bool:
        return False


class MpsFlags:
    """``torch.backends.mps``: Apple's Metal backend, neither built nor available."""

    @staticmethod
    def is_available() -> bool:
        return False

    @staticmethod
    def is_built() -> bool:
        return False
