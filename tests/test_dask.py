"""convforge.dask on a distributed.LocalCluster: chunked results equal in-memory ones.

The module's cluster has 2 worker processes of 1 thread each (processes, so a worker can
be killed). The memory tests start their own clusters with a memory limit per worker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
zarr = pytest.importorskip("zarr")
tifffile = pytest.importorskip("tifffile")

import convforge as cf  # noqa: E402
import convforge.dask as cfd  # noqa: E402
import convforge.functional as F  # noqa: E402
from convforge.cli import main  # noqa: E402
from convforge.dask.conv import _block_plan  # noqa: E402
from convforge.kernels import select  # noqa: E402
from convforge.spec import ConvArgs, Operand  # noqa: E402
from convforge.viz import filters  # noqa: E402

MODES = ("zeros", "reflect", "replicate", "circular")
CONV_ND = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    with distributed.Client(cluster) as dask_client:
        yield dask_client
    cluster.close()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261123)


# Algorithms whose every output is the same sequence of float operations whatever the array
# size (one accumulation per kernel tap): a chunk gives the whole array's bits. im2col's one
# GEMM over all taps is blocked by BLAS by matrix size, Winograd and FFT transform whole tiles.
BIT_EXACT = ("reference", "gemm", "depthwise")


def assert_same_as_in_memory(actual: np.ndarray, expected: np.ndarray, algorithm: str = "im2col") -> None:
    """Bit for bit for the per-tap algorithms, else within 1e-12 of the output's scale."""
    assert actual.shape == expected.shape
    if algorithm in BIT_EXACT:
        np.testing.assert_array_equal(actual, expected)
    else:
        scale = max(float(np.abs(expected).max(initial=0.0)), 1.0)
        np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-12 * scale)


def conv_spec(x_shape, w_shape, stride, padding, dilation, groups, mode) -> cf.spec.ConvSpec:
    n = len(w_shape) - 2
    args = ConvArgs.parse(
        f"conv{n}d", n, stride=stride, padding=padding, dilation=dilation, groups=groups, padding_mode=mode
    )
    return args.resolve(Operand(x_shape, "float64"), Operand(w_shape, "float64"))


def compared_algorithm(y, x_shape, w_shape, stride, padding, dilation, groups, mode) -> str:
    """The algorithm to judge exactness by: the blocks' one if the in-memory call runs it too
    (then per-tap algorithms agree bit for bit), else 'im2col' (round-off)."""
    spec = conv_spec(x_shape, w_shape, stride, padding, dilation, groups, mode)
    in_memory = select.plan(spec.zero_padded()).forward_algorithm
    blocks = _block_plan(spec, y.chunks[2:], max(y.chunks[0]), "auto", "conv").forward_algorithm
    return blocks if blocks == in_memory else "im2col"


