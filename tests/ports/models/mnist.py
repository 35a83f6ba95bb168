"""Small MNIST classifiers: a fully connected net on flattened images and a two-layer convnet."""

import torch
import torch.nn as nn
import torch.nn.functional as F


class MLPNet(nn.Module):

    def __init__(self, hidden: int = 500):
        super().__init__()
        self.fc1 = nn.Linear(28 * 28, hidden)
        self.fc2 = nn.Linear(hidden, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.view(-1, 784)
        x = F.relu(self.fc1(x))
        return F.log_softmax(self.fc2(x), dim=1)


class ConvNet(nn.Module):

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        output = F.log_softmax(self.fc2(x), dim=1)
        return output


def evaluate(model: nn.Module, batches) -> tuple:
    """Summed negative log-likelihood and number of correct predictions over ``(data, target)`` batches."""
    model.eval()
    test_loss = 0.0
    correct = 0
    with torch.no_grad():
        for data, target in batches:
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction='sum').item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    return test_loss, correct


def make_loader(images: torch.Tensor, labels: torch.Tensor, batch_size: int) -> torch.utils.data.DataLoader:
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(images, labels), batch_size=batch_size,
                                       shuffle=False)


def train(model: nn.Module, device: torch.device, loader, optimizer: torch.optim.Optimizer, epoch: int,
          log_interval: int = 10) -> list:
    """One epoch of the usual loop: forward, ``loss.backward()``, ``optimizer.step()``; returns the losses."""
    model.train()
    losses = []
    for batch_idx, (data, target) in enumerate(loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if batch_idx % log_interval == 0:
            print(f'Train Epoch: {epoch} [{batch_idx * len(data)}/{len(loader.dataset)}]\tLoss: {loss.item():.6f}')
    return losses


def run(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, epochs: int = 2, lr: float = 1.0,
        batch_size: int = 2) -> list:
    """The MNIST example's main(): Adadelta with a StepLR schedule, on whichever device is there."""
    use_cuda = torch.cuda.is_available()
    device = torch.device("cuda" if use_cuda else "cpu")
    model = model.to(device)
    loader = make_loader(images, labels, batch_size)
    optimizer = torch.optim.Adadelta(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    losses = []
    for epoch in range(1, epochs + 1):
        losses += train(model, device, loader, optimizer, epoch)
        scheduler.step()
    return losses
