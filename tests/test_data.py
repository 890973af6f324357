"""cf.data: the bundled digits, the IDX reader/writer, MNIST loading, datasets and loaders."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tomllib

import convforge as cf
from convforge.data import (
    DataLoader,
    Dataset,
    Subset,
    TensorDataset,
    digits_split,
    load_digits,
    load_mnist,
    random_split,
    read_idx,
    write_idx,
)

ROOT = Path(__file__).resolve().parents[1]


# ---- bundled digits -------------------------------------------------------------------
def test_load_digits_shapes_dtypes_and_range():
    images, labels = load_digits()
    assert images.shape == (1797, 1, 8, 8) and images.dtype == np.float32
    assert labels.shape == (1797,) and labels.dtype == np.int64
    assert images.min() == 0.0 and images.max() == 1.0
    np.testing.assert_array_equal(np.unique(labels), np.arange(10))
    assert np.bincount(labels).min() >= 170  # about 180 of each digit


def test_load_digits_equals_scikit_learns_copy():
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    reference = sklearn_datasets.load_digits()
    images, labels = load_digits()
    np.testing.assert_array_equal(images[:, 0] * 16, reference.images)
    np.testing.assert_array_equal(labels, reference.target)


def test_load_digits_returns_fresh_arrays():
    images, labels = load_digits()
    images[:] = -1
    labels[:] = -1
    again, again_labels = load_digits()
    assert again.min() == 0.0 and again_labels.min() == 0


def test_digits_need_neither_scikit_learn_nor_torch():
    code = (
        "import sys; import convforge as cf; cf.data.load_digits(); cf.data.digits_split();"
        "assert 'sklearn' not in sys.modules and 'torch' not in sys.modules, sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_digits_file_is_declared_package_data():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]
    assert any(Path(p).name == "digits.csv.gz" or p.endswith("*.csv.gz") for p in sum(patterns.values(), []))


def test_digits_split_is_a_stratified_partition():
    train_x, train_y, test_x, test_y = digits_split(test_fraction=0.2, seed=0)
    assert len(train_x) + len(test_x) == 1797 and len(train_x) == len(train_y) and len(test_x) == len(test_y)
    assert abs(len(test_x) - 0.2 * 1797) <= 5
    counts = np.bincount(load_digits()[1])
    np.testing.assert_allclose(np.bincount(test_y), 0.2 * counts, atol=0.5)
    # a partition: the (image, label) pairs of both parts are exactly those of the whole set
    images, labels = load_digits()
    parts = zip(np.concatenate([train_x, test_x]), np.concatenate([train_y, test_y]))
    assert sorted((x.tobytes(), int(y)) for x, y in parts) == sorted(
        (x.tobytes(), int(y)) for x, y in zip(images, labels)
    )


def test_digits_split_is_shuffled():
    train_x, train_y, _, test_y = digits_split()
    assert not np.all(np.diff(train_y) >= 0) and not np.all(np.diff(test_y) >= 0)


def test_digits_split_is_reproducible_and_depends_on_the_seed():
    first, second, other = digits_split(seed=3), digits_split(seed=3), digits_split(seed=4)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[1], other[1])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"test_fraction": 0.0}, ValueError, r"test_fraction must be in \(0, 1\), but got test_fraction=0.0"),
        ({"test_fraction": 1.5}, ValueError, "test_fraction"),
        ({"test_fraction": "0.2"}, TypeError, "test_fraction"),
        ({"seed": 1.5}, TypeError, "seed must be an int"),
    ],
)
def test_digits_split_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        digits_split(**kwargs)


# ---- IDX ------------------------------------------------------------------------------
IDX_DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


@pytest.mark.parametrize("dtype", IDX_DTYPES)
@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("shape", [(7,), (3, 4, 5), (2, 1, 3, 2)])
def test_idx_round_trip(tmp_path, rng, dtype, suffix, shape):
    array = (rng.normal(size=shape) * 50).astype(dtype)
    path = tmp_path / f"array.idx{suffix}"
    write_idx(path, array)
    result = read_idx(path)
    assert result.dtype == np.dtype(dtype) and result.dtype.isnative
    np.testing.assert_array_equal(result, array)


def test_read_idx_reads_the_mnist_byte_layout(tmp_path):
    """MNIST's own header: magic 0x00000803, then 3 big-endian uint32 sizes, then pixels."""
    pixels = np.arange(2 * 3 * 4, dtype=np.uint8)
    content = bytes([0, 0, 8, 3]) + (2).to_bytes(4, "big") + (3).to_bytes(4, "big") + (4).to_bytes(4, "big")
    (tmp_path / "images").write_bytes(content + pixels.tobytes())
    np.testing.assert_array_equal(read_idx(tmp_path / "images"), pixels.reshape(2, 3, 4))
    labels = bytes([0, 0, 8, 1]) + (3).to_bytes(4, "big") + bytes([7, 2, 1])
    (tmp_path / "labels.gz").write_bytes(gzip.compress(labels))
    np.testing.assert_array_equal(read_idx(tmp_path / "labels.gz"), [7, 2, 1])


