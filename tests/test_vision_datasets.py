"""cf.vision.datasets: MNIST-format readers, the bundled sample, CIFAR pickles read safely, folders, FakeData.

torchvision cannot be installed next to torch 2.13, so these tests hold the readers to
torchvision's documented layout and attributes and to files written here byte by byte.
"""

from __future__ import annotations

import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
import tomllib
from PIL import Image

import convforge as cf
from convforge.data import write_idx
from convforge.vision import datasets
from convforge.vision import transforms as T

ROOT = Path(__file__).resolve().parents[1]


# ---- the bundled MNIST sample ---------------------------------------------------------
def test_bundled_sample_is_a_stratified_4000_1000_split_of_real_28x28_digits():
    train_x, train_y, test_x, test_y = cf.data.mnist_sample()
    assert train_x.shape == (4000, 1, 28, 28) and test_x.shape == (1000, 1, 28, 28)
    assert train_x.dtype == np.float32 and train_y.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(train_y), [400] * 10)
    np.testing.assert_array_equal(np.bincount(test_y), [100] * 10)
    assert train_x.min() == 0.0 and train_x.max() == 1.0
    # held-out means held out: no test image also appears in the training set
    train_bytes = {image.tobytes() for image in train_x}
    assert not any(image.tobytes() in train_bytes for image in test_x)


def test_bundled_sample_files_are_declared_package_data_with_their_licence():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = sum(config["tool"]["setuptools"]["package-data"].values(), [])
    package = ROOT / "src" / "convforge"
    declared = {path for pattern in patterns for path in package.glob(pattern)}
    raw = cf.data.MNIST_SAMPLE_ROOT / "MNIST" / "raw"
    assert set(raw.glob("*-ubyte.gz")) <= declared and len(list(raw.glob("*-ubyte.gz"))) == 4
    licence = cf.data.MNIST_SAMPLE_ROOT / "LICENSE.txt"
    assert licence in declared and "Redistribution and use in source and binary forms" in licence.read_text()


@pytest.mark.parametrize("train", [True, False])
def test_mnist_reads_the_bundled_sample_as_torchvision_reads_mnist(train):
    dataset = datasets.MNIST(cf.data.MNIST_SAMPLE_ROOT, train=train)
    images, labels = cf.data.mnist_sample()[:2] if train else cf.data.mnist_sample()[2:]
    assert len(dataset) == len(labels)
    assert dataset.data.dtype == np.uint8 and dataset.data.shape == (len(labels), 28, 28)
    assert dataset.targets.dtype == np.int64
    np.testing.assert_array_equal(dataset.targets.array, labels)
    np.testing.assert_allclose(dataset.data.array / 255, images[:, 0], atol=1e-6)
    image, label = dataset[7]
    assert isinstance(image, Image.Image) and image.mode == "L" and image.size == (28, 28)
    assert label == labels[7] and isinstance(label, int)
    assert dataset.classes[3] == "3 - three" and dataset.class_to_idx["9 - nine"] == 9


def test_mnist_applies_transform_and_target_transform():
    dataset = datasets.MNIST(
        cf.data.MNIST_SAMPLE_ROOT, train=False, transform=T.ToTensor(), target_transform=lambda y: y + 100
    )
    image, label = dataset[0]
    assert isinstance(image, cf.Tensor) and image.shape == (1, 28, 28) and image.dtype == np.float32
    np.testing.assert_allclose(image.array[0], dataset.data.array[0] / 255, rtol=1e-6)
    assert label == int(dataset.targets.array[0]) + 100


def test_mnist_batches_through_a_dataloader_like_torch_mnist():
    dataset = datasets.MNIST(cf.data.MNIST_SAMPLE_ROOT, train=False, transform=T.ToTensor())
    images, labels = next(iter(cf.utils.data.DataLoader(dataset, batch_size=32)))
    assert images.shape == (32, 1, 28, 28) and images.dtype == np.float32 and labels.dtype == np.int64


