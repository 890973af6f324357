"""Export a convforge model to ONNX by tracing one forward pass: :func:`export`, :func:`save_onnx`.

Every convforge operation is one autograd ``Function`` applied through ``Function.apply``.
While the model runs on the example input, :class:`Tracer` records each application: the
Function's class, its arguments (tensors, arrays, specs, axes) and its output. Each record
becomes ONNX nodes (:mod:`convforge.io.onnx_convert`); a tensor that no recorded operation
produced is an initializer, named as in ``model.state_dict()`` when it is a parameter or a
buffer. The proto is built with ``onnx.helper`` and checked with ``onnx.checker``.

What a trace cannot see: Python control flow is frozen at the example input's path, and
shapes are static except the dimensions named in ``dynamic_axes`` (whose Reshape targets
keep the batch dimension as ``0``, "copy the input's"). A Function without an ONNX
translation (a loss, ``unfold``, a flip ...) raises a ``ValueError`` naming it.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import numpy as np

from ..autograd import Tensor, no_grad
from ..autograd.function import Function
from . import onnx_convert

DEFAULT_OPSET = 17
MIN_EXPORT_OPSET = 13


class Tracer:
    """Records ``(function class, args, kwargs, output)`` of every Function applied inside."""

    def __init__(self) -> None:
        self.records: list[tuple[type, tuple, dict, Tensor]] = []

    @contextlib.contextmanager
    def recording(self):
        original = Function.__dict__["apply"]
        if not isinstance(original, classmethod):  # the autograd engine changed its entry point
            raise RuntimeError("export: Function.apply is no classmethod; the tracer needs updating")
        records = self.records

        def traced(cls, *args, **kwargs):
            out = original.__func__(cls, *args, **kwargs)
            records.append((cls, args, kwargs, out))
            return out

        Function.apply = classmethod(traced)
        inplace, original_inplace = self._patch_inplace(records)
        try:
            yield self
        finally:
            Function.apply = original
            if inplace is not None:
                inplace.apply_inplace = original_inplace

    @staticmethod
    def _patch_inplace(records):
        """In-place methods (``relu_``, ``add_``) apply a Function, then copy its output into
        the tensor: record that the tensor now holds that output (an :class:`Alias`)."""
        try:
            from ..autograd import inplace
        except ImportError:  # an autograd without in-place operations
            return None, None
        original_inplace = inplace.apply_inplace

        def traced_inplace(tensor, fn, *args):
            result = original_inplace(tensor, fn, *args)
            records.append((Alias, (records[-1][3],), {}, tensor))
            return result

        inplace.apply_inplace = traced_inplace
        return inplace, original_inplace


class Alias:
    """Not a Function: marks a tensor that took over another's values (an in-place write)."""


def _as_inputs(args) -> tuple[Tensor, ...]:
    if isinstance(args, (Tensor, np.ndarray)):
        args = (args,)
    if not isinstance(args, (tuple, list)) or not args:
        raise TypeError("export: args must be a Tensor or a non-empty tuple of Tensors (the example inputs)")
    inputs = []
    for i, value in enumerate(args):
        if isinstance(value, dict):
            raise TypeError(
                "export: keyword inputs (a dict in args) are not supported; pass them positionally"
            )
        if not isinstance(value, (Tensor, np.ndarray)):
            raise TypeError(
                f"export: args[{i}] must be a Tensor or an ndarray, but got {type(value).__name__}"
            )
        inputs.append(value if isinstance(value, Tensor) else Tensor(value))
    return tuple(inputs)


def _outputs(result) -> tuple[Tensor, ...]:
    outputs = result if isinstance(result, (tuple, list)) else (result,)
    for value in outputs:
        if not isinstance(value, Tensor):
            raise TypeError(
                f"export: the model must return Tensors, but it returned a {type(value).__name__}"
            )
    return tuple(outputs)


def _names(given, count: int, prefix: str, what: str) -> list[str]:
    names = [str(name) for name in given or []]
    if len(names) > count:
        raise ValueError(f"export: {len(names)} {what} given for a model with {count}")
    defaults = [prefix] if count == 1 else [f"{prefix}{i}" for i in range(count)]
    return names + defaults[len(names) :]


def _dynamic(dynamic_axes, names: list[str]) -> dict[str, dict[int, str]]:
    """torch's dynamic_axes: ``{name: {axis: label}}`` or ``{name: [axis, ...]}``."""
    result: dict[str, dict[int, str]] = {}
    for name, axes in (dynamic_axes or {}).items():
        if name not in names:
            raise ValueError(f"export: dynamic_axes names {name!r}, which is no input or output ({names})")
        if isinstance(axes, dict):
            result[name] = {int(axis): str(label) for axis, label in axes.items()}
        else:
            result[name] = {int(axis): f"{name}_dynamic_axes_{i + 1}" for i, axis in enumerate(axes)}
    return result


