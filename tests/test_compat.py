"""``cf.compat.torch_modules``: torch imports resolve to convforge inside the block only (P1)."""

import sys

import pytest

import convforge as cf
from convforge import compat


def test_imports_inside_the_block_are_convforge():
    with compat.torch_modules() as torch:
        import torch.nn as nn
        import torch.nn.functional as F
        from torch.optim import SGD

        assert torch.Tensor is cf.Tensor
        assert nn.Conv2d is cf.nn.Conv2d
        assert F.conv2d is cf.nn.functional.conv2d
        assert SGD is cf.optim.SGD


def test_real_torch_is_restored_after_the_block():
    import torch as real_torch

    with compat.torch_modules() as torch:
        assert sys.modules["torch"] is torch
        assert torch is not real_torch
    assert sys.modules["torch"] is real_torch
    import torch

    assert torch is real_torch


def test_flags_set_through_the_alias_reach_convforge():
    saved = cf.backends.cudnn.benchmark
    try:
        with compat.torch_modules():
            import torch.backends.cudnn as cudnn

            cudnn.benchmark = True
        assert cf.backends.cudnn.benchmark is True
    finally:
        cf.backends.cudnn.benchmark = saved


def test_missing_attribute_and_module_are_named():
    with compat.torch_modules() as torch:
        with pytest.raises(
            compat.NotProvidedError, match=r"^torch\.frobnicate is not provided by convforge$"
        ):
            torch.frobnicate  # noqa: B018
        with pytest.raises(ModuleNotFoundError, match=r"torch\.distributed is not provided by convforge"):
            import torch.distributed  # noqa: F401


def test_every_mapped_module_resolves():
    with compat.torch_modules():
        import importlib

        for name in compat.MODULES:
            assert importlib.import_module(name).__name__ == name


def test_missing_name_recognises_convforge_objects_only():
    class Local:
        pass

    try:
        cf.zeros(1).frobnicate  # noqa: B018
    except AttributeError as e:
        assert compat.missing_name(e) == "Tensor.frobnicate"
    try:
        Local().frobnicate  # noqa: B018
    except AttributeError as e:
        assert compat.missing_name(e) is None


def test_submodules_below_a_listed_module_resolve_to_convforges_namesakes():
    with compat.torch_modules():
        from torch.nn.modules.conv import Conv2d
        from torch.utils.data.sampler import RandomSampler
        from torchvision.transforms import functional as TF

        assert Conv2d is cf.nn.Conv2d
        assert RandomSampler is cf.utils.data.RandomSampler
        assert TF.__name__ == "torchvision.transforms.functional"
        with pytest.raises(ModuleNotFoundError, match=r"torch\.utils\.data\.nowhere is not provided"):
            import torch.utils.data.nowhere  # noqa: F401


def test_a_library_importing_torch_inside_the_block_gets_real_torch_afterwards(tmp_path, monkeypatch):
    import torch as real_torch

    (tmp_path / "uses_torch.py").write_text("import torch\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("uses_torch", None)
    with compat.torch_modules():
        import uses_torch

        assert uses_torch.torch.Tensor is cf.Tensor
    assert "uses_torch" not in sys.modules
    import uses_torch

    assert uses_torch.torch is real_torch
