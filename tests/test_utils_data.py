"""cf.utils.data: torch.utils.data's path, samplers, DataLoader arguments and workers, seeding.

torch 2.13 is the oracle for everything that does not depend on the random numbers
themselves: collate dtypes and structure, sampler and loader lengths, BatchSampler batches,
the errors for bad argument combinations, random_split sizes, ConcatDataset indexing.
"""

from __future__ import annotations

import collections
import threading
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import convforge as cf
from convforge.utils.data import (
    BatchSampler,
    ChainDataset,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    get_worker_info,
    random_split,
)

torch = pytest.importorskip("torch")
tdata = torch.utils.data


def _numpy(batch):
    """A batch (cf or torch) as nested lists/dicts of ndarrays, with dtype names."""
    if isinstance(batch, (cf.Tensor, torch.Tensor)):
        array = batch.array if isinstance(batch, cf.Tensor) else batch.numpy()
        return (str(array.dtype), array.tolist())
    if isinstance(batch, dict):
        return {key: _numpy(value) for key, value in batch.items()}
    if isinstance(batch, (list, tuple)):
        return (type(batch).__name__, [_numpy(value) for value in batch])
    return batch


# ---- the module path ------------------------------------------------------------------
def test_utils_data_holds_the_same_objects_as_cf_data():
    for name in (
        "DataLoader",
        "Dataset",
        "TensorDataset",
        "random_split",
        "RandomSampler",
        "default_collate",
    ):
        assert getattr(cf.utils.data, name) is getattr(cf.data, name)
    from convforge.utils.data.dataloader import DataLoader as loader_class
    from convforge.utils.data.dataset import Subset
    from convforge.utils.data.sampler import WeightedRandomSampler as weighted

    assert loader_class is cf.data.DataLoader and Subset is cf.data.Subset
    assert weighted is WeightedRandomSampler


def test_utils_data_has_the_names_cnn_scripts_import_from_torch():
    wanted = {
        "DataLoader", "Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset", "ChainDataset",
        "random_split", "default_collate", "default_convert", "get_worker_info", "Sampler",
        "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler", "BatchSampler",
    }  # fmt: skip
    assert wanted <= set(dir(tdata)) and wanted <= set(dir(cf.utils.data))


# ---- default_collate ------------------------------------------------------------------
Point = collections.namedtuple("Point", ["x", "y"])
COLLATE_CASES = {
    "ints": [1, 2, 3],
    "floats": [0.5, 1.5],
    "bools": [True, False],
    "float32 scalars": [np.float32(1), np.float32(2)],
    "int32 scalars": [np.int32(1), np.int32(2)],
    "uint8 arrays": [np.zeros((2, 3), np.uint8), np.ones((2, 3), np.uint8)],
    "float64 arrays": [np.zeros(2), np.ones(2)],
    "tuples": [(np.ones(2, np.float32), 1), (np.zeros(2, np.float32), 2)],
    "lists": [[1, 2.5], [3, 4.5]],
    "dicts": [{"a": 1, "b": np.ones(1, np.float32)}, {"a": 2, "b": np.zeros(1, np.float32)}],
    "strings": ["a", "b"],
    "namedtuples": [Point(1, 2.0), Point(3, 4.0)],
}


@pytest.mark.parametrize("samples", COLLATE_CASES.values(), ids=COLLATE_CASES.keys())
def test_default_collate_matches_torch_dtypes_and_structure(samples):
    ours = default_collate(samples)
    theirs = tdata.default_collate(samples)
    assert _numpy(ours) == _numpy(theirs) or (
        isinstance(theirs, tuple)
        and type(ours) is type(theirs)
        and _numpy(list(ours)) == _numpy(list(theirs))
    )


def test_default_collate_stacks_tensors_keeping_their_dtype():
    batch = default_collate([cf.tensor(np.ones((1, 2), np.float32)), cf.tensor(np.zeros((1, 2), np.float32))])
    assert isinstance(batch, cf.Tensor) and batch.shape == (2, 1, 2) and batch.dtype == np.float32


def test_default_collate_rejects_ragged_samples_like_torch():
    with pytest.raises(
        RuntimeError, match=r"stack expects each tensor to be equal size, but got \[2\] at entry 0"
    ):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
        default_collate([[1, 2], [3]])