def build_model_proto(
    model,
    args,
    *,
    export_params: bool = True,
    input_names=None,
    output_names=None,
    dynamic_axes=None,
    opset_version: int | None = None,
):
    """The ``onnx.ModelProto`` of ``model`` traced on ``args`` (see the module docstring)."""
    import onnx

    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    if not MIN_EXPORT_OPSET <= opset <= onnx.defs.onnx_opset_version():
        raise ValueError(
            f"export: opset_version must be from {MIN_EXPORT_OPSET} to {onnx.defs.onnx_opset_version()}, "
            f"but got opset_version={opset_version}"
        )
    if not hasattr(model, "state_dict") or not callable(model):
        raise TypeError(f"export: model must be a cf.nn.Module, but got {type(model).__name__}")
    inputs = _as_inputs(args)
    tracer = Tracer()
    was_training = getattr(model, "training", False)
    model.eval()  # torch.onnx.export's default: TrainingMode.EVAL
    try:
        with no_grad(), tracer.recording():
            outputs = _outputs(model(*inputs))
    finally:
        model.train(was_training)
    in_names = _names(input_names, len(inputs), "input", "input_names")
    out_names = _names(output_names, len(outputs), "output", "output_names")
    graph = onnx_convert.GraphBuilder(model, opset, _dynamic(dynamic_axes, in_names + out_names))
    graph.add_inputs(inputs, in_names)
    for record in tracer.records:
        graph.convert(*record)
    graph.add_outputs(outputs, out_names)
    return graph.model_proto(export_params)


def export(
    model,
    args=(),
    f=None,
    export_params: bool = True,
    verbose: bool | None = False,
    training=None,
    input_names=None,
    output_names=None,
    operator_export_type=None,
    opset_version: int | None = None,
    do_constant_folding: bool = True,
    dynamic_axes=None,
    keep_initializers_as_inputs: bool | None = None,
    *,
    dynamo: bool = False,
    **ignored,
):
    """``torch.onnx.export`` for convforge models: trace ``model(*args)`` and write ONNX to ``f``.

    Parameters
    ----------
    model : cf.nn.Module
        Exported in eval mode (its mode is restored afterwards).
    args : Tensor or tuple of Tensors
        Example inputs; the trace follows the path they take.
    f : str, PathLike, binary file object or None
        Where to write; None returns the serialized bytes.
    export_params : bool
        False leaves the weights out, as graph inputs named as in ``state_dict()``.
    verbose : bool
        Print the graph.
    input_names, output_names : list of str, optional
        Names of the graph's inputs and outputs (``input0``..., ``output0``... otherwise).
    opset_version : int, optional
        13 to the installed onnx's newest; 17 by default.
    dynamic_axes : dict, optional
        ``{name: {axis: label}}`` or ``{name: [axis, ...]}``: dimensions left symbolic.
    training, operator_export_type, do_constant_folding, keep_initializers_as_inputs, dynamo
        Accepted for torch's signature; the export always traces in eval mode, folds
        nothing it was not given folded, and writes plain ONNX operators.

    Returns
    -------
    bytes or None
        The serialized model when ``f`` is None.

    Shape: the graph's inputs and outputs have the shapes of ``args`` and of the model's outputs,
    with the ``dynamic_axes`` left symbolic.
    """
    del training, operator_export_type, do_constant_folding, keep_initializers_as_inputs, dynamo, ignored
    proto = build_model_proto(
        model,
        args,
        export_params=export_params,
        input_names=input_names,
        output_names=output_names,
        dynamic_axes=dynamic_axes,
        opset_version=opset_version,
    )
    if verbose:
        import onnx.printer

        print(onnx.printer.to_text(proto.graph))
    data = proto.SerializeToString()
    if f is None:
        return data
    if isinstance(f, (str, os.PathLike)):
        from .safetensors_io import atomic_write

        atomic_write(Path(f), lambda partial: Path(partial).write_bytes(data))
        return None
    if isinstance(f, io.IOBase) or hasattr(f, "write"):
        f.write(data)
        return None
    raise TypeError(f"export: f must be a path, a binary file object or None, but got {type(f).__name__}")


def save_onnx(model, path, example_input, **options) -> Path:
    """Write ``model`` as ONNX to ``path``, traced on ``example_input`` (a Tensor or a tuple).

    ``options`` are :func:`export`'s (``input_names``, ``dynamic_axes``, ``opset_version`` ...).

    Shape: as the model.
    """
    export(model, example_input if isinstance(example_input, tuple) else (example_input,), path, **options)
    return Path(path)
