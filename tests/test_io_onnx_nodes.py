"""cf.io.load_onnx against ONNX's node tests: every case of the ops convforge runs.

The ``onnx`` wheel does not ship ``backend/test/data/node``, but it ships the generator of
those cases (``onnx.backend.test.case.node``): each op's model and inputs with the expected
outputs of ONNX's NumPy reference. Every case whose ops are all in
:data:`convforge.io.onnx_import.SUPPORTED_OPS` must give the expected outputs at the case's
tolerances, or be one of the refusals below, which must fail at import with a ``ValueError``
naming the node's op. Cases with element types NumPy lacks (float8, int4, bfloat16 data) are
left out.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from onnx import TensorProto, numpy_helper
from onnx.backend.test.case.node import collect_testcases

import convforge as cf
from convforge.io.onnx_import import SUPPORTED_OPS

# what convforge refuses, by case name: each with the reason the importer gives
REFUSED = {
    r"averagepool_.*dilations": "average pooling has no dilation",
    r"batchnorm_.*training_mode": "training_mode=1",
    r"cast(like)?_.*_to_(BFLOAT16|FLOAT8|INT4|UINT4|INT2|UINT2|FLOAT4E2M1)": "to=",
    r"dropout.*mask": r"are not supported \(only the first\)",
    r"training_dropout": "training_mode must be a constant False",
    r"maxpool_with_argmax_2d_precomputed_pads": r"are not supported \(only the first\)",
    r"maxpool_with_argmax_2d_precomputed_strides": "storage_order=1",
    r"resize_.*antialias": "antialias=1",  # before cubic: the first unsupported attribute is named
    r"resize_.*cubic": "mode='cubic'",
    r"resize_tf_crop_and_resize": "coordinate_transformation_mode='tf_crop_and_resize'",
    r"resize_.*not_(larger|smaller)": "keep_aspect_ratio_policy",
    r"resize_.*half_pixel_symmetric": "coordinate_transformation_mode='half_pixel_symmetric'",
}


def _plain(value) -> np.ndarray:
    return numpy_helper.to_array(value) if isinstance(value, TensorProto) else value


def _numpy_typed(data_sets) -> bool:
    return all(
        isinstance(v, np.ndarray) and v.dtype.kind in "biufc" and v.dtype.type.__module__ == "numpy"
        for inputs, outputs in data_sets
        for v in (*inputs, *outputs)
    )


def _cases():
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        cases = collect_testcases(None)
    chosen = []
    for case in cases:
        ops = {node.op_type for node in case.model.graph.node}
        domains = {node.domain for node in case.model.graph.node}
        if not ops <= set(SUPPORTED_OPS) or not domains <= {"", "ai.onnx"}:
            continue
        data_sets = [([_plain(v) for v in ins], [_plain(v) for v in outs]) for ins, outs in case.data_sets]
        if _numpy_typed(data_sets):
            chosen.append(pytest.param(case, data_sets, id=case.name))
    return chosen


CASES = _cases()


def _refusal(name: str) -> str | None:
    return next((reason for pattern, reason in REFUSED.items() if re.search(pattern, name)), None)


def test_the_node_cases_cover_the_ops():
    assert len(CASES) > 400
    covered = {node.op_type for param in CASES for node in param.values[0].model.graph.node}
    assert {"Conv", "ConvTranspose", "MaxPool", "AveragePool", "Resize", "Pad", "LRN", "Gemm"} <= covered


@pytest.mark.parametrize("case, data_sets", CASES)
def test_onnx_node_case(case, data_sets):
    data = case.model.SerializeToString()
    reason = _refusal(case.name)
    if reason is not None:
        with pytest.raises(ValueError, match=rf"\(op \w+\).*{reason}"):
            cf.io.load_onnx(data)
        return
    model = cf.io.load_onnx(data)
    for inputs, expected in data_sets:
        with cf.no_grad(), np.errstate(all="ignore"):
            outputs = model(*inputs)
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        for got, want in zip(outputs, expected):
            got = np.asarray(got.array if isinstance(got, cf.Tensor) else got)
            np.testing.assert_allclose(got, want, rtol=max(case.rtol, 1e-4), atol=max(case.atol, 1e-6))