# ---- the variant grid -----------------------------------------------------------------
# (input shape, weight shape, stride, padding, dilation, groups, chunks)
GRID = {
    "2d-plain": ((2, 3, 13, 16), (4, 3, 3, 5), 1, 0, 1, 1, (1, 3, 5, 7)),
    "2d-same": ((2, 3, 13, 16), (4, 3, 3, 4), 1, "same", 1, 1, (2, 3, 6, 5)),
    "2d-same-stride2": ((1, 3, 13, 16), (2, 3, 5, 3), 2, "same", 1, 1, (1, 3, 7, 5)),
    "2d-asymmetric": ((1, 3, 13, 16), (4, 3, 3, 5), (2, 3), (1, 2, 0, 3), (2, 1), 1, (1, 3, 5, 7)),
    "2d-valid-dilated": ((2, 2, 13, 16), (2, 2, 3, 3), 3, "valid", 2, 1, (1, 2, 4, 6)),
    "2d-pairs-groups": ((1, 4, 13, 16), (4, 2, 3, 3), 1, ((2, 0), (1, 3)), 3, 2, (1, 4, 3, 7)),
    "2d-depthwise": ((2, 4, 13, 16), (8, 1, 3, 3), 2, 1, 1, 4, (1, 4, 5, 7)),
    "3d-same": ((1, 2, 7, 8, 6), (2, 2, 3, 2, 3), 1, "same", 1, 1, (1, 2, 4, 3, 5)),
    "3d-asymmetric": ((1, 2, 7, 8, 6), (3, 2, 3, 3, 2), (1, 2, 2), (1, 0, 2), (2, 1, 1), 1, (1, 2, 3, 5, 4)),
    "3d-groups-stride": ((1, 4, 7, 8, 6), (2, 2, 2, 3, 3), 2, "valid", 1, 2, (1, 4, 5, 5, 5)),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", GRID.values(), ids=GRID.keys())
def test_chunked_conv_equals_in_memory(client, rng, case, mode):
    x_shape, w_shape, stride, padding, dilation, groups, chunks = case
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    y = cfd.conv(da.from_array(x, chunks=chunks), w, b, stride, padding, dilation, groups, mode)
    expected = CONV_ND[len(w_shape) - 2](x, w, b, stride, padding, dilation, groups, padding_mode=mode).array
    algorithm = compared_algorithm(y, x_shape, w_shape, stride, padding, dilation, groups, mode)
    assert_same_as_in_memory(client.compute(y).result(), expected, algorithm)


@pytest.mark.parametrize("chunk", [1, 2, 3, 11])
def test_chunks_smaller_than_the_halo_are_merged_and_exact(client, rng, chunk):
    """A dilated 7x7 kernel spans 19 cells; chunks of 1..11 cells are merged, never wrong."""
    x = rng.standard_normal((1, 2, 40, 33))
    w = rng.standard_normal((3, 2, 7, 7))
    y = cfd.conv(da.from_array(x, chunks=(1, 1, chunk, 17)), w, None, 1, "same", 3, 1, "reflect")
    expected = F.conv2d(x, w, None, 1, "same", 3, padding_mode="reflect").array
    assert y.chunks[1] == (3,)  # channels whole
    assert min(y.chunks[2][:-1], default=19) >= 18  # each chunk holds its neighbour's halo
    algorithm = compared_algorithm(y, x.shape, w.shape, 1, "same", 3, 1, "reflect")
    assert_same_as_in_memory(client.compute(y).result(), expected, algorithm)


@pytest.mark.parametrize("algorithm", sorted(set(select.ALGORITHMS) & {"im2col", "reference", "gemm", "fft"}))
def test_a_forced_algorithm_runs_in_every_block(client, rng, algorithm):
    x = rng.standard_normal((2, 3, 17, 21))
    w = rng.standard_normal((4, 3, 3, 3))
    y = cfd.conv(
        da.from_array(x, chunks=(1, 3, 6, 5)), w, None, 2, "same", 1, 1, "circular", algorithm=algorithm
    )
    expected = F.conv2d(x, w, None, 2, "same", padding_mode="circular", algorithm=algorithm).array
    assert_same_as_in_memory(client.compute(y).result(), expected, algorithm)


@pytest.mark.skipif("gemm" not in select.ALGORITHMS, reason="no gemm kernel registered")
def test_blocks_whose_im2col_columns_pass_the_workspace_limit_run_gemm(client, rng, monkeypatch):
    monkeypatch.setattr(cf.backends, "workspace_limit", 256 * 1024)  # 9x9 taps x 30x30 cells x 8 B > 256 KiB
    x = rng.standard_normal((1, 1, 60, 60))
    w = rng.standard_normal((1, 1, 9, 9))
    spec = conv_spec(x.shape, w.shape, 1, "same", 1, 1, "zeros")
    monkeypatch.setattr(select, "rule", lambda spec, direction: "im2col")  # what auto would take
    assert _block_plan(spec, ((30, 30), (30, 30)), 1, "auto", "conv").forward_algorithm == "gemm"
    assert _block_plan(spec, ((10,) * 6, (10,) * 6), 1, "auto", "conv").forward_algorithm == "im2col"
    y = cfd.conv(da.from_array(x, chunks=30), w, padding="same", padding_mode="reflect")
    expected = F.conv2d(x, w, padding="same", padding_mode="reflect", algorithm="gemm").array
    np.testing.assert_array_equal(client.compute(y).result(), expected)


def test_unbatched_and_plain_images(client, rng):
    image = rng.standard_normal((30, 26))
    one = rng.standard_normal((1, 1, 3, 3))
    many = rng.standard_normal((5, 1, 3, 3))
    plain = da.from_array(image, chunks=7)
    y1 = cfd.conv(plain, one, padding="same", padding_mode="replicate")
    y5 = cfd.conv(plain, many, padding=1)
    yc = cfd.conv(da.from_array(image[None], chunks=(1, 8, 8)), many, padding=1)
    assert y1.shape == (30, 26) and y5.shape == (5, 30, 26) and yc.shape == (5, 30, 26)
    r1, r5, rc = client.compute([y1, y5, yc], sync=True)
    assert_same_as_in_memory(
        r1, F.conv2d(image[None], one, padding="same", padding_mode="replicate").array[0]
    )
    assert_same_as_in_memory(r5, F.conv2d(image[None], many, padding=1).array)
    assert_same_as_in_memory(rc, r5)


def test_float32_and_a_tensor_weight(client, rng):
    x = rng.standard_normal((1, 2, 24, 24)).astype(np.float32)
    w = cf.tensor(rng.standard_normal((2, 2, 5, 5)).astype(np.float32))
    y = cfd.conv(da.from_array(x, chunks=(1, 2, 9, 9)), w, padding="same", padding_mode="reflect")
    assert y.dtype == np.float32
    expected = F.conv2d(x, w, padding="same", padding_mode="reflect").array
    np.testing.assert_allclose(client.compute(y).result(), expected, rtol=0, atol=1e-5)


def test_batch_chunks_are_kept_and_channels_made_whole(rng):
    x = da.from_array(rng.standard_normal((6, 4, 20, 20)), chunks=(2, 1, 10, 10))
    y = cfd.conv(x, rng.standard_normal((3, 4, 3, 3)), padding=1)
    assert y.chunks[:2] == ((2, 2, 2), (3,))
    assert y.chunks[2:] == ((10, 10), (10, 10))


# ---- filters and predict ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("kernel", "padding_mode"),
    [("sobel", "reflect"), ("gaussian:1.5", "replicate"), ("box:4", "circular"), ("laplacian", "zeros")],
)
def test_filter_equals_filter_image(client, rng, kernel, padding_mode):
    image = rng.random((37, 41, 3)) * 255
    y = cfd.filter(da.from_array(image, chunks=(10, 13, 3)), kernel, padding_mode)
    expected = filters.filter_image(image, filters.image_filter(kernel), padding_mode)
    assert_same_as_in_memory(client.compute(y).result(), expected)


