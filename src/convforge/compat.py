"""Run PyTorch code on convforge: ``torch`` and ``torchvision`` resolved to convforge.

``convforge run train.py`` (or, from Python, ``with cf.compat.torch_modules(): ...``) makes
``import torch``, ``import torch.nn as nn``, ``from torch.utils.data import DataLoader``,
``import torchvision.transforms as T`` and the like give convforge's modules, so an
unmodified PyTorch CNN script runs on convforge.

How names resolve
-----------------
:data:`MODULES` maps each torch module path to the convforge object that plays its part
(a module, or an object such as ``cf.backends.cudnn``); below a listed module, a torch
submodule resolves to convforge's submodule of the same name where there is one
(``torch.utils.data.sampler``, ``torchvision.transforms.functional``). The alias modules put into
``sys.modules`` forward attribute reads *and writes* to that object, so
``torch.backends.cudnn.benchmark = True`` sets convforge's flag. A name convforge lacks
raises :class:`NotProvidedError` (an ``AttributeError``; an ``ImportError`` subclass,
:class:`ModuleNotProvidedError`, for a module path), whose message names it and says "not
provided by convforge"; ``convforge run`` turns either into one line with the script's file
and line.

Scope: the aliases live only inside :func:`torch_modules`. Real ``torch`` modules imported
before are set aside for that time and put back after, so convforge and PyTorch can share a
process (the tests do).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import re
import runpy
import sys
import traceback
import types
from collections.abc import Iterator

__all__ = [
    "MODULES",
    "ModuleNotProvidedError",
    "NotProvidedError",
    "missing_name",
    "run_script",
    "script_traceback",
    "torch_modules",
]

# torch module path -> "convforge.module[:attribute.path]"
MODULES: dict[str, str] = {
    "torch": "convforge",
    "torch.nn": "convforge.nn",
    "torch.nn.functional": "convforge.nn.functional",
    "torch.nn.init": "convforge.nn.init",
    "torch.nn.parallel": "convforge.nn.parallel",
    "torch.nn.utils": "convforge.nn.utils",
    "torch.nn.modules": "convforge.nn",
    "torch.optim": "convforge.optim",
    "torch.optim.lr_scheduler": "convforge.optim.lr_scheduler",
    "torch.autograd": "convforge.autograd",
    "torch.utils": "convforge.utils",
    "torch.utils.data": "convforge.utils.data",
    "torch.cuda": "convforge.cuda",
    "torch.accelerator": "convforge.accelerator",
    "torch.backends": "convforge.backend:backends",
    "torch.backends.cudnn": "convforge.backend:backends.cudnn",
    "torch.backends.cuda": "convforge.backend:backends.cuda",
    "torch.backends.mps": "convforge.backend:backends.mps",
    "torch.onnx": "convforge.onnx",
    "torchvision": "convforge.vision",
    "torchvision.datasets": "convforge.vision.datasets",
    "torchvision.transforms": "convforge.vision.transforms",
    "torchvision.utils": "convforge.vision.utils",
}
_ROOTS = ("torch", "torchvision")


class NotProvidedError(AttributeError):
    """A torch name that convforge does not provide."""


class ModuleNotProvidedError(ModuleNotFoundError):
    """A torch module path that convforge does not provide."""


@functools.cache
def _target_path(name: str) -> str | None:
    """The convforge path that plays the torch module ``name``, or None.

    Listed in :data:`MODULES`, or below a listed module whose convforge counterpart has a
    submodule of the same name (``torch.utils.data.sampler`` -> ``convforge.utils.data.sampler``).
    """
    if name in MODULES:
        return MODULES[name]
    parent, _, child = name.rpartition(".")
    if not parent:
        return None
    base = _target_path(parent)
    if base is None or ":" in base:
        return None
    candidate = f"{base}.{child}"
    try:
        found = importlib.util.find_spec(candidate) is not None
    except (ImportError, ValueError):
        found = False
    return candidate if found else None


def _resolve(target: str):
    module_name, _, attributes = target.partition(":")
    obj = importlib.import_module(module_name)
    for attribute in filter(None, attributes.split(".")):
        obj = getattr(obj, attribute)
    return obj


class _Alias(types.ModuleType):
    """A module standing for a torch module path; reads and writes go to convforge's object."""

    def __init__(self, name: str, target) -> None:
        super().__init__(name, getattr(target, "__doc__", None))
        object.__setattr__(self, "_target", target)

    def __getattr__(self, name: str):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        submodule = f"{self.__name__}.{name}"
        if submodule in MODULES:
            return importlib.import_module(submodule)
        try:
            value = getattr(self._target, name)
        except AttributeError:
            value = None
        if (value is None or isinstance(value, types.ModuleType)) and _target_path(submodule) is not None:
            return importlib.import_module(submodule)  # a submodule, as its alias
        if value is None and not hasattr(self._target, name):
            raise NotProvidedError(f"{submodule} is not provided by convforge")
        return value

    def __setattr__(self, name: str, value) -> None:
        # dunders, and the import system binding a child alias to its parent, stay here
        if (name.startswith("__") and name.endswith("__")) or isinstance(value, _Alias):
            object.__setattr__(self, name, value)
        else:
            setattr(self._target, name, value)

    def __dir__(self) -> list[str]:
        return sorted(set(dir(self._target)))


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers imports of torch paths with :class:`_Alias` modules (and only those)."""

    def find_spec(self, fullname, path, target=None):
        if fullname.split(".")[0] not in _ROOTS:
            return None
        if _target_path(fullname) is None:
            raise ModuleNotProvidedError(f"{fullname} is not provided by convforge", name=fullname)
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec):
        try:
            target = _resolve(_target_path(spec.name))
        except (ImportError, AttributeError) as e:
            raise ModuleNotProvidedError(f"{spec.name} is not provided by convforge", name=spec.name) from e
        return _Alias(spec.name, target)

    def exec_module(self, module) -> None:
        pass  # nothing to run: the alias forwards to convforge's module


def _is_torch_name(name: str) -> bool:
    return name.split(".")[0] in _ROOTS


@contextlib.contextmanager
def torch_modules() -> Iterator[types.ModuleType]:
    """Resolve ``torch``/``torchvision`` imports to convforge inside the ``with`` block.

    Yields the alias of ``torch``. Real torch modules already imported are set aside and
    restored on exit; the aliases are removed, and so is every module first imported inside
    the block that kept a reference to an alias (a library doing ``import torch`` at its
    import, such as ``safetensors.torch``), so that a later import outside gets real torch.

    >>> with torch_modules():
    ...     import torch.nn as nn
    ...     layer = nn.Conv2d(1, 6, 5)
    """
    saved = {name: module for name, module in sys.modules.items() if _is_torch_name(name)}
    for name in saved:
        del sys.modules[name]
    before = set(sys.modules)
    finder = _Finder()
    sys.meta_path.insert(0, finder)
    try:
        yield importlib.import_module("torch")
    finally:
        sys.meta_path.remove(finder)
        for name in [n for n in sys.modules if _is_torch_name(n) or _holds_alias(n, before)]:
            del sys.modules[name]
        sys.modules.update(saved)


def _holds_alias(name: str, before: set[str]) -> bool:
    """Whether module ``name`` was imported inside the block and keeps an alias in its globals."""
    module = sys.modules.get(name)
    if name in before or module is None:
        return False
    return any(isinstance(value, _Alias) for value in list(vars(module).values()))


_CANNOT_IMPORT = re.compile(r"cannot import name '([^']+)' from '([^']+)'")


def missing_name(error: BaseException) -> str | None:
    """The torch name behind ``error`` if it is one convforge lacks, else None.

    Recognises :class:`NotProvidedError`, :class:`ModuleNotProvidedError`, ``from torch
    import x`` of a missing ``x``, and a missing attribute of a convforge object (a Tensor
    method, a Module attribute), which it names by the object's type.
    """
    if isinstance(error, (NotProvidedError, ModuleNotProvidedError)):
        return str(error).removesuffix(" is not provided by convforge")
    if isinstance(error, ImportError):
        match = _CANNOT_IMPORT.match(str(error))
        if match and _is_torch_name(match.group(2)):
            return f"{match.group(2)}.{match.group(1)}"
        return None
    if isinstance(error, AttributeError) and error.name is not None:
        owner = error.obj
        kind = owner if isinstance(owner, type) else type(owner)
        if (getattr(kind, "__module__", "") or "").startswith("convforge"):
            return f"{kind.__name__}.{error.name}"
    return None


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _is_runner_frame(filename: str) -> bool:
    """Whether code at ``filename`` is convforge's or the import/run machinery's, not the user's."""
    return (
        os.path.abspath(filename).startswith(_PACKAGE_DIR)
        or filename.startswith("<frozen")
        or os.path.basename(filename) == "runpy.py"
    )


