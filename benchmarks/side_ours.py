"""The convforge side of the fair benchmark: the same workloads through convforge's public API
(``cf.nn.functional``, autograd Tensors, ``cf.nn`` modules, ``cf.models``, ``cf.optim``,
``cf.train``). This process never imports torch."""

from __future__ import annotations

import os
import time
from pathlib import Path

import nets
import numpy as np
from cases import Layer
from worker import Workload, image_batch, layer_arrays

import convforge as cf
import convforge.nn.functional as F

MIB = 1 << 20
CONV = {
    (1, False): F.conv1d,
    (2, False): F.conv2d,
    (3, False): F.conv3d,
    (1, True): F.conv_transpose1d,
    (2, True): F.conv_transpose2d,
    (3, True): F.conv_transpose3d,
}


def init(threads: int) -> None:
    cf.set_num_threads(threads)


def _array(t) -> np.ndarray:
    """The ndarray of a Tensor (``Tensor.array``; older trees: ``Tensor.data``)."""
    return t.array if hasattr(type(t), "array") else t.data


def facts() -> dict:
    import numba
    from threadpoolctl import threadpool_info

    rng = np.random.default_rng(0)
    a = rng.standard_normal((1024, 1024), dtype=np.float32)
    b = rng.standard_normal((1024, 1024), dtype=np.float32)
    a @ b
    times = []
    for _ in range(10):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    try:
        layer = numba.threading_layer()
    except ValueError:  # no parallel region has run yet in this process
        layer = f"not chosen yet (config: {numba.config.THREADING_LAYER})"
    keys = ("user_api", "internal_api", "architecture", "version", "num_threads", "threading_layer")
    return {
        "convforge": cf.__version__,
        "numpy": np.__version__,
        "numba": numba.__version__,
        "numba_threads": numba.get_num_threads(),
        "numba_threading_layer": layer,
        "sgemm_gflops": 2 * 1024**3 / min(times) / 1e9,
        "threadpools": [{k: e.get(k) for k in keys if k in e} for e in threadpool_info()],
        "workspace_limit_mib": cf.backends.workspace_limit / MIB,
        "env": {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS_", "OMP_", "NUMBA_", "MKL_"))},
    }


def _layer(spec: dict) -> Workload:
    layer, batch = Layer(**{**spec["layer"], "spatial": tuple(spec["layer"]["spatial"])}), spec["batch"]
    xn, wn, gyn = layer_arrays(layer, batch, spec["seed"])
    conv = CONV[(layer.dims, layer.transposed)]
    kwargs = {"stride": layer.stride, "padding": layer.padding, "dilation": layer.dilation}
    kwargs["groups"] = layer.groups
    workspace = cf.backends.workspace_limit
    if spec["mode"] == "forward":
        x, w = cf.tensor(xn), cf.tensor(wn)

        def forward():
            with cf.no_grad():
                return conv(x, w, None, **kwargs)

        limit = max(64 * MIB, gyn.nbytes) + workspace
        return Workload(forward, lambda: {"y": _array(forward())}, memory_limit=limit)
    x, w, gy = cf.tensor(xn, requires_grad=True), cf.tensor(wn, requires_grad=True), cf.tensor(gyn)

    def train():
        x.grad = w.grad = None
        y = conv(x, w, None, **kwargs)
        (y * gy).sum().backward()
        return y

    def prime():
        y = train()
        return {"y": _array(y), "grad_input": _array(x.grad), "grad_weight": _array(w.grad)}

    # y, y * gy and y's gradient live at once, and the two gradients are results
    limit = max(64 * MIB, 3 * gyn.nbytes + xn.nbytes + wn.nbytes) + workspace
    return Workload(train, prime, memory_limit=limit)


def _our_model(name: str):
    if name == "resnet18":
        return cf.models.resnet18()
    factory = getattr(cf.models, "mobilenet_v2", None)  # not in cf.models yet: built from cf.nn
    return factory() if factory is not None else nets.mobilenet_v2(cf.nn)


def _load(model, path: str) -> None:
    weights = np.load(path)
    model.load_state_dict({k: weights[k] for k in weights.files}, strict=True)


def _model(spec: dict) -> Workload:
    cf.manual_seed(spec["seed"])
    model = _our_model(spec["model"])
    _load(model, spec["weights"])
    xn, yn = image_batch((spec["batch"], 3, 224, 224), 1000, spec["seed"])
    x, labels = cf.tensor(xn), cf.tensor(yn)
    if spec["mode"] == "inference":
        model.eval()

        def infer():
            with cf.no_grad():
                return model(x)

        return Workload(infer, lambda: {"logits": _array(infer())})
    model.train()
    optimizer = cf.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = cf.nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), labels)
        loss.backward()
        optimizer.step()
        return loss

    def prime():  # the first step from the shared weights, without dropout's random masks
        dropouts = [m for m in model.modules() if isinstance(m, cf.nn.Dropout)]
        for module in dropouts:
            module.eval()
        loss = step().item()
        for module in dropouts:
            module.train()
        return {"loss": np.float32(loss)}

    return Workload(step, prime)


