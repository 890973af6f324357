"""The PyTorch side of the fair benchmark: the reference workloads, as a torch user writes them."""

from __future__ import annotations

import os
import time
from pathlib import Path

import nets
import numpy as np
import torch
import torch.nn.functional as F
from cases import Layer
from worker import Workload, image_batch, layer_arrays

CONV = {
    (1, False): F.conv1d,
    (2, False): F.conv2d,
    (3, False): F.conv3d,
    (1, True): F.conv_transpose1d,
    (2, True): F.conv_transpose2d,
    (3, True): F.conv_transpose3d,
}


def init(threads: int) -> None:
    torch.set_num_threads(threads)


def facts() -> dict:
    from threadpoolctl import threadpool_info

    a = torch.randn(1024, 1024)
    b = torch.randn(1024, 1024)
    torch.mm(a, b)
    times = []
    for _ in range(10):
        start = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - start)
    config = torch.__config__.parallel_info().splitlines()
    return {
        "torch": torch.__version__,
        "numpy": np.__version__,
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "parallel_info": [line.strip() for line in config if line.strip()],
        "sgemm_gflops": 2 * 1024**3 / min(times) / 1e9,
        "threadpools": _pools(threadpool_info()),
        "env": {k: v for k, v in os.environ.items() if k.startswith(("OMP_", "KMP_", "GOMP_", "MKL_"))},
    }


def _pools(info: list[dict]) -> list[dict]:
    keys = ("user_api", "internal_api", "architecture", "version", "num_threads", "threading_layer")
    return [{k: entry.get(k) for k in keys if k in entry} for entry in info]


def _layer(spec: dict) -> Workload:
    layer, batch = Layer(**{**spec["layer"], "spatial": tuple(spec["layer"]["spatial"])}), spec["batch"]
    xn, wn, gyn = layer_arrays(layer, batch, spec["seed"])
    x, w, gy = torch.from_numpy(xn), torch.from_numpy(wn), torch.from_numpy(gyn)
    conv = CONV[(layer.dims, layer.transposed)]
    kwargs = {"stride": layer.stride, "padding": layer.padding, "dilation": layer.dilation}
    kwargs["groups"] = layer.groups
    if spec["mode"] == "forward":

        def forward():
            with torch.no_grad():
                return conv(x, w, None, **kwargs)

        return Workload(forward, lambda: {"y": forward().numpy()})
    x.requires_grad_(True)
    w.requires_grad_(True)

    def train():
        x.grad = w.grad = None
        y = conv(x, w, None, **kwargs)
        (y * gy).sum().backward()
        return y

    def prime():
        y = train()
        return {"y": y.detach().numpy(), "grad_input": x.grad.numpy(), "grad_weight": w.grad.numpy()}

    return Workload(train, prime)


def _reference_model(name: str) -> torch.nn.Module:
    builders = {"resnet18": nets.resnet18, "mobilenet_v2": nets.mobilenet_v2}
    return builders[name](torch.nn)