# ---- samplers -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("n", "batch_size", "drop_last"), [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False)]
)
def test_batch_sampler_batches_equal_torchs(n, batch_size, drop_last):
    ours = BatchSampler(SequentialSampler(range(n)), batch_size, drop_last)
    theirs = tdata.BatchSampler(tdata.SequentialSampler(range(n)), batch_size, drop_last)
    assert list(ours) == list(theirs) and len(ours) == len(theirs)


@pytest.mark.parametrize("num_samples", [None, 4, 25])
@pytest.mark.parametrize("replacement", [False, True])
def test_random_sampler_draws_num_samples_valid_indices(num_samples, replacement):
    cf.manual_seed(0)
    indices = list(RandomSampler(range(10), replacement=replacement, num_samples=num_samples))
    expected = len(tdata.RandomSampler(range(10), replacement=replacement, num_samples=num_samples))
    assert len(indices) == expected and all(0 <= i < 10 for i in indices)
    if not replacement and num_samples is None:
        assert sorted(indices) == list(range(10))
    if not replacement and num_samples == 25:  # two whole permutations, then half of a third
        assert sorted(indices[:10]) == sorted(indices[10:20]) == list(range(10))


def test_subset_random_sampler_permutes_exactly_its_indices():
    sampler = SubsetRandomSampler([7, 3, 9, 1], generator=cf.Generator().manual_seed(1))
    first, second = list(sampler), list(sampler)
    assert sorted(first) == sorted(second) == [1, 3, 7, 9] and len(sampler) == 4


def test_weighted_random_sampler_follows_the_weights():
    sampler = WeightedRandomSampler(
        [0.0, 1.0, 3.0], num_samples=4000, generator=cf.Generator().manual_seed(2)
    )
    counts = np.bincount(list(sampler), minlength=3)
    assert counts[0] == 0 and abs(counts[2] / counts[1] - 3) < 0.4
    without = list(WeightedRandomSampler([1, 1, 1, 0], 3, replacement=False))
    assert sorted(without) == [0, 1, 2]


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda m: m.RandomSampler(range(3), replacement=1), TypeError),
        (lambda m: m.RandomSampler(range(3), num_samples=0), ValueError),
        (lambda m: m.WeightedRandomSampler([1.0, 2.0], num_samples=-1), ValueError),
        (lambda m: m.WeightedRandomSampler([1.0, 2.0], 2, replacement="yes"), ValueError),
        (lambda m: m.WeightedRandomSampler([[1.0, 2.0]], 2), ValueError),
        (lambda m: m.BatchSampler(range(3), batch_size=0, drop_last=False), ValueError),
        (lambda m: m.BatchSampler(range(3), batch_size=2, drop_last=None), ValueError),
    ],
)
def test_samplers_reject_what_torch_rejects_with_its_message(make, error):
    with pytest.raises(error) as theirs:
        make(tdata)
    with pytest.raises(error, match=f"^{__import__('re').escape(str(theirs.value))}$"):
        make(cf.utils.data)


# ---- DataLoader arguments -------------------------------------------------------------
class Numbers(Dataset):
    """Sample i is (float32 [i, -i], i): a map-style dataset with the per-sample collate path."""

    def __init__(self, n: int = 10):
        self.n = n

    def __getitem__(self, index):
        return np.array([index, -index], dtype=np.float32), index

    def __len__(self):
        return self.n


class Stream(IterableDataset):
    def __init__(self, n: int = 7):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


class TorchStream(tdata.IterableDataset):
    def __init__(self, n: int = 7):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


BAD_LOADER_ARGUMENTS = [
    {"num_workers": -1},
    {"timeout": -1},
    {"prefetch_factor": 2},
    {"num_workers": 1, "prefetch_factor": -1},
    {"persistent_workers": True},
    {"sampler": [0, 1], "shuffle": True},
    {"batch_sampler": [[0, 1]], "batch_size": 2},
    {"batch_sampler": [[0, 1]], "drop_last": True},
    {"batch_sampler": [[0, 1]], "sampler": [0]},
    {"batch_size": None, "drop_last": True},
    {"batch_size": 0},
    {"multiprocessing_context": "spawn"},
    {"num_workers": 1, "multiprocessing_context": "nonsense"},
]