def _valid_idx() -> bytes:
    return bytes([0, 0, 8, 2]) + (2).to_bytes(4, "big") + (3).to_bytes(4, "big") + bytes(range(6))


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "truncated"),
        (b"\x00\x00", "truncated"),
        (b"\x12\x34\x08\x01" + bytes(8), "not an IDX file: the magic number"),
        (bytes([0, 0, 0x0A, 1]) + (1).to_bytes(4, "big") + b"\x00", "unknown IDX dtype code 0x0A"),
        (bytes([0, 0, 8, 0]), "0 dimensions"),
        (bytes([0, 0, 8, 3]) + (2).to_bytes(4, "big"), "truncated: the header declares 3 dimensions"),
        (_valid_idx()[:-1], r"truncated: the header says shape \(2, 3\)"),
        (_valid_idx() + b"\x00\x00", "corrupt: .* 2 bytes more"),
        (gzip.compress(_valid_idx())[:-6], "corrupt or truncated gzip"),
    ],
    ids=["empty", "short", "magic", "dtype", "ndim0", "header", "payload", "trailing", "gzip"],
)
def test_read_idx_names_the_file_and_the_problem(tmp_path, content, match):
    path = tmp_path / "broken-idx1-ubyte"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=match) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_write_idx_rejects_unsupported_arrays(tmp_path):
    with pytest.raises(TypeError, match="dtype must be one of"):
        write_idx(tmp_path / "x", np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="1 to 255 dimensions"):
        write_idx(tmp_path / "x", np.uint8(3))


def _write_mnist(directory: Path, split: str, n: int, rng, spelling: str = "-", gz: str = "") -> np.ndarray:
    stem = "train" if split == "train" else "t10k"
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    write_idx(directory / f"{stem}-images{spelling}idx3-ubyte{gz}", images)
    write_idx(directory / f"{stem}-labels{spelling}idx1-ubyte{gz}", labels)
    return images, labels


@pytest.mark.parametrize(("spelling", "gz"), [("-", ""), ("-", ".gz"), (".", ""), (".", ".gz")])
@pytest.mark.parametrize("split", ["train", "test"])
def test_load_mnist_finds_the_standard_file_names(tmp_path, rng, spelling, gz, split):
    images, labels = _write_mnist(tmp_path, split, 5, rng, spelling, gz)
    x, y = load_mnist(tmp_path, split=split)
    assert x.shape == (5, 1, 28, 28) and x.dtype == np.float32
    assert y.shape == (5,) and y.dtype == np.int64
    np.testing.assert_allclose(x[:, 0] * 255, images, atol=1e-4)
    np.testing.assert_array_equal(y, labels)


def test_load_mnist_lists_what_it_looked_for(tmp_path, rng):
    _write_mnist(tmp_path, "train", 3, rng)
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte, t10k-images-idx3-ubyte.gz") as info:
        load_mnist(tmp_path, split="test")
    assert str(tmp_path) in str(info.value)
    with pytest.raises(FileNotFoundError, match="not a directory"):
        load_mnist(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="split must be 'train' or 'test', but got split='val'"):
        load_mnist(tmp_path, split="val")


def test_load_mnist_rejects_mismatched_counts(tmp_path, rng):
    _write_mnist(tmp_path, "train", 4, rng)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(3, dtype=np.uint8))
    with pytest.raises(ValueError, match="has 4 images but .* has 3 labels"):
        load_mnist(tmp_path)


# ---- datasets and loaders -------------------------------------------------------------
def _digits_dataset(n: int = 50) -> TensorDataset:
    images, labels = load_digits()
    return TensorDataset(images[:n], labels[:n])


class PairDataset(Dataset):
    """A user-defined dataset returning (ndarray, int): the per-sample collate path."""

    def __init__(self, images, labels):
        self.images, self.labels = images, labels

    def __getitem__(self, index):
        return self.images[index], int(self.labels[index])

    def __len__(self):
        return len(self.labels)


