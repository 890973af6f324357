"""The 'Training a classifier' tutorial's loop, on LeNet-5 and 28x28 images."""

import argparse

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from _common import arrays, same_init
from torch.utils.data import DataLoader, TensorDataset

parser = argparse.ArgumentParser()
parser.add_argument("--work", required=True)
args = parser.parse_args()

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)  # flatten all dimensions except batch
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def make_data():
    rng = np.random.default_rng(0)
    return {
        "x": rng.standard_normal((256, 1, 28, 28)).astype(np.float32),
        "y": rng.integers(0, 10, 256).astype(np.int64),
    }


data = arrays(f"{args.work}/data.npz", make_data)
dataset = TensorDataset(torch.tensor(data["x"]), torch.from_numpy(data["y"]))
trainloader = DataLoader(dataset, batch_size=32, shuffle=False, num_workers=0)

net = Net().to(device)
same_init(net, f"{args.work}/init.npz")
criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(net.parameters(), lr=0.001, momentum=0.9)

for epoch in range(2):
    running_loss = 0.0
    for i, (inputs, labels) in enumerate(trainloader, 0):
        inputs, labels = inputs.to(device), labels.to(device)
        optimizer.zero_grad()
        outputs = net(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
        if i == 0:
            print(f"loss [{epoch + 1}, {i + 1:5d}] {loss.item():.6f}")
    print(f"[{epoch + 1}] mean loss: {running_loss / len(trainloader):.6f}")

PATH = f"{args.work}/lenet.pth"
torch.save(net.state_dict(), PATH)
net = Net()
net.load_state_dict(torch.load(PATH, weights_only=True))

correct = 0
total = 0
with torch.no_grad():
    for images, labels in trainloader:
        outputs = net(images)
        _, predicted = torch.max(outputs, 1)
        total += labels.size(0)
        correct += (predicted == labels).sum().item()
print(f"accuracy: {100 * correct // total} %")
