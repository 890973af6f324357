"""d2l's Residual block (lazy layers, ``Y += X``) and NiN block: a forward and training steps."""

import argparse

import numpy as np
import torch
from _common import arrays, same_init
from torch import nn
from torch.nn import functional as F


class Residual(nn.Module):
    """The Residual block of ResNet models."""

    def __init__(self, num_channels, use_1x1conv=False, strides=1):
        super().__init__()
        self.conv1 = nn.LazyConv2d(num_channels, kernel_size=3, padding=1, stride=strides)
        self.conv2 = nn.LazyConv2d(num_channels, kernel_size=3, padding=1)
        if use_1x1conv:
            self.conv3 = nn.LazyConv2d(num_channels, kernel_size=1, stride=strides)
        else:
            self.conv3 = None
        self.bn1 = nn.LazyBatchNorm2d()
        self.bn2 = nn.LazyBatchNorm2d()

    def forward(self, X):
        Y = F.relu(self.bn1(self.conv1(X)))
        Y = self.bn2(self.conv2(Y))
        if self.conv3:
            X = self.conv3(X)
        Y += X
        return F.relu(Y)


def nin_block(out_channels, kernel_size, strides, padding):
    return nn.Sequential(
        nn.LazyConv2d(out_channels, kernel_size, strides, padding), nn.ReLU(),
        nn.LazyConv2d(out_channels, kernel_size=1), nn.ReLU(),
        nn.LazyConv2d(out_channels, kernel_size=1), nn.ReLU(),
    )  # fmt: skip


parser = argparse.ArgumentParser()
parser.add_argument("--work", required=True)
args = parser.parse_args()

net = nn.Sequential(
    nn.Conv2d(1, 8, kernel_size=3, padding=1),
    nn.BatchNorm2d(8),
    nn.ReLU(),
    nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
    Residual(8),
    Residual(16, use_1x1conv=True, strides=2),
    nin_block(10, kernel_size=3, strides=1, padding=1),
    nn.AdaptiveAvgPool2d((1, 1)),
    nn.Flatten(),
)
rng = np.random.default_rng(4)
data = arrays(
    f"{args.work}/data.npz",
    lambda: {
        "x": rng.standard_normal((4, 1, 24, 24)).astype(np.float32),
        "y": rng.integers(0, 10, 4).astype(np.int64),
    },
)
X = torch.tensor(data["x"])
print("output shape:", tuple(net(X).shape))  # initializes the lazy layers
same_init(net, f"{args.work}/init.npz")
trainer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
loss_fn = nn.CrossEntropyLoss()
for step in range(3):
    trainer.zero_grad()
    loss = loss_fn(net(X), torch.tensor(data["y"]))
    loss.backward()
    trainer.step()
    print(f"step {step}: loss {loss.item():.6f}")
net.eval()
with torch.no_grad():
    print(f"eval output sum {net(X).sum().item():.5f}")