def test_separable_filter_and_a_volume_kernel(client, rng):
    image = rng.random((40, 30)) * 255
    y = cfd.filter(da.from_array(image, chunks=9), "gaussian:2", separable=True)
    expected = filters.filter_image(image, filters.image_filter("gaussian:2"), separable=True)
    volume = rng.random((12, 14, 10))
    kernel = rng.random((3, 3, 3))
    v = cfd.filter(da.from_array(volume, chunks=5), kernel, "replicate")
    v_expected = F.conv3d(volume[None, None], kernel[None, None], padding="same", padding_mode="replicate")
    r, rv = client.compute([y, v], sync=True)
    assert_same_as_in_memory(r, expected)
    assert_same_as_in_memory(rv, v_expected.array[0, 0])


def test_predict_over_batch_chunks(client, rng):
    from convforge.models import LeNet5

    cf.manual_seed(0)
    model = LeNet5(num_classes=10, input_size=16)
    samples = rng.random((50, 1, 16, 16)).astype(np.float32)
    y = cfd.predict(model, da.from_array(samples, chunks=(7, 1, 8, 8)), batch_size=16)
    assert y.shape == (50, 10) and y.chunks[0] == (16, 16, 16, 2)
    with cf.no_grad():
        expected = model(cf.tensor(samples)).array
    np.testing.assert_allclose(client.compute(y).result(), expected, rtol=1e-5, atol=1e-6)


# ---- errors -------------------------------------------------------------------------
def test_a_numpy_input_is_refused_with_a_hint():
    with pytest.raises(TypeError, match=r"dask.conv: input must be a dask.array.Array .*ndarray"):
        cfd.conv(np.zeros((1, 1, 8, 8)), np.zeros((1, 1, 3, 3)))
    with pytest.raises(TypeError, match="dask.filter: image must be a dask.array.Array"):
        cfd.filter(np.zeros((8, 8)), "sobel")
    with pytest.raises(TypeError, match="dask.predict: x must be a dask.array.Array"):
        cfd.predict(cf.nn.Conv2d(1, 1, 3), np.zeros((2, 1, 8, 8)))