def test_tensor_dataset_items_and_length():
    dataset = _digits_dataset()
    image, label = dataset[3]
    assert len(dataset) == 50 and image.shape == (1, 8, 8) and int(label) == load_digits()[1][3]
    with pytest.raises(ValueError, match="same first dimension, but got sizes \\[3, 2\\]"):
        TensorDataset(np.zeros((3, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()


@pytest.mark.parametrize(
    ("batch_size", "drop_last", "expected"), [(16, False, 4), (16, True, 3), (50, True, 1), (64, True, 0)]
)
def test_loader_length_and_batches_in_order(batch_size, drop_last, expected):
    dataset = _digits_dataset()
    loader = DataLoader(dataset, batch_size=batch_size, drop_last=drop_last)
    batches = list(loader)
    assert len(loader) == len(batches) == expected
    if batches:
        images = np.concatenate([b[0].array for b in batches])
        np.testing.assert_array_equal(images, dataset.tensors[0].array[: len(images)])
        assert all(isinstance(t, cf.Tensor) for b in batches for t in b)
        assert batches[0][0].dtype == np.float32 and batches[0][1].dtype == np.int64
        assert batches[0][0].shape == (min(batch_size, 50), 1, 8, 8)


def test_loader_collates_user_datasets_like_tensor_datasets():
    images, labels = load_digits()
    fast = list(DataLoader(TensorDataset(images[:20], labels[:20]), batch_size=8, shuffle=True, seed=1))
    slow = list(DataLoader(PairDataset(images[:20], labels[:20]), batch_size=8, shuffle=True, seed=1))
    for (fx, fy), (sx, sy) in zip(fast, slow):
        np.testing.assert_array_equal(fx.array, sx.array)
        np.testing.assert_array_equal(fy.array, sy.array)
        assert sx.dtype == np.float32 and sy.dtype == np.int64


def test_shuffle_is_reproducible_with_a_seed_and_new_every_epoch():
    dataset = TensorDataset(np.arange(40), np.arange(40))

    def epochs(loader, n=3):
        return [np.concatenate([b[0].array for b in loader]) for _ in range(n)]

    first, second = (
        epochs(DataLoader(dataset, 8, shuffle=True, seed=7)),
        epochs(DataLoader(dataset, 8, shuffle=True, seed=7)),
    )
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    for order in first:
        np.testing.assert_array_equal(np.sort(order), np.arange(40))
    assert not np.array_equal(first[0], first[1]) and not np.array_equal(first[0], np.arange(40))
    other = epochs(DataLoader(dataset, 8, shuffle=True, seed=8), 1)[0]
    assert not np.array_equal(first[0], other)


def test_loader_accepts_a_numpy_generator():
    dataset = TensorDataset(np.arange(10))
    a = np.concatenate(
        [b[0].array for b in DataLoader(dataset, 4, shuffle=True, generator=np.random.default_rng(5))]
    )
    b = np.concatenate(
        [b[0].array for b in DataLoader(dataset, 4, shuffle=True, generator=np.random.default_rng(5))]
    )
    np.testing.assert_array_equal(a, b)


def test_default_collate_handles_scalars_dicts_and_nesting():
    batch = cf.data.default_collate(
        [{"x": np.ones(2, np.float32), "y": 1, "w": 0.5}, {"x": np.zeros(2, np.float32), "y": 2, "w": 1.5}]
    )
    assert batch["x"].shape == (2, 2) and batch["x"].dtype == np.float32
    assert batch["y"].dtype == np.int64 and batch["w"].dtype == np.float64
    with pytest.raises(
        TypeError,
        match="batch must contain tensors, numpy arrays, numbers, dicts or lists; found <class 'object'>",
    ):
        cf.data.default_collate([object()])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"batch_size": 0},
            ValueError,
            "batch_size should be a positive integer value, but got batch_size=0",
        ),
        (
            {"batch_size": 2.0},
            ValueError,
            "batch_size should be a positive integer value, but got batch_size=2.0",
        ),
        ({"seed": 1, "generator": np.random.default_rng()}, ValueError, "seed or generator, not both"),
        ({"seed": "abc"}, TypeError, "seed must be an int"),
        (
            {"generator": 3},
            TypeError,
            "generator must be a convforge.Generator, a numpy.random.Generator or None",
        ),
    ],
)
def test_loader_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        DataLoader(_digits_dataset(), **kwargs)
    with pytest.raises(TypeError, match="__len__ and __getitem__"):
        DataLoader(42)


def test_subset_selects_and_loads_in_batches():
    dataset = TensorDataset(np.arange(10) * 10, np.arange(10))
    subset = Subset(dataset, [7, 2, 5])
    assert len(subset) == 3 and int(subset[0][0]) == 70
    ((values, labels),) = list(DataLoader(subset, batch_size=3))
    np.testing.assert_array_equal(values.array, [70, 20, 50])
    with pytest.raises(ValueError, match=r"indices must be in \[-10, 10\)"):
        Subset(dataset, [10])
    with pytest.raises(TypeError, match="1-D sequence of ints"):
        Subset(dataset, [0.5])


@pytest.mark.parametrize(
    ("lengths", "sizes"), [([6, 4], [6, 4]), ([0.5, 0.3, 0.2], [5, 3, 2]), ([0.34, 0.33, 0.33], [4, 3, 3])]
)
def test_random_split_partitions_the_dataset(lengths, sizes):
    dataset = TensorDataset(np.arange(10))
    parts = random_split(dataset, lengths, seed=0)
    assert [len(p) for p in parts] == sizes
    np.testing.assert_array_equal(np.sort(np.concatenate([p.indices for p in parts])), np.arange(10))
    again = random_split(dataset, lengths, seed=0)
    assert [p.indices for p in parts] == [p.indices for p in again]


@pytest.mark.parametrize(
    ("lengths", "match"),
    [([6, 5], "sum to the dataset size 10"), ([0.5, 0.6], "summing to 1"), ([-1, 11], "non-negative")],
)
def test_random_split_rejects_bad_lengths(lengths, match):
    with pytest.raises(ValueError, match=match):
        random_split(TensorDataset(np.arange(10)), lengths)