@pytest.mark.parametrize("cls", [datasets.MNIST, datasets.FashionMNIST, datasets.KMNIST])
@pytest.mark.parametrize("gz", ["", ".gz"])
def test_mnist_family_reads_raw_or_gz_files_under_root_classname_raw(tmp_path, rng, cls, gz):
    raw = tmp_path / cls.__name__ / "raw"
    raw.mkdir(parents=True)
    images = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=5, dtype=np.uint8)
    write_idx(raw / f"t10k-images-idx3-ubyte{gz}", images)
    write_idx(raw / f"t10k-labels-idx1-ubyte{gz}", labels)
    dataset = cls(str(tmp_path), train=False)
    np.testing.assert_array_equal(dataset.data.array, images)
    np.testing.assert_array_equal(np.asarray(dataset[2][0]), images[2])
    assert len(dataset.classes) == 10


@pytest.mark.parametrize("download", [False, True])
def test_missing_mnist_files_say_which_files_go_where(tmp_path, download):
    with pytest.raises(RuntimeError) as info:
        datasets.FashionMNIST(tmp_path, train=True, download=download)
    message = str(info.value)
    assert "train-images-idx3-ubyte" in message and str(tmp_path / "FashionMNIST" / "raw") in message
    assert ("cannot download" in message) == download


def test_mnist_names_a_corrupt_file(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03" + bytes(5))
    write_idx(raw / "train-labels-idx1-ubyte", np.zeros(1, np.uint8))
    with pytest.raises(ValueError, match="truncated") as info:
        datasets.MNIST(tmp_path)
    assert "train-images-idx3-ubyte" in str(info.value)


# ---- CIFAR ----------------------------------------------------------------------------
def _write_cifar(root: Path, rng, per_batch: int = 4, bytes_keys: bool = False) -> tuple[np.ndarray, list]:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    key = (lambda k: k.encode()) if bytes_keys else (lambda k: k)
    all_data, all_labels = [], []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, size=per_batch)]
        batch = {
            key("batch_label"): name,
            key("labels"): labels,
            key("data"): data,
            key("filenames"): ["x"] * per_batch,
        }
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
        if name != "test_batch":
            all_data.append(data)
            all_labels += labels
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    (folder / "batches.meta").write_bytes(
        pickle.dumps({key("label_names"): names, key("num_vis"): 3072}, protocol=2)
    )
    return np.concatenate(all_data), all_labels


@pytest.mark.parametrize("bytes_keys", [False, True])
def test_cifar10_reads_the_python_batches_as_torchvision(tmp_path, rng, bytes_keys):
    data, labels = _write_cifar(tmp_path, rng, bytes_keys=bytes_keys)
    dataset = datasets.CIFAR10(tmp_path, train=True)
    assert len(dataset) == 20 and dataset.data.shape == (20, 32, 32, 3) and dataset.data.dtype == np.uint8
    # a row is 1024 red, then 1024 green, then 1024 blue values, each plane row-major
    np.testing.assert_array_equal(dataset.data[5, 2, 7], data[5].reshape(3, 32, 32)[:, 2, 7])
    assert (
        dataset.targets == labels
        and dataset.classes[1] == "automobile"
        and dataset.class_to_idx["truck"] == 9
    )
    image, label = dataset[5]
    assert isinstance(image, Image.Image) and image.mode == "RGB" and label == labels[5]
    np.testing.assert_array_equal(np.asarray(image), dataset.data[5])
    assert len(datasets.CIFAR10(tmp_path, train=False)) == 4


class _Exploit:
    def __reduce__(self):
        import os

        return (os.system, ("touch pwned",))