def test_wrong_ndim_and_unknown_chunks():
    w = np.zeros((2, 1, 3, 3))
    with pytest.raises(
        ValueError, match=r"conv2d: input must be 2-D .* but got input of shape \(2, 2, 1, 8, 8\)"
    ):
        cfd.conv(da.zeros((2, 2, 1, 8, 8)), w)
    with pytest.raises(ValueError, match="dask.conv: weight must be 3-D, 4-D or 5-D"):
        cfd.conv(da.zeros((1, 8, 8)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"image must be \(H, W\) or \(H, W, C\)"):
        cfd.filter(da.zeros((2, 3, 8, 8)), "sobel")
    x = da.zeros((2, 1, 8, 8))
    unknown = x[da.from_array(np.array([True, False]))]  # a batch size dask knows only after computing
    with pytest.raises(ValueError, match=r"dask.conv: input must have a known shape .* \(nan, 1, 8, 8\)"):
        cfd.conv(unknown, np.zeros((1, 1, 3, 3)))


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"groups": 2}, ValueError),
        ({"padding": "full"}, ValueError),
        ({"stride": 0}, ValueError),
        ({"dilation": (1, 2, 3)}, ValueError),
        ({"padding": 5, "padding_mode": "reflect"}, ValueError),
        ({"padding_mode": "mirror"}, ValueError),
        ({"padding": 1.5}, TypeError),
    ],
)
def test_bad_arguments_raise_the_in_memory_error(rng, kwargs, error):
    x = np.zeros((1, 3, 5, 5))
    w = np.zeros((2, 3, 3, 3))
    with pytest.raises(error) as in_memory:
        F.conv2d(x, w, **kwargs)
    with pytest.raises(error) as chunked:
        cfd.conv(da.from_array(x, chunks=2), w, **kwargs)
    assert str(chunked.value) == str(in_memory.value)


def test_dtype_and_bias_errors_match():
    x = da.zeros((1, 2, 6, 6), dtype=np.float32)
    with pytest.raises(TypeError, match="conv2d: input and weight must have the same dtype"):
        cfd.conv(x, np.zeros((1, 2, 3, 3)))
    with pytest.raises(ValueError, match=r"conv2d: bias must have shape \(1,\)"):
        cfd.conv(x, np.zeros((1, 2, 3, 3), np.float32), np.zeros(3, np.float32))
    with pytest.raises(TypeError, match="conv2d: input must be a floating array"):
        cfd.conv(da.zeros((1, 2, 6, 6), dtype=np.int64), np.zeros((1, 2, 3, 3)))
    with pytest.raises(ValueError, match="conv2d: algorithm must be one of"):
        cfd.conv(x, np.zeros((1, 2, 3, 3), np.float32), algorithm="magic")


def test_filter_and_predict_argument_errors():
    image = da.zeros((8, 8))
    with pytest.raises(ValueError, match="dask.filter: padding_mode must be one of"):
        cfd.filter(image, "sobel", padding_mode="wrap")
    with pytest.raises(ValueError, match="unknown kernel 'blur'"):
        cfd.filter(image, "blur")
    with pytest.raises(ValueError, match="not separable"):
        cfd.filter(image, "laplacian", separable=True)
    with pytest.raises(TypeError, match="dask.filter: dtype must be float32 or float64"):
        cfd.filter(image, "sobel", dtype=np.int32)
    with pytest.raises(TypeError, match="dask.predict: model must be a convforge.nn.Module"):
        cfd.predict(lambda t: t, da.zeros((2, 3)))
    with pytest.raises(ValueError, match="dask.predict: batch_size must be positive, but got batch_size=0"):
        cfd.predict(cf.nn.Flatten(), da.zeros((2, 3)), batch_size=0)


def test_bad_chunks_are_refused(tmp_path, capsys):
    from convforge.dask import stream

    with pytest.raises(ValueError, match="filter_file: chunks must be a positive int, but got chunks=0"):
        stream.filter_file("in.png", tmp_path / "o.zarr", "sobel", chunks=0)
    with pytest.raises(SystemExit):
        main(["filter", "in.png", "--kernel", "sobel", "--chunks", "0", "-o", str(tmp_path / "o.zarr")])
    assert "--chunks: must be a positive integer, but got 0" in capsys.readouterr().err


