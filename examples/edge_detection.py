"""d2l's image-convolution example: detect vertical edges, then learn the kernel back.

python examples/edge_detection.py
"""

import numpy as np

import convforge as cf
import convforge.nn.functional as F
from convforge import nn

# A 6x8 image: white (1) on the sides, a black (0) band in the middle.
X = np.ones((6, 8), dtype=np.float32)
X[:, 2:6] = 0
K = np.array([[1.0, -1.0]], dtype=np.float32)  # responds to a change from left to right


def correlate(image, kernel):
    return F.conv2d(image[None, None], kernel[None, None])[0, 0]


Y = correlate(X, K)
print("input X:\n", X)
print("Y = corr2d(X, K): 1 at the white->black edge, -1 at black->white\n", Y.numpy())
print("corr2d(X.T, K): the edges are horizontal now, and K sees none\n", correlate(X.T.copy(), K).numpy())

# Learn K from X and Y alone: a 1x2 convolution without bias, squared loss, plain descent.
cf.manual_seed(0)
conv = nn.Conv2d(1, 1, kernel_size=(1, 2), bias=False)
inputs, targets = cf.tensor(X[None, None]), cf.tensor(Y.numpy()[None, None])
learning_rate = 3e-2
for step in range(1, 11):
    loss = ((conv(inputs) - targets) ** 2).sum()
    conv.zero_grad()
    loss.backward()
    conv.weight.data -= learning_rate * conv.weight.grad.data
    if step % 2 == 0:
        print(f"step {step:2d}, loss {loss.item():.3f}")
print("learned kernel:", conv.weight.data.reshape(1, 2), "(true kernel [[1, -1]])")