@pytest.mark.parametrize("kwargs", BAD_LOADER_ARGUMENTS, ids=[str(k) for k in BAD_LOADER_ARGUMENTS])
def test_loader_rejects_bad_combinations_with_torchs_error(kwargs):
    with pytest.raises(ValueError) as theirs:
        tdata.DataLoader(list(range(10)), **kwargs)
    with pytest.raises(ValueError) as ours:
        DataLoader(Numbers(), **kwargs)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("kwargs", [{"shuffle": True}, {"sampler": [0]}, {"batch_sampler": [[0]]}])
def test_loader_of_an_iterable_dataset_rejects_orderings_like_torch(kwargs):
    with pytest.raises(ValueError) as theirs:
        tdata.DataLoader(TorchStream(), **kwargs)
    with pytest.raises(ValueError) as ours:
        DataLoader(Stream(), **kwargs)
    assert str(ours.value).split(", but got")[0] == str(theirs.value).split(", but got")[0]


def test_loader_attributes_are_frozen_after_init_like_torch():
    loader = DataLoader(Numbers(), batch_size=2)
    with pytest.raises(
        ValueError, match="batch_size attribute should not be set after DataLoader is initialized"
    ):
        loader.batch_size = 3
    loader.num_workers = 1  # not frozen in torch either


LOADER_CONFIGS = [
    {"batch_size": 3},
    {"batch_size": 3, "drop_last": True},
    {"batch_size": None},
    {"batch_sampler": [[0, 5], [9], [1, 2, 3]]},
    {"sampler": [9, 8, 7], "batch_size": 2},
    {"sampler": SequentialSampler(range(10)), "batch_size": 4},
]


@pytest.mark.parametrize("kwargs", LOADER_CONFIGS, ids=[str(k)[:40] for k in LOADER_CONFIGS])
def test_loader_batches_and_length_equal_torchs(kwargs):
    torch_kwargs = dict(kwargs)
    if isinstance(kwargs.get("sampler"), SequentialSampler):
        torch_kwargs["sampler"] = tdata.SequentialSampler(range(10))
    ours, theirs = DataLoader(Numbers(), **kwargs), tdata.DataLoader(Numbers(), **torch_kwargs)
    assert len(ours) == len(theirs)
    assert [_numpy(b) for b in ours] == [_numpy(b) for b in theirs]


@pytest.mark.parametrize(("batch_size", "drop_last"), [(3, False), (3, True), (None, False)])
def test_loader_of_an_iterable_dataset_equals_torchs(batch_size, drop_last):
    ours = DataLoader(Stream(), batch_size=batch_size, drop_last=drop_last)
    theirs = tdata.DataLoader(TorchStream(), batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    assert [_numpy(b) for b in ours] == [_numpy(b) for b in theirs]


def test_tensor_dataset_batches_are_lists_as_in_torch():
    (batch,) = DataLoader(TensorDataset(np.arange(4), np.arange(4.0)), batch_size=4)
    assert isinstance(batch, list) and batch[0].dtype == np.int64 and batch[1].dtype == np.float64


def test_pin_memory_is_accepted_and_warns_as_torch_without_an_accelerator():
    with pytest.warns(UserWarning, match="no accelerator is found"):
        batches = list(DataLoader(Numbers(4), batch_size=2, pin_memory=True))
    assert len(batches) == 2


# ---- workers --------------------------------------------------------------------------
class Slow(Dataset):
    """Samples whose loading time varies, so threads finish out of order."""

    def __getitem__(self, index):
        threading.Event().wait(0.002 * ((index * 7) % 5))
        return np.full(3, index, dtype=np.int32), float(index)

    def __len__(self):
        return 23


@pytest.mark.parametrize("num_workers", [1, 2, 3])
@pytest.mark.parametrize("persistent_workers", [False, True])
def test_workers_give_the_batches_of_num_workers_0_in_order(num_workers, persistent_workers):
    def epochs(**kwargs):
        cf.manual_seed(5)
        loader = DataLoader(Slow(), batch_size=4, shuffle=True, **kwargs)
        return [[_numpy(b) for b in loader] for _ in range(2)]

    reference = epochs()
    assert (
        epochs(num_workers=num_workers, persistent_workers=persistent_workers, prefetch_factor=1) == reference
    )
    assert reference[0] != reference[1]  # a new order each epoch


def test_workers_of_an_iterable_dataset_each_yield_its_stream_in_turn_as_torch():
    ours = [_numpy(b) for b in DataLoader(Stream(5), batch_size=2, num_workers=2)]
    theirs = [_numpy(b) for b in tdata.DataLoader(TorchStream(5), batch_size=2, num_workers=2)]
    assert ours == theirs


class Sharded(IterableDataset):
    def __iter__(self):
        info = get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, 12, step))