def _lenet(spec: dict) -> Workload:
    """One epoch over random images of MNIST's shape, batch 64, SGD with momentum."""
    model = cf.models.LeNet5(num_classes=10, in_channels=1, input_size=28)
    _load(model, spec["weights"])
    xn, yn = image_batch((spec["images"], 1, 28, 28), 10, spec["seed"])
    size = spec["batch"]
    batches = [(xn[i : i + size], yn[i : i + size]) for i in range(0, len(xn), size)]
    optimizer = cf.optim.SGD(model.parameters(), lr=spec["lr"], momentum=0.9)
    loss_fn = cf.nn.CrossEntropyLoss()
    model.train()

    def step(images, labels):
        optimizer.zero_grad()
        loss = loss_fn(model(cf.tensor(images)), cf.tensor(labels))
        loss.backward()
        optimizer.step()
        return loss

    def epoch():
        for images, labels in batches:
            step(images, labels)

    def prime():
        return {"losses": np.array([step(*batch).item() for batch in batches[:3]], dtype=np.float32)}

    return Workload(epoch, prime, info={"steps": len(batches)})


# ---- `convforge train`'s own epoch ----------------------------------------------------
def _cli_recipe(epochs: int) -> dict:
    """The default recipe of ``convforge train`` (``cf.train``'s public functions, with the
    CLI's defaults: LeNet, SGD with momentum at the default rate, batch 32, seed 0)."""
    from convforge import train
    from convforge.data import DataLoader, TensorDataset

    cf.manual_seed(0)
    prepared = train.prepare_data(None)
    in_channels, input_size = prepared.train_x.shape[1], prepared.train_x.shape[-1]
    model = train.build_model("lenet", in_channels, input_size, prepared.num_classes)
    optimizer = train.make_optimizer("sgd", model.parameters(), None)
    loader = DataLoader(
        TensorDataset(prepared.train_x, prepared.train_y), batch_size=32, shuffle=True, seed=0
    )
    return {
        "train_x": prepared.train_x,
        "train_y": prepared.train_y,
        "test_x": prepared.test_x,
        "test_y": prepared.test_y,
        "num_classes": prepared.num_classes,
        "source": prepared.source,
        "model": model,
        "optimizer": optimizer,
        "scheduler": train.make_scheduler(optimizer, epochs),
        "loader": loader,
        "lr": train.DEFAULT_LR["sgd"],
        "batch_size": 32,
        "fit": train.fit,
        "evaluate": train.evaluate,
        "predict_logits": train.predict_logits,
        "api": "convforge.train.prepare_data/build_model/make_optimizer/make_scheduler/fit",
    }


def setup(spec: dict, workdir: Path) -> dict:
    """Prepare `convforge train`'s data and initial weights and share them with torch's side."""
    recipe = _cli_recipe(spec["epochs"])
    weights = {f"w.{k}": v for k, v in recipe["model"].state_dict().items()}
    np.savez(
        spec["data"],
        train_x=recipe["train_x"],
        train_y=recipe["train_y"].astype(np.int64),
        test_x=recipe["test_x"],
        test_y=recipe["test_y"].astype(np.int64),
        num_classes=recipe["num_classes"],
        lr=recipe["lr"],
        batch_size=recipe["batch_size"],
        epochs=spec["epochs"],
        **weights,
    )
    return {"source": recipe["source"], "images": len(recipe["train_x"]), "api": recipe["api"]}


def _cli_train(spec: dict) -> Workload:
    recipe = _cli_recipe(spec["epochs"])
    data = np.load(spec["data"])
    recipe["model"].load_state_dict({k[2:]: data[k] for k in data.files if k[:2] == "w."})
    fit, evaluate = recipe["fit"], recipe["evaluate"]
    model, optimizer, loader = recipe["model"], recipe["optimizer"], recipe["loader"]
    test_x, test_y = recipe["test_x"], recipe["test_y"]

    def epoch():
        fit(model, optimizer, loader, test_x, test_y, 1, recipe["scheduler"], progress=False)

    def prime():
        logits = recipe["predict_logits"](model, test_x)
        loss, _, _ = evaluate(model, test_x, test_y)
        epoch()
        return {"initial_test_logits": logits, "initial_test_loss": np.float32(loss)}

    return Workload(epoch, prime, info={"steps": len(loader), "images": len(test_x), "api": recipe["api"]})


def build(spec: dict, workdir: Path) -> Workload:
    return {"layer": _layer, "model": _model, "lenet": _lenet, "cli_train": _cli_train}[spec["what"]](spec)