# ---- the CLI ------------------------------------------------------------------------
@pytest.fixture
def color_png(tmp_path, rng):
    from PIL import Image

    path = tmp_path / "color.png"
    Image.fromarray((rng.random((70, 90, 3)) * 255).astype(np.uint8)).save(path)
    return path


@pytest.mark.parametrize("kernel", ["sobel", "gaussian:1"])
def test_cli_chunked_filter_writes_the_in_memory_pixels(color_png, tmp_path, capsys, client, kernel):
    from PIL import Image

    assert main(["filter", str(color_png), "--kernel", kernel, "-o", str(tmp_path / "ref.png")]) == 0
    out = tmp_path / "out.tif"
    argv = ["filter", str(color_png), "--kernel", kernel, "--chunks", "32", "-o", str(out)]
    assert main([*argv, "--scheduler", client.scheduler.address]) == 0
    assert "in 32x32 tiles on 2 workers" in capsys.readouterr().out
    np.testing.assert_array_equal(tifffile.imread(out), np.asarray(Image.open(tmp_path / "ref.png")))


def test_cli_streams_a_tiled_tiff_into_zarr_as_float(tmp_path, capsys, rng):
    image = (rng.random((100, 120)) * 65535).astype(np.uint16)
    source = tmp_path / "tiled.tif"
    tifffile.imwrite(source, image, tile=(32, 32), compression="zlib")
    out = tmp_path / "out.zarr"
    argv = ["filter", str(source), "--kernel", "box:5", "--chunks", "40", "--scale", "none", "-o", str(out)]
    assert main(argv) == 0  # threads by default
    assert "on threads" in capsys.readouterr().out
    expected = filters.filter_image(image.astype(np.float64), filters.image_filter("box:5"))
    np.testing.assert_allclose(zarr.open(str(out), mode="r")[:], expected.astype(np.float32), rtol=1e-7)


def test_cli_reads_a_zarr_store(tmp_path, capsys, rng):
    image = rng.random((64, 48)) * 255
    source = tmp_path / "in.zarr"
    da.from_array(image, chunks=16).to_zarr(str(source))
    out = tmp_path / "edges.tif"
    argv = [
        "filter",
        str(source),
        "--kernel",
        "sobel-y",
        "--chunks",
        "20",
        "--scale",
        "minmax",
        "-o",
        str(out),
    ]
    assert main(argv) == 0
    expected = filters.to_uint8(filters.filter_image(image, filters.image_filter("sobel-y")), "minmax")
    np.testing.assert_array_equal(tifffile.imread(out), expected)


@pytest.mark.parametrize("layout", ["strips", "zlib tiles"])
def test_a_tiff_is_read_one_tile_per_task(tmp_path, rng, layout):
    from convforge.dask import stream

    image = (rng.random((100, 70, 3)) * 255).astype(np.uint8)
    path = tmp_path / "color.tif"
    options = {"tile": (32, 32), "compression": "zlib"} if layout == "zlib tiles" else {}
    tifffile.imwrite(path, image, photometric="rgb", **options)
    lazy = stream.open_image(path, 40)
    assert lazy.chunks == ((40, 40, 20), (40, 30), (3,))
    assert len(lazy.__dask_graph__()) == 6 + 1  # one read per tile, and the file's path object
    np.testing.assert_array_equal(lazy.compute(scheduler="threads"), image)


def test_cli_refuses_a_png_output_when_chunked(color_png, tmp_path, capsys):
    argv = ["filter", str(color_png), "--kernel", "sobel", "--chunks", "32", "-o", str(tmp_path / "o.png")]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("convforge filter: error: a chunked filter writes a .zarr store or a .tif")


# ---- imports --------------------------------------------------------------------------
def test_import_convforge_does_not_import_dask():
    code = "import sys, convforge; print('dask' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_without_dask_the_import_error_says_what_to_install():
    code = "import sys; sys.modules['dask'] = None; import convforge.dask"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode != 0
    assert "ImportError: convforge.dask needs Dask" in result.stderr
    assert "pip install convforge[dask]" in result.stderr