def test_get_worker_info_lets_an_iterable_dataset_shard_its_stream():
    assert get_worker_info() is None
    values = [int(v) for b in DataLoader(Sharded(), batch_size=3, num_workers=3) for v in b.array]
    assert sorted(values) == list(range(12))


def test_worker_init_fn_runs_once_per_worker_and_persistent_workers_keep_their_state():
    seen = []

    def init(worker_id):
        seen.append((worker_id, get_worker_info().num_workers))

    loader = DataLoader(Numbers(8), batch_size=2, num_workers=2, worker_init_fn=init, persistent_workers=True)
    for _ in range(3):
        assert len(list(loader)) == 4
    assert sorted(seen) == [(0, 2), (1, 2)]


class Noisy(Dataset):
    """Each sample draws from the default generator (as a random transform does)."""

    def __getitem__(self, index):
        return cf.rand(2).array

    def __len__(self):
        return 8


def test_random_draws_in_workers_are_reproducible_after_manual_seed():
    def run():
        cf.manual_seed(11)
        return [_numpy(b) for b in DataLoader(Noisy(), batch_size=2, num_workers=2)]

    assert run() == run()


def test_an_error_in_a_worker_is_raised_in_the_main_thread():
    class Broken(Numbers):
        def __getitem__(self, index):
            if index == 5:
                raise KeyError("sample 5 is broken")
            return super().__getitem__(index)

    with pytest.raises(KeyError, match="sample 5 is broken"):
        list(DataLoader(Broken(), batch_size=2, num_workers=2))


def test_timeout_raises_torchs_runtime_error():
    class Stuck(Numbers):
        def __getitem__(self, index):
            threading.Event().wait(1.0)
            return super().__getitem__(index)

    with pytest.raises(RuntimeError, match="DataLoader timed out after 0.05 seconds"):
        list(DataLoader(Stuck(2), batch_size=1, num_workers=1, timeout=0.05))


# ---- seeding --------------------------------------------------------------------------
def _order(loader):
    return [int(v) for b in loader for v in b[0].array]


def test_shuffle_follows_cf_manual_seed():
    dataset = TensorDataset(np.arange(30))
    cf.manual_seed(3)
    first = _order(DataLoader(dataset, batch_size=7, shuffle=True))
    cf.manual_seed(3)
    loader = DataLoader(dataset, batch_size=7, shuffle=True)
    again, next_epoch = _order(loader), _order(loader)
    assert first == again and sorted(first) == list(range(30)) and next_epoch != first
    cf.manual_seed(4)
    assert _order(DataLoader(dataset, batch_size=7, shuffle=True)) != first


def test_manual_seed_after_building_the_loader_still_decides_the_order():
    loader = DataLoader(TensorDataset(np.arange(30)), batch_size=30, shuffle=True)
    cf.manual_seed(8)
    first = _order(loader)
    cf.manual_seed(8)
    assert _order(loader) == first


def test_loader_with_a_cf_generator_is_independent_of_the_global_seed():
    dataset = TensorDataset(np.arange(20))
    cf.manual_seed(0)
    a = _order(DataLoader(dataset, batch_size=5, shuffle=True, generator=cf.Generator().manual_seed(42)))
    cf.manual_seed(1)
    b = _order(DataLoader(dataset, batch_size=5, shuffle=True, generator=cf.Generator().manual_seed(42)))
    assert a == b


def test_generator_has_torchs_seeding_interface():
    generator = cf.Generator()
    assert generator.initial_seed() == torch.Generator().initial_seed() == 67280421310721
    assert generator.manual_seed(7) is generator and generator.initial_seed() == 7
    assert generator.manual_seed(-1).initial_seed() == torch.Generator().manual_seed(-1).initial_seed()
    new_seed = generator.seed()
    assert generator.initial_seed() == new_seed and 0 <= new_seed < 2**64
    state = generator.get_state()
    first = cf.rand(3, generator=generator).array
    generator.set_state(state)
    np.testing.assert_array_equal(cf.rand(3, generator=generator).array, first)
    assert cf.manual_seed(5).initial_seed() == cf.initial_seed() == 5
    with pytest.raises(TypeError, match="seed must be an int, but got seed=1.5"):
        generator.manual_seed(1.5)
    with pytest.raises(ValueError, match="device must be 'cpu'"):
        cf.Generator(device="cuda")