def test_cifar_batches_that_reference_other_globals_are_refused_without_running_them(
    tmp_path, rng, monkeypatch
):
    _write_cifar(tmp_path, rng)
    monkeypatch.chdir(tmp_path)
    batch = tmp_path / "cifar-10-batches-py" / "data_batch_3"
    batch.write_bytes(pickle.dumps({"data": _Exploit(), "labels": []}, protocol=2))
    with pytest.raises(
        ValueError, match=r"data_batch_3 is not a valid CIFAR batch: global (posix|os)\.system"
    ):
        datasets.CIFAR10(tmp_path)
    assert not (tmp_path / "pwned").exists()


def test_cifar_extracts_a_local_archive_with_download_true_and_never_downloads(tmp_path, rng):
    source = tmp_path / "source"
    _write_cifar(source, rng)
    with tarfile.open(tmp_path / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(source / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    with pytest.raises(RuntimeError, match="Dataset not found.*cifar-10-python.tar.gz"):
        datasets.CIFAR10(tmp_path)
    assert len(datasets.CIFAR10(tmp_path, download=True)) == 20
    with pytest.raises(RuntimeError, match="cannot download"):
        datasets.CIFAR10(tmp_path / "empty", download=True)


def test_cifar_rejects_a_batch_without_data(tmp_path, rng):
    _write_cifar(tmp_path, rng)
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(pickle.dumps({"labels": [1]}, protocol=2))
    with pytest.raises(ValueError, match="test_batch is not a CIFAR batch"):
        datasets.CIFAR10(tmp_path, train=False)


# ---- FakeData, ImageFolder ------------------------------------------------------------
def test_fakedata_is_reproducible_per_index_and_leaves_the_default_generator_alone():
    dataset = datasets.FakeData(size=6, image_size=(3, 10, 12), num_classes=4, transform=T.ToTensor())
    cf.manual_seed(0)
    expected_next = cf.rand(3).array
    cf.manual_seed(0)
    first, label = dataset[2]
    np.testing.assert_array_equal(cf.rand(3).array, expected_next)
    np.testing.assert_array_equal(dataset[2][0].array, first.array)
    assert first.shape == (3, 10, 12) and 0 <= label < 4 and len(dataset) == 6
    assert not np.array_equal(dataset[3][0].array, first.array)
    other = datasets.FakeData(size=6, image_size=(3, 10, 12), random_offset=1)
    assert np.array_equal(np.asarray(other[1][0]), np.asarray(datasets.FakeData(6, (3, 10, 12))[2][0]))
    assert datasets.FakeData(2, (1, 5, 5))[0][0].mode == "L"
    with pytest.raises(IndexError):
        dataset[6]


def test_image_folder_finds_classes_and_images_in_sorted_order(tmp_path, rng):
    for name, count in [("dog", 2), ("cat", 3)]:
        (tmp_path / name).mkdir()
        for k in range(count):
            Image.fromarray(rng.integers(0, 256, (6, 5), dtype=np.uint8)).save(tmp_path / name / f"{k}.png")
    (tmp_path / "cat" / "notes.txt").write_text("not an image")
    dataset = datasets.ImageFolder(tmp_path, transform=T.ToTensor())
    assert dataset.classes == ["cat", "dog"] and dataset.class_to_idx == {"cat": 0, "dog": 1}
    assert dataset.targets == [0, 0, 0, 1, 1] and Path(dataset.imgs[3][0]).name == "0.png"
    image, label = dataset[4]
    assert image.shape == (3, 6, 5) and label == 1  # opened as RGB


def test_image_folder_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="Couldn't find any class folder"):
        datasets.ImageFolder(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(
        FileNotFoundError, match="Found no valid file for the classes empty. Supported extensions"
    ):
        datasets.ImageFolder(tmp_path)
    assert len(datasets.ImageFolder(tmp_path, allow_empty=True)) == 0


def test_dataset_repr_is_torchvisions():
    text = repr(datasets.MNIST(cf.data.MNIST_SAMPLE_ROOT, train=False))
    assert (
        text.splitlines()[:2] == ["Dataset MNIST", "    Number of datapoints: 1000"] and "Split: Test" in text
    )
