"""d2l's LeNet with lazy layers: shapes inferred at the first call, then a training step."""

import argparse

import numpy as np
import torch
from _common import arrays, same_init
from torch import nn


def init_cnn(module):
    if type(module) == nn.Linear or type(module) == nn.Conv2d:  # noqa: E721 - as d2l writes it
        nn.init.xavier_uniform_(module.weight)


parser = argparse.ArgumentParser()
parser.add_argument("--work", required=True)
args = parser.parse_args()

net = nn.Sequential(
    nn.LazyConv2d(6, kernel_size=5, padding=2), nn.Sigmoid(),
    nn.AvgPool2d(kernel_size=2, stride=2),
    nn.LazyConv2d(16, kernel_size=5), nn.Sigmoid(),
    nn.AvgPool2d(kernel_size=2, stride=2),
    nn.Flatten(),
    nn.LazyLinear(120), nn.Sigmoid(),
    nn.LazyLinear(84), nn.Sigmoid(),
    nn.LazyLinear(10),
)  # fmt: skip
X = torch.rand(size=(1, 1, 28, 28), dtype=torch.float32)
for layer in net:
    X = layer(X)
    print(layer.__class__.__name__, "output shape:\t", tuple(X.shape))
net.apply(init_cnn)
same_init(net, f"{args.work}/init.npz")

rng = np.random.default_rng(3)
data = arrays(
    f"{args.work}/data.npz",
    lambda: {
        "x": rng.standard_normal((8, 1, 28, 28)).astype(np.float32),
        "y": rng.integers(0, 10, 8).astype(np.int64),
    },
)
optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
for step in range(2):
    optimizer.zero_grad()
    loss = nn.functional.cross_entropy(net(torch.tensor(data["x"])), torch.tensor(data["y"]))
    loss.backward()
    optimizer.step()
    print(f"step {step}: loss {loss.item():.6f}")