# ---- random_split, ConcatDataset ------------------------------------------------------
SPLITS = [
    (lengths, n) for lengths in ([0.7, 0.3], [0.34, 0.33, 0.33], [0.1] * 10, [1.0, 0.0]) for n in (10, 13)
]


@pytest.mark.parametrize(("lengths", "n"), [*SPLITS, ([3, 7], 10), ([0, 13], 13)])
def test_random_split_sizes_equal_torchs(lengths, n):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # both warn about an empty part (tested below)
        theirs = [len(p) for p in tdata.random_split(range(n), lengths)]
        ours = random_split(TensorDataset(np.arange(n)), lengths)
    assert [len(p) for p in ours] == theirs
    assert sorted(i for p in ours for i in p.indices) == list(range(n))


def test_random_split_follows_manual_seed_and_takes_a_generator_positionally():
    dataset = TensorDataset(np.arange(50))
    cf.manual_seed(2)
    first = [p.indices for p in random_split(dataset, [0.5, 0.5])]
    cf.manual_seed(2)
    assert [p.indices for p in random_split(dataset, [0.5, 0.5])] == first
    by_generator = [p.indices for p in random_split(dataset, [25, 25], cf.Generator().manual_seed(9))]
    assert by_generator == [p.indices for p in random_split(dataset, [25, 25], cf.Generator().manual_seed(9))]


def test_concat_dataset_indexes_like_torchs():
    parts = [list(range(3)), list(range(10, 15)), list(range(20, 22))]
    ours = ConcatDataset([_ListDataset(p) for p in parts])
    theirs = tdata.ConcatDataset(parts)
    assert len(ours) == len(theirs) and ours.cumulative_sizes == theirs.cumulative_sizes
    assert [ours[i] for i in range(-10, 10)] == [theirs[i] for i in range(-10, 10)]
    assert (_ListDataset([1]) + _ListDataset([2]))[1] == 2
    with pytest.raises(ValueError, match="datasets should not be an empty iterable"):
        ConcatDataset([])
    with pytest.raises(ValueError, match="absolute value of index should not exceed dataset length"):
        ours[-11]


def test_chain_dataset_streams_one_after_the_other():
    assert list(ChainDataset([Stream(2), Stream(3)])) == [0, 1, 0, 1, 2]
    assert list(Stream(1) + Stream(2)) == [0, 0, 1]


class _ListDataset(Dataset):
    def __init__(self, items):
        self.items = items

    def __getitem__(self, index):
        return self.items[index]

    def __len__(self):
        return len(self.items)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 40),
    batch_size=st.integers(1, 12),
    drop_last=st.booleans(),
    workers=st.integers(0, 3),
)
def test_loader_length_and_batches_equal_torchs_for_any_sizes(n, batch_size, drop_last, workers):
    ours = DataLoader(Numbers(n), batch_size=batch_size, drop_last=drop_last, num_workers=workers)
    theirs = tdata.DataLoader(Numbers(n), batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    assert [_numpy(b) for b in ours] == [_numpy(b) for b in theirs]


def test_an_error_in_worker_init_fn_is_raised_with_the_first_batch():
    def init(worker_id):
        raise OSError(f"worker {worker_id} cannot start")

    with pytest.raises(OSError, match="worker 0 cannot start"):
        next(iter(DataLoader(Numbers(4), batch_size=2, num_workers=1, worker_init_fn=init)))


def test_persistent_workers_restart_an_iterable_stream_every_epoch():
    loader = DataLoader(Stream(5), batch_size=2, num_workers=2, persistent_workers=True)
    first, second = ([_numpy(b) for b in loader] for _ in range(2))
    assert first == second and len(first) == 6  # each worker streams all 5 samples, as in torch


def test_torch_only_arguments_are_accepted():
    loader = DataLoader(Numbers(4), batch_size=2, num_workers=1, pin_memory_device="", in_order=False)
    assert len(list(loader)) == 2


def test_random_split_warns_of_an_empty_part_as_torch():
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        parts = random_split(TensorDataset(np.arange(3)), [1.0, 0.0])
    assert [len(p) for p in parts] == [3, 0]