def _user_frame(error: BaseException) -> traceback.FrameSummary | None:
    """The innermost frame of ``error``'s traceback that is not convforge's or importlib's."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if not _is_runner_frame(f.filename)]
    return frames[-1] if frames else None


def _raised_in_user_code(error: BaseException) -> bool:
    last = traceback.extract_tb(error.__traceback__)[-1:]
    return bool(last) and not os.path.abspath(last[0].filename).startswith(_PACKAGE_DIR)


def script_traceback(tb: types.TracebackType | None) -> types.TracebackType | None:
    """``tb`` without its leading frames of the runner (convforge's and runpy's), as ``python
    SCRIPT`` would show it; the last frame is always kept."""
    while tb is not None and tb.tb_next is not None and _is_runner_frame(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    return tb


def run_script(path: str, args: list[str] | None = None) -> int:
    """Run the PyTorch script at ``path`` with torch resolved to convforge, as ``convforge run``.

    ``sys.argv`` is ``[path, *args]`` and the script's folder leads ``sys.path``, as under
    ``python path``. A torch name convforge lacks ends the run with one line on stderr
    (``<file>:<line>: torch.xyz is not provided by convforge``) and exit status 1; every other
    error propagates with its traceback. Returns the script's exit status (0 if it ends).
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"run: no such script: {path!r}")
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    sys.argv = [path, *(args or [])]
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    try:
        with torch_modules():
            runpy.run_path(path, run_name="__main__")
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except (AttributeError, ImportError) as e:
        name = missing_name(e)
        direct = isinstance(e, (NotProvidedError, ImportError)) or _raised_in_user_code(e)
        if name is None or not direct:
            raise
        frame = _user_frame(e)
        where = f"{frame.filename}:{frame.lineno}: " if frame else ""
        print(f"{where}{name} is not provided by convforge", file=sys.stderr)
        return 1
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
    return 0
