"""Layer/group/instance/RMS/local-response normalization and the similarity functions against
torch 2.13: values, gradients of input and affine parameters, running statistics, reprs,
state dict keys, constructor signatures and errors."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

import convforge as cf
from conftest import assert_close, to_torch

CF, TF = cf.nn.functional, torch.nn.functional


def _grads(fn_cf, fn_torch, arrays):
    """Outputs and the gradients of every array for loss = sum(y * g) with a fixed random g."""
    ours = [cf.tensor(a, requires_grad=True) for a in arrays]
    theirs = [to_torch(a, requires_grad=True) for a in arrays]
    yc, yt = fn_cf(*ours), fn_torch(*theirs)
    g = np.random.default_rng(5).normal(size=tuple(yt.shape))
    (yc * cf.tensor(g)).sum().backward()
    (yt * to_torch(g)).sum().backward()
    assert_close(yc.detach().numpy(), yt.detach().numpy())
    for a, b in zip(ours, theirs):
        assert_close(a.grad.detach().numpy(), b.grad.detach().numpy())


@pytest.mark.parametrize(("shape", "normalized"), [((4, 5), (5,)), ((2, 3, 4), (3, 4)), ((2, 3, 2, 2), (2,))])
@pytest.mark.parametrize("affine", [False, True])
def test_layer_norm_matches_torch(rng, shape, normalized, affine):
    x = rng.normal(size=shape)
    if affine:
        w, b = rng.normal(size=normalized), rng.normal(size=normalized)
        _grads(
            lambda *t: CF.layer_norm(t[0], normalized, t[1], t[2]),
            lambda *t: TF.layer_norm(t[0], normalized, t[1], t[2]),
            [x, w, b],
        )
    else:
        _grads(
            lambda t: CF.layer_norm(t, normalized, eps=1e-3),
            lambda t: TF.layer_norm(t, normalized, eps=1e-3),
            [x],
        )


@pytest.mark.parametrize("eps", [None, 1e-4])
def test_rms_norm_matches_torch(rng, eps):
    x, w = rng.normal(size=(3, 4, 5)), rng.normal(size=(4, 5))
    _grads(lambda a, b: CF.rms_norm(a, (4, 5), b, eps), lambda a, b: TF.rms_norm(a, (4, 5), b, eps), [x, w])


@pytest.mark.parametrize(
    ("shape", "groups"), [((2, 6, 5), 3), ((2, 4, 3, 3), 2), ((3, 4, 2, 2, 2), 4), ((2, 4), 1)]
)
def test_group_norm_matches_torch(rng, shape, groups):
    x, w, b = rng.normal(size=shape), rng.normal(size=shape[1]), rng.normal(size=shape[1])
    _grads(
        lambda *t: CF.group_norm(t[0], groups, t[1], t[2]),
        lambda *t: TF.group_norm(t[0], groups, t[1], t[2]),
        [x, w, b],
    )


@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 3, 4, 4), (1, 2, 3, 2, 2)])
def test_instance_norm_matches_torch_and_updates_running_stats(rng, shape):
    x, w, b = rng.normal(size=shape), rng.normal(size=shape[1]), rng.normal(size=shape[1])
    _grads(
        lambda *t: CF.instance_norm(t[0], weight=t[1], bias=t[2]),
        lambda *t: TF.instance_norm(t[0], weight=t[1], bias=t[2]),
        [x, w, b],
    )
    rm, rv = np.zeros(shape[1]), np.ones(shape[1])
    rmc, rvc, rmt, rvt = cf.tensor(rm.copy()), cf.tensor(rv.copy()), to_torch(rm), to_torch(rv)
    CF.instance_norm(cf.tensor(x), rmc, rvc, momentum=0.3)
    TF.instance_norm(to_torch(x), rmt, rvt, momentum=0.3)
    assert_close(rmc.detach().numpy(), rmt.detach().numpy())
    assert_close(rvc.detach().numpy(), rvt.detach().numpy())
    y = CF.instance_norm(cf.tensor(x), rmc, rvc, use_input_stats=False)
    assert_close(
        y.detach().numpy(), TF.instance_norm(to_torch(x), rmt, rvt, use_input_stats=False).detach().numpy()
    )


@pytest.mark.parametrize(
    ("shape", "size"), [((2, 7, 4), 5), ((2, 6, 3, 3), 3), ((1, 5, 2, 2, 2), 2), ((2, 3, 4), 1)]
)
def test_local_response_norm_matches_torch(rng, shape, size):
    x = rng.normal(size=shape)
    _grads(
        lambda t: CF.local_response_norm(t, size, alpha=0.1, beta=0.6, k=2.0),
        lambda t: TF.local_response_norm(t, size, alpha=0.1, beta=0.6, k=2.0),
        [x],
    )


LAYERS = [
    ("GroupNorm", (2, 4), {}, (2, 4, 3, 3)),
    ("GroupNorm", (2, 4), {"affine": False}, (2, 4, 3)),
    ("GroupNorm", (1, 4), {"bias": False, "eps": 1e-3}, (2, 4, 3)),
    ("LayerNorm", (5,), {}, (2, 3, 5)),
    ("LayerNorm", ((3, 5),), {"elementwise_affine": False}, (2, 3, 5)),
    ("LayerNorm", (5,), {"bias": False}, (2, 5)),
    ("RMSNorm", (5,), {}, (2, 5)),
    ("RMSNorm", ([3, 5],), {"eps": 1e-3, "elementwise_affine": False}, (2, 3, 5)),
    ("InstanceNorm1d", (3,), {}, (2, 3, 6)),
    ("InstanceNorm1d", (3,), {"affine": True}, (3, 6)),
    ("InstanceNorm2d", (3,), {"affine": True, "track_running_stats": True}, (2, 3, 4, 4)),
    ("InstanceNorm3d", (2,), {"momentum": 0.5, "track_running_stats": True}, (2, 2, 2, 3, 3)),
    ("LocalResponseNorm", (3,), {}, (2, 5, 3, 3)),
    ("LocalResponseNorm", (2,), {"alpha": 0.01, "beta": 0.5, "k": 2.0}, (2, 5, 4)),
]


@pytest.mark.parametrize(("name", "args", "kwargs", "shape"), LAYERS, ids=str)
def test_layer_matches_torch_in_train_and_eval(rng, name, args, kwargs, shape):
    ours, theirs = (
        getattr(cf.nn, name)(*args, **kwargs).double(),
        getattr(torch.nn, name)(*args, **kwargs).double(),
    )
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        assert_close(np.asarray(ours.state_dict()[key]), value.detach().numpy())
    x = rng.normal(size=shape)
    for mode in (True, False):
        ours.train(mode), theirs.train(mode)
        assert_close(ours(cf.tensor(x)).detach().numpy(), theirs(to_torch(x)).detach().numpy())
        for key, value in theirs.state_dict().items():
            assert_close(np.asarray(ours.state_dict()[key]), value.detach().numpy())


@pytest.mark.parametrize(
    "name",
    [
        "GroupNorm",
        "LayerNorm",
        "RMSNorm",
        "InstanceNorm1d",
        "InstanceNorm2d",
        "InstanceNorm3d",
        "LocalResponseNorm",
    ],
)
def test_layer_constructor_signatures_match_torch(name):
    ours = inspect.signature(getattr(cf.nn, name).__init__).parameters
    theirs = inspect.signature(getattr(torch.nn, name).__init__).parameters
    assert list(ours) == list(theirs)
    assert [p.default for p in ours.values()] == [p.default for p in theirs.values()]


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: CF.group_norm(cf.zeros(2, 6, 3), 4), ValueError, "num_groups"),
        (lambda: CF.layer_norm(cf.zeros(2, 3), (4,)), ValueError, "normalized_shape"),
        (lambda: CF.layer_norm(cf.zeros(2, 3), (3,), weight=cf.ones(4)), ValueError, "weight"),
        (lambda: CF.instance_norm(cf.zeros(2, 3)), ValueError, "input"),
        (lambda: CF.instance_norm(cf.zeros(2, 3, 1)), ValueError, "spatial"),
        (lambda: CF.local_response_norm(cf.zeros(2, 3, 4), 0), ValueError, "size"),
        (lambda: cf.nn.GroupNorm(3, 4), ValueError, "divide"),
        (lambda: cf.nn.InstanceNorm2d(3)(cf.zeros(2, 3)), ValueError, "3D"),
    ],
)
def test_bad_arguments_raise_naming_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ---- similarity and one_hot ------------------------------------------------------------
@pytest.mark.parametrize(("p", "dim"), [(2.0, 1), (1.0, 0), (3.0, -1), (float("inf"), 1)])
def test_normalize_matches_torch(rng, p, dim):
    x = rng.normal(size=(3, 4))
    x[0] = 0.0  # a zero vector stays zero (the norm is floored at eps)
    _grads(lambda t: CF.normalize(t, p, dim), lambda t: TF.normalize(t, p, dim), [x])


@pytest.mark.parametrize(
    ("shape1", "shape2", "dim"), [((4, 3), (4, 3), 1), ((5, 3), (1, 3), 1), ((2, 3, 4), (2, 3, 4), 0)]
)
def test_cosine_similarity_matches_torch(rng, shape1, shape2, dim):
    x1, x2 = rng.normal(size=shape1), rng.normal(size=shape2)
    _grads(
        lambda a, b: CF.cosine_similarity(a, b, dim), lambda a, b: TF.cosine_similarity(a, b, dim), [x1, x2]
    )


def test_cosine_similarity_of_tiny_vectors_uses_torchs_eps_floor():
    x1, x2 = np.array([[1e-9, 0.0], [3.0, 4.0]]), np.array([[2e-9, 0.0], [1.0, 0.0]])
    assert_close(
        CF.cosine_similarity(cf.tensor(x1), cf.tensor(x2)).detach().numpy(),
        TF.cosine_similarity(to_torch(x1), to_torch(x2)).detach().numpy(),
    )


@pytest.mark.parametrize(("p", "keepdim"), [(2.0, False), (1.0, True), (3.0, False)])
def test_pairwise_distance_matches_torch(rng, p, keepdim):
    x1, x2 = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    _grads(
        lambda a, b: CF.pairwise_distance(a, b, p, keepdim=keepdim),
        lambda a, b: TF.pairwise_distance(a, b, p, keepdim=keepdim),
        [x1, x2],
    )


def test_distance_layers_match_torch(rng):
    x1, x2 = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    assert_close(
        cf.nn.CosineSimilarity(dim=0)(cf.tensor(x1), cf.tensor(x2)).detach().numpy(),
        torch.nn.CosineSimilarity(dim=0)(to_torch(x1), to_torch(x2)).detach().numpy(),
    )
    assert_close(
        cf.nn.PairwiseDistance(p=1.0)(cf.tensor(x1), cf.tensor(x2)).detach().numpy(),
        torch.nn.PairwiseDistance(p=1.0)(to_torch(x1), to_torch(x2)).detach().numpy(),
    )


@pytest.mark.parametrize(("values", "classes"), [([0, 2, 1], -1), ([[1], [0]], -1), ([3, 0], 5), ([], 3)])
def test_one_hot_matches_torch(values, classes):
    index = np.array(values, dtype=np.int64)
    ours = CF.one_hot(cf.tensor(index), classes)
    theirs = TF.one_hot(torch.from_numpy(index), classes)
    assert ours.dtype == np.int64
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())


@pytest.mark.parametrize(
    ("values", "classes", "error"),
    [([-1], -1, ValueError), ([3], 2, ValueError), ([], -1, ValueError), ([1.0], -1, TypeError)],
)
def test_one_hot_refuses_what_torch_refuses(values, classes, error):
    with pytest.raises(RuntimeError):
        TF.one_hot(torch.tensor(values, dtype=torch.float32 if error is TypeError else torch.long), classes)
    with pytest.raises(error):
        CF.one_hot(cf.tensor(np.array(values, dtype=np.float32 if error is TypeError else np.int64)), classes)


# ---- SyncBatchNorm ----------------------------------------------------------------------
def test_sync_batchnorm_is_batchnorm_on_one_process_as_torch(rng):
    ours, theirs = (
        cf.nn.SyncBatchNorm(3, momentum=0.2).double(),
        torch.nn.SyncBatchNorm(3, momentum=0.2).double(),
    )
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = rng.normal(size=(4, 3, 2, 5))
    for mode in (True, False):
        ours.train(mode), theirs.train(mode)
        assert_close(ours(cf.tensor(x)).detach().numpy(), theirs(to_torch(x)).detach().numpy())
    for key, value in theirs.state_dict().items():
        assert_close(np.asarray(ours.state_dict()[key]), value.numpy())
    with pytest.raises(ValueError, match="2D"):
        ours(cf.zeros(3))


def test_convert_sync_batchnorm_swaps_every_batchnorm_keeping_the_parameters():
    ours = cf.nn.Sequential(
        cf.nn.Conv2d(1, 3, 3), cf.nn.BatchNorm2d(3), cf.nn.Sequential(cf.nn.BatchNorm1d(3))
    )
    theirs = torch.nn.Sequential(
        torch.nn.Conv2d(1, 3, 3), torch.nn.BatchNorm2d(3), torch.nn.Sequential(torch.nn.BatchNorm1d(3))
    )
    weight = ours[1].weight
    ours = cf.nn.SyncBatchNorm.convert_sync_batchnorm(ours)
    theirs = torch.nn.SyncBatchNorm.convert_sync_batchnorm(theirs)
    assert repr(ours) == repr(theirs)
    assert ours[1].weight is weight
    assert list(ours.state_dict()) == list(theirs.state_dict())


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, float("inf")])
def test_pdist_matches_torch_including_a_zero_distance(rng, p):
    x = rng.normal(size=(5, 3))
    x[3] = x[1]  # a repeated row: distance 0, gradient 0 as torch
    _grads(lambda t: CF.pdist(t, p), lambda t: TF.pdist(t, p), [x])


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 9])
def test_cross_map_lrn2d_reproduces_torchs_legacy_forward_with_an_exact_gradient(rng, size):
    x = rng.normal(size=(2, 7, 3, 3))
    ours, theirs = cf.nn.CrossMapLRN2d(size, 1e-2, 0.75, 2.0), torch.nn.CrossMapLRN2d(size, 1e-2, 0.75, 2.0)
    assert repr(ours) == repr(theirs)
    assert_close(ours(cf.tensor(x)).detach().numpy(), theirs(to_torch(x)).numpy())
    # torch's legacy backward is its own approximation (and fails for some sizes): finite differences instead
    assert cf.autograd.gradcheck(ours, (cf.tensor(x[:1, :, :2, :2], requires_grad=True),))
