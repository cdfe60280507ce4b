"""Fashion-MNIST for this assignment: torchvision download, device-resident batches, labels, images.

Used by the notebooks and by the grader alike (one data path). The data is read once through
torchvision's ``FashionMNIST`` (download and md5 check, offline when the official files are
present), then held as float tensors on the chosen device; batches are slices of those tensors,
never per-image PIL transforms.

Where the data comes from, first match wins:
1. the ``root`` argument of ``load_data_fashion_mnist`` / ``load_arrays``;
2. the ``FASHION_MNIST_ROOT`` environment variable;
3. ``~/.cache/d2l-softmax/data`` (torchvision downloads there when online).
A root may hold the four official ``.gz`` files directly, or torchvision's ``FashionMNIST/raw/``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import torch

FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
TEXT_LABELS = (
    "t-shirt",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle boot",
)
DEFAULT_CACHE = Path.home() / ".cache" / "d2l-softmax" / "data"


class DataMissingError(RuntimeError):
    """Fashion-MNIST is neither present nor downloadable."""


def get_fashion_mnist_labels(labels):
    """Return the text labels of a sequence or tensor of class indices."""
    return [TEXT_LABELS[int(i)] for i in labels]


def _torchvision_root(root: Path) -> Path:
    """Return a torchvision root (holding FashionMNIST/raw/) for the folder `root`."""
    if (root / "FashionMNIST" / "raw").is_dir():
        raw_files = {p.name for p in (root / "FashionMNIST" / "raw").iterdir()}
        if all(f in raw_files or f[:-3] in raw_files for f in FILES) and os.access(
            root / "FashionMNIST" / "raw", os.W_OK
        ):
            return root
    if all((root / f).is_file() for f in FILES) or (root / "FashionMNIST").is_dir():
        # A flat folder of the official files, or a read-only torchvision layout: link them into
        # a private cache in torchvision's layout (torchvision extracts next to the archives).
        src = root / "FashionMNIST" / "raw" if not (root / FILES[0]).is_file() else root
        key = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:12]
        cache = Path(os.environ.get("FASHION_MNIST_CACHE", DEFAULT_CACHE)) / f"linked-{key}"
        raw = cache / "FashionMNIST" / "raw"
        raw.mkdir(parents=True, exist_ok=True)
        for f in FILES:
            target = raw / f
            if not target.exists() and (src / f).is_file():
                try:
                    target.symlink_to((src / f).resolve())
                except OSError:
                    shutil.copyfile(src / f, target)
        return cache
    return root


def _dataset(root: Path, train: bool):
    """torchvision's FashionMNIST under `root`, downloading only if the files are absent."""
    from torchvision.datasets import FashionMNIST

    tv_root = _torchvision_root(root)
    try:
        return FashionMNIST(root=str(tv_root), train=train, download=True)
    except (RuntimeError, OSError) as err:
        raise DataMissingError(
            f"Fashion-MNIST could not be loaded from {root} and could not be downloaded ({err}).\n"
            f"Put the four official files ({', '.join(FILES)}) in a folder and set "
            "FASHION_MNIST_ROOT to it (or pass root=...), e.g.\n"
            "  export FASHION_MNIST_ROOT=/path/to/fashion-mnist"
        ) from err


def data_root(root: str | os.PathLike | None = None) -> Path:
    """Resolve the data folder from the argument, FASHION_MNIST_ROOT, or the default cache."""
    chosen = root or os.environ.get("FASHION_MNIST_ROOT") or DEFAULT_CACHE
    return Path(chosen).expanduser()


def load_arrays(root=None, device="cpu"):
    """Return (X_train, y_train, X_test, y_test): X (n, 1, 28, 28) float32 in [0, 1], y (n,) int64."""
    path = data_root(root)
    out = []
    for train in (True, False):
        ds = _dataset(path, train)
        X = ds.data.unsqueeze(1).to(torch.float32).div_(255.0)
        out += [X.to(device), ds.targets.to(torch.int64).to(device)]
    return tuple(out)


class TensorBatches:
    """Iterable of (X, y) minibatches sliced from tensors already on their device.

    With ``shuffle=True`` each pass draws a new order from a seeded ``torch.Generator`` exactly as
    ``DataLoader(shuffle=True, generator=torch.Generator().manual_seed(seed))`` does, so the
    batches equal d2l's ``DataLoader`` batches for the same seed.
    """

    def __init__(self, X, y, batch_size, shuffle=False, seed=0):
        self.X, self.y, self.batch_size, self.shuffle = X, y, batch_size, shuffle
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self):
        return (len(self.y) + self.batch_size - 1) // self.batch_size

    def __iter__(self):
        n = len(self.y)
        if self.shuffle:
            # DataLoader draws its worker base seed from the generator before the sampler's order.
            torch.empty((), dtype=torch.int64).random_(generator=self.generator)
            order = torch.randperm(n, generator=self.generator).to(self.X.device)
            for i in range(0, n, self.batch_size):
                idx = order[i : i + self.batch_size]
                # index_select, not X[idx]: the same rows, at half the cost of advanced indexing.
                yield self.X.index_select(0, idx), self.y.index_select(0, idx)
            # RandomSampler draws one more (empty) permutation when it is exhausted.
            torch.randperm(n, generator=self.generator)
        else:
            for i in range(0, n, self.batch_size):
                yield self.X[i : i + self.batch_size], self.y[i : i + self.batch_size]


def default_device():
    """CUDA when available, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def load_data_fashion_mnist(batch_size, resize=None, root=None, device=None, seed=0):
    """Return (train_iter, test_iter) over Fashion-MNIST, as d2l's function of the same name.

    Batches are X: (batch_size, 1, 28, 28) float32 in [0, 1], y: (batch_size,) int64, on `device`
    (default: CUDA when available). The training iterator reshuffles every pass.
    """
    device = torch.device(device) if device is not None else default_device()
    X_train, y_train, X_test, y_test = load_arrays(root, device)
    if resize:
        import torch.nn.functional as F

        X_train = F.interpolate(X_train, size=resize, mode="bilinear", align_corners=False)
        X_test = F.interpolate(X_test, size=resize, mode="bilinear", align_corners=False)
    return (
        TensorBatches(X_train, y_train, batch_size, shuffle=True, seed=seed),
        TensorBatches(X_test, y_test, batch_size, shuffle=False),
    )


def show_images(imgs, num_rows, num_cols, titles=None, scale=1.5):
    """Plot a grid of images (tensors or arrays of shape (28, 28)); return the axes."""
    import matplotlib.pyplot as plt

    figsize = (num_cols * scale, num_rows * scale)
    _, axes = plt.subplots(num_rows, num_cols, figsize=figsize)
    axes = axes.flatten()
    for i, (ax, img) in enumerate(zip(axes, imgs)):
        if torch.is_tensor(img):
            img = img.detach().cpu().reshape(28, 28).numpy()
        ax.imshow(img, cmap="gray")
        ax.axes.get_xaxis().set_visible(False)
        ax.axes.get_yaxis().set_visible(False)
        if titles:
            ax.set_title(titles[i])
    return axes