def test_the_cli_without_dask_says_what_to_install(tmp_path):
    argv = ["filter", "in.png", "--kernel", "sobel", "--chunks", "8", "-o", str(tmp_path / "o.zarr")]
    code = f"import sys; sys.modules['dask'] = None; from convforge.cli import main; sys.exit(main({argv!r}))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "convforge filter: error: convforge.dask needs Dask (dask[array]); "
        "install it with: pip install convforge[dask]"
    ]


# ---- failures and memory -----------------------------------------------------------------
def test_a_worker_killed_mid_run_is_replaced_and_the_result_is_exact(client, rng):
    noise = da.random.default_rng(7).standard_normal((1, 1, 2048, 2048), chunks=(1, 1, 128, 128))
    w = rng.standard_normal((1, 1, 5, 5))
    algorithm = "gemm" if "gemm" in select.ALGORITHMS else "im2col"
    y = cfd.conv(noise, w, padding="same", padding_mode="reflect", algorithm=algorithm)  # made on the workers
    x = noise.compute(scheduler="threads")
    expected = F.conv2d(x, w, padding="same", padding_mode="reflect", algorithm=algorithm).array
    pids = client.run(os.getpid)
    victim = sorted(pids)[0]
    future = client.compute(y)
    deadline = time.monotonic() + 60
    while not any("convforge" in str(key) for key in client.has_what().get(victim, ())):
        assert time.monotonic() < deadline, "no block finished on the victim"
        time.sleep(0.005)
    assert not future.done()
    os.kill(pids[victim], signal.SIGKILL)  # results held by the victim are lost: recomputed
    assert_same_as_in_memory(future.result(timeout=120), expected, algorithm)
    client.wait_for_workers(2, timeout=60)
    assert pids[victim] not in client.run(os.getpid).values()


def _filter_a_zarr_under_a_memory_limit(tmp_path, shape, chunks, memory_limit):
    """Write a random float32 zarr of ``shape``, filter it to another zarr on 2 workers of
    ``memory_limit`` each; returns (source, result, peak cluster bytes, restarted?)."""
    source, out = tmp_path / "big.zarr", tmp_path / "smooth.zarr"
    noise = da.random.default_rng(0).random(shape, chunks=chunks, dtype=np.float32)
    noise.to_zarr(str(source), compute=False).compute(scheduler="threads", num_workers=2)
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, memory_limit=memory_limit, processes=True, dashboard_address=":0"
    )
    sampler = distributed.diagnostics.MemorySampler()
    with cluster, distributed.Client(cluster) as small:
        before = set(small.run(os.getpid).values())
        image = da.from_zarr(str(source))
        smooth = cfd.filter(image, "gaussian:1", padding_mode="reflect", dtype=np.float32)
        with sampler.sample("filter", client=small, interval=0.1):
            small.compute(da.to_zarr(smooth, str(out), compute=False)).result()
        restarted = set(small.run(os.getpid).values()) != before
    peak = max(value for _, value in sampler.samples["filter"])
    return zarr.open(str(source), mode="r"), zarr.open(str(out), mode="r"), peak, restarted


def _check_corner(source, result):
    """The top-left 600x600 of the result against the in-memory filter of that corner."""
    corner = source[:600, :600].astype(np.float64)
    expected = filters.filter_image(corner, filters.image_filter("gaussian:1"), "reflect")
    np.testing.assert_allclose(result[:590, :590], expected[:590, :590], rtol=0, atol=1e-5)


def test_a_zarr_larger_than_a_worker_has_free_streams_with_384_mib_workers(tmp_path):
    source, result, peak, restarted = _filter_a_zarr_under_a_memory_limit(
        tmp_path, (8192, 4096), (512, 512), "384MiB"
    )  # 128 MiB on disk, more than a worker has left beside its ~190 MiB of code and libraries
    assert not restarted, "a worker ran out of memory"
    assert result.shape == source.shape
    assert peak < 2 * 384 * 2**20
    _check_corner(source, result)


@pytest.mark.slow
def test_a_2_gib_zarr_streams_with_512_mib_workers(tmp_path):
    source, result, peak, restarted = _filter_a_zarr_under_a_memory_limit(
        tmp_path, (16384, 32768), (1024, 1024), "512MiB"
    )  # 2 GiB on disk
    assert not restarted, "a worker ran out of memory"
    assert result.shape == source.shape
    assert peak < 2 * 512 * 2**20
    _check_corner(source, result)