def _randomize_statistics(model: torch.nn.Module, seed: int) -> None:
    """Batch-norm running statistics away from (0, 1), so eval mode tests the folding."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.normal_(0.0, 0.1, generator=generator)
                module.running_var.uniform_(0.5, 1.5, generator=generator)


def _model(spec: dict) -> Workload:
    torch.manual_seed(spec["seed"])
    model = _reference_model(spec["model"])
    _randomize_statistics(model, spec["seed"])
    weights = Path(spec["weights"])
    if not weights.exists():  # torch's block A runs first and hands its weights to our side
        np.savez(weights, **{k: v.detach().numpy() for k, v in model.state_dict().items()})
    xn, yn = image_batch((spec["batch"], 3, 224, 224), 1000, spec["seed"])
    x, labels = torch.from_numpy(xn), torch.from_numpy(yn)
    if spec["mode"] == "inference":
        model.eval()

        def infer():
            with torch.no_grad():
                return model(x)

        return Workload(infer, lambda: {"logits": infer().numpy()})
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), labels)
        loss.backward()
        optimizer.step()
        return loss

    def prime():  # the first step from the shared weights, without dropout's random masks
        dropouts = [m for m in model.modules() if isinstance(m, torch.nn.Dropout)]
        for module in dropouts:
            module.eval()
        loss = step().item()
        for module in dropouts:
            module.train()
        return {"loss": np.float32(loss)}

    return Workload(step, prime)


def _lenet(spec: dict) -> Workload:
    """One epoch over random images of MNIST's shape, batch 64, SGD with momentum."""
    torch.manual_seed(spec["seed"])
    model = nets.lenet5(torch.nn)
    weights = Path(spec["weights"])
    if not weights.exists():
        np.savez(weights, **{k: v.detach().numpy() for k, v in model.state_dict().items()})
    xn, yn = image_batch((spec["images"], 1, 28, 28), 10, spec["seed"])
    size = spec["batch"]
    batches = [(xn[i : i + size], yn[i : i + size]) for i in range(0, len(xn), size)]
    optimizer = torch.optim.SGD(model.parameters(), lr=spec["lr"], momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()

    def step(images, labels):
        optimizer.zero_grad()
        loss = loss_fn(model(torch.from_numpy(images)), torch.from_numpy(labels))
        loss.backward()
        optimizer.step()
        return loss

    def epoch():
        for images, labels in batches:
            step(images, labels)

    def prime():  # the first steps from the shared initial weights: their losses are checked
        return {"losses": np.array([step(*batch).item() for batch in batches[:3]], dtype=np.float32)}

    return Workload(epoch, prime, info={"steps": len(batches)})


def _cli_train(spec: dict) -> Workload:
    """The loop of ``convforge train``'s epoch (fit) in torch, on the data our side prepared."""
    data = np.load(spec["data"])
    train_x, train_y, test_x, test_y = (data[k] for k in ("train_x", "train_y", "test_x", "test_y"))
    model = nets.lenet5(torch.nn, int(data["num_classes"]), train_x.shape[1], train_x.shape[-1])
    model.load_state_dict({k[len("w.") :]: torch.from_numpy(data[k]) for k in data.files if k[:2] == "w."})
    optimizer = torch.optim.SGD(model.parameters(), lr=float(data["lr"]), momentum=0.9)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=int(data["epochs"]))
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(train_x), torch.from_numpy(train_y))
    generator = torch.Generator().manual_seed(0)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=int(data["batch_size"]), shuffle=True, generator=generator
    )
    loss_fn = torch.nn.CrossEntropyLoss()
    test_images, test_labels = torch.from_numpy(test_x), torch.from_numpy(test_y)

    def evaluate():
        model.eval()
        with torch.no_grad():
            logits = torch.cat([model(test_images[i : i + 256]) for i in range(0, len(test_images), 256)])
            loss = loss_fn(logits, test_labels).item()
        model.train()
        return logits, loss, float((logits.argmax(1) == test_labels).float().mean())

    def epoch():  # the body of convforge.train.fit for one epoch
        model.train()
        seen = correct = 0
        total = 0.0
        for images, labels in loader:
            logits = model(images)
            loss = loss_fn(logits, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            seen += len(labels)
            total += loss.item() * len(labels)
            correct += int((logits.argmax(1) == labels).sum())
        scheduler.step()
        return evaluate()

    def prime():  # before any step: the same weights on the same test set
        logits, loss, _ = evaluate()
        epoch()
        return {"initial_test_logits": logits.numpy(), "initial_test_loss": np.float32(loss)}

    return Workload(epoch, prime, info={"steps": len(loader), "images": len(train_x)})


def build(spec: dict, workdir: Path) -> Workload:
    return {"layer": _layer, "model": _model, "lenet": _lenet, "cli_train": _cli_train}[spec["what"]](spec)


def setup(spec: dict, workdir: Path) -> dict:
    raise ValueError("side_torch: no setup jobs (our side prepares the data it shares)")
