"""The assignment's data helper: offline reading of the official files, layouts, errors, batches."""

from __future__ import annotations

import os
import socket
import urllib.request
from pathlib import Path

import pytest
import torch
from helpers.loading import load_module
from helpers.paths import ROOT

from autograder import config

HELPER = ROOT / "source" / config.ASSIGNMENT / "fashion_mnist.py"
FIRST_LABELS = {"train": [9, 0, 0, 3, 0, 2, 7, 2, 5, 5], "test": [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]}
"""The first ten labels of the official training and test files."""


def load_helper():
    """source/<assignment>/fashion_mnist.py as a module of its own name (no sys.path change)."""
    return load_module(HELPER, "source_fashion_mnist")


fm = load_helper()


def refuse(*args, **kwargs):
    """Stand-in for socket functions: the network is off in these tests."""
    raise OSError("network access is disabled in tests/units/test_fashion_mnist.py")


@pytest.fixture(scope="module")
def no_network():
    """Make every new connection or name lookup fail for the tests of this module."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket, "socket", refuse)
        mp.setattr(socket, "create_connection", refuse)
        mp.setattr(socket, "getaddrinfo", refuse)
        yield


@pytest.fixture(scope="module")
def official_root() -> Path:
    """The folder of the four official files (FASHION_MNIST_ROOT; tests/conftest.py sets it)."""
    root = Path(os.environ.get("FASHION_MNIST_ROOT", ""))
    missing = [f for f in fm.FILES if not (root / f).is_file()]
    assert not missing, f"set FASHION_MNIST_ROOT to the folder of {', '.join(fm.FILES)}"
    return root


@pytest.fixture(scope="module")
def flat_arrays(official_root, no_network, tmp_path_factory):
    """load_arrays on the flat folder of official files, with a private cache and no network."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FASHION_MNIST_CACHE", str(tmp_path_factory.mktemp("cache")))
        return fm.load_arrays(official_root)


def test_the_network_is_really_off(no_network):
    with pytest.raises(OSError):
        urllib.request.urlopen("http://example.com", timeout=5)


def test_flat_folder_of_official_files(flat_arrays):
    X_train, y_train, X_test, y_test = flat_arrays
    assert X_train.shape == (60000, 1, 28, 28) and X_test.shape == (10000, 1, 28, 28)
    assert X_train.dtype == X_test.dtype == torch.float32
    assert y_train.dtype == y_test.dtype == torch.int64
    assert 0 <= float(X_train.min()) and float(X_train.max()) == 1.0
    assert torch.bincount(y_train).tolist() == [6000] * 10
    assert torch.bincount(y_test).tolist() == [1000] * 10
    assert y_train[:10].tolist() == FIRST_LABELS["train"]
    assert y_test[:10].tolist() == FIRST_LABELS["test"]


def test_torchvision_layout(official_root, flat_arrays, no_network, tmp_path, monkeypatch):
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for name in fm.FILES:
        (raw / name).symlink_to((official_root / name).resolve())
    monkeypatch.setenv("FASHION_MNIST_CACHE", str(tmp_path / "cache"))
    arrays = fm.load_arrays(tmp_path)
    for got, want in zip(arrays, flat_arrays, strict=True):
        assert torch.equal(got, want)


def test_root_from_the_environment(official_root, monkeypatch):
    monkeypatch.setenv("FASHION_MNIST_ROOT", str(official_root))
    assert fm.data_root() == official_root
    assert fm.data_root("/somewhere/else") == Path("/somewhere/else")


@pytest.mark.parametrize("present", [0, 2], ids=["empty", "two-of-four"])
def test_missing_files_name_the_folder(official_root, no_network, tmp_path, monkeypatch, present):
    folder = tmp_path / "no-data-here"
    folder.mkdir()
    for name in fm.FILES[:present]:
        (folder / name).symlink_to((official_root / name).resolve())
    monkeypatch.setenv("FASHION_MNIST_CACHE", str(tmp_path / "cache"))
    with pytest.raises(fm.DataMissingError) as err:
        fm.load_arrays(folder)
    message = str(err.value)
    assert str(folder) in message and "FASHION_MNIST_ROOT" in message


def test_require_data_names_the_folder_and_the_variable(official_root, no_network, tmp_path,
                                                        monkeypatch):  # fmt: skip
    from autograder.units.softmax_regression import data

    folder = tmp_path / "empty"
    folder.mkdir()
    monkeypatch.setenv("FASHION_MNIST_ROOT", str(folder))
    monkeypatch.setenv("FASHION_MNIST_CACHE", str(tmp_path / "cache"))
    with pytest.raises(data.DataMissingError) as err:
        data.require_data()
    message = str(err.value)
    assert str(folder) in message and "FASHION_MNIST_ROOT" in message.replace(str(folder), "")
    monkeypatch.setenv("FASHION_MNIST_ROOT", str(official_root))
    data.require_data()  # present: nothing to say


def dataloader_batches(X, y, batch_size, seed, epochs, shuffle=True):
    """The batches of d2l's DataLoader over (X, y) for `epochs` passes."""
    data = torch.utils.data.TensorDataset(X, y)
    generator = torch.Generator().manual_seed(seed)
    loader = torch.utils.data.DataLoader(data, batch_size, shuffle=shuffle, generator=generator)
    return [batch for _ in range(epochs) for batch in loader]


@pytest.mark.parametrize(("batch_size", "seed"), [(256, 0), (1000, 3), (300, 7)])
def test_tensor_batches_equal_dataloader_batches(flat_arrays, batch_size, seed):
    X, y = flat_arrays[2], flat_arrays[3]
    batches = fm.TensorBatches(X, y, batch_size, shuffle=True, seed=seed)
    ours = [batch for _ in range(2) for batch in batches]
    theirs = dataloader_batches(X, y, batch_size, seed, epochs=2)
    assert len(ours) == len(theirs) == 2 * len(batches)
    for (X1, y1), (X2, y2) in zip(ours, theirs, strict=True):
        assert torch.equal(y1, y2) and torch.equal(X1, X2)
    first, second = ours[: len(batches)], ours[len(batches) :]
    assert not torch.equal(first[0][1], second[0][1]), "each pass reshuffles"


def test_unshuffled_batches_keep_the_order(flat_arrays):
    X, y = flat_arrays[2], flat_arrays[3]
    ours = list(fm.TensorBatches(X, y, 256))
    theirs = dataloader_batches(X, y, 256, 0, epochs=1, shuffle=False)
    assert all(torch.equal(a[1], b[1]) for a, b in zip(ours, theirs, strict=True))


def test_load_data_fashion_mnist(official_root, flat_arrays, no_network):
    train_iter, test_iter = fm.load_data_fashion_mnist(256, root=official_root, device="cpu")
    assert (len(train_iter), len(test_iter)) == (235, 40)
    X, y = next(iter(train_iter))
    assert X.shape == (256, 1, 28, 28) and X.dtype == torch.float32 and X.device.type == "cpu"
    assert y.shape == (256,) and y.dtype == torch.int64
    *_, (X_last, y_last) = test_iter
    assert X_last.shape == (16, 1, 28, 28) and y_last.shape == (16,)
    again, _ = fm.load_data_fashion_mnist(256, root=official_root, device="cpu")
    assert torch.equal(next(iter(again))[1], y), "the same seed gives the same order"


def test_text_labels_and_images(flat_arrays):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    assert fm.get_fashion_mnist_labels(range(10)) == list(fm.TEXT_LABELS)
    assert fm.get_fashion_mnist_labels(torch.tensor([9, 0])) == ["ankle boot", "t-shirt"]
    X, y = flat_arrays[2][:6], flat_arrays[3][:6]
    axes = fm.show_images(X.reshape(6, 28, 28), 2, 3, titles=fm.get_fashion_mnist_labels(y))
    assert len(axes) == 6 and axes[0].get_title() == "ankle boot"
    plt.close("all")


def test_hidden_split_is_disjoint_and_never_reaches_worker_arrays():
    """data.split_indices splits the test set in two; the worker's copy holds the visible half
    only, and the full test tensors it was cut from are zeroed."""
    import torch

    from autograder import config
    from autograder.units.softmax_regression import data

    visible, hidden = data.split_indices(10_000)
    assert len(hidden) == round(10_000 * config.HIDDEN_TEST_FRACTION)
    assert torch.cat([visible, hidden]).sort().values.equal(torch.arange(10_000))
    X_train, y_train, X_vis, y_vis = data.worker_arrays()
    X_full, y_full = data.arrays_cpu()[2:]
    assert len(X_train) == 60_000 and X_vis.shape[0] == len(visible)
    assert torch.equal(X_vis, X_full[visible]) and torch.equal(y_vis, y_full[visible])
    X_hidden, y_hidden = data.hidden_arrays()
    assert torch.equal(X_hidden, X_full[hidden]) and torch.equal(y_hidden, y_full[hidden])
    train_batches, test_batches = data.batches("cpu", arrays_=data.worker_arrays())
    assert sum(len(y) for _, y in test_batches) == len(visible)


def _fresh_worker_arrays(monkeypatch, root):
    """worker_arrays() read afresh from the official files under `root`."""
    from autograder.units.softmax_regression import data

    official = data.official_files
    monkeypatch.setattr(data, "_worker_arrays", None)
    monkeypatch.setattr(data, "official_files", lambda: official(root))
    return data.worker_arrays()


@pytest.fixture
def reads(monkeypatch, tmp_path):
    """Every idx file data.read_idx_bytes reads, with the pid that reads it (children too)."""
    from autograder.units.softmax_regression import data

    log = tmp_path / "reads.log"
    real = data.read_idx_bytes

    def logged(path, name):
        with open(log, "a") as fh:
            fh.write(f"{os.getpid()} {name}\n")
        return real(path, name)

    monkeypatch.setattr(data, "read_idx_bytes", logged)
    return lambda: [line.split() for line in log.read_text().splitlines()]


def test_worker_arrays_read_the_test_files_in_another_process(official_root, reads, monkeypatch):
    """The fork server reads the training files itself; the test files (hidden rows) only in a
    child forked for that, which sends back the visible rows (old code: all four read here)."""
    X_train, y_train, X_vis, y_vis = _fresh_worker_arrays(monkeypatch, official_root)
    by_name = {name: int(pid) for pid, name in reads()}
    here = os.getpid()
    assert by_name["train-images-idx3-ubyte.gz"] == here == by_name["train-labels-idx1-ubyte.gz"]
    assert here != by_name["t10k-images-idx3-ubyte.gz"] == by_name["t10k-labels-idx1-ubyte.gz"]
    from autograder.units.softmax_regression import data

    want = data.visible_arrays()
    for got, expected in zip((X_train, y_train, X_vis, y_vis), want, strict=True):
        assert got.dtype == expected.dtype and torch.equal(got, expected)


def test_worker_arrays_report_a_wrong_test_file_read_in_the_child(official_root, reads, tmp_path,
                                                                   monkeypatch):  # fmt: skip
    """The child's DataFileError (a wrong md5) reaches the caller, naming the file."""
    from autograder.units.softmax_regression import data

    root = tmp_path / "data"
    root.mkdir()
    for name in data.MD5:
        (root / name).symlink_to(official_root / name)
    (root / "t10k-labels-idx1-ubyte.gz").unlink()
    (root / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b not the labels")
    with pytest.raises(data.DataFileError, match=r"t10k-labels-idx1-ubyte\.gz: not the official"):
        _fresh_worker_arrays(monkeypatch, root)


# -- the grader's own reader (autograder/units/softmax_regression/data.py) ----------------------
def test_the_grader_reads_the_same_arrays_as_torchvision(official_root, flat_arrays):
    """data.read_official (no torchvision) gives exactly the tensors of the release helper,
    which reads the same files through torchvision's FashionMNIST: same dtype, shape, bytes."""
    from autograder.units.softmax_regression import data

    ours = data.read_official(data.official_files(official_root))
    for got, want in zip(ours, flat_arrays, strict=True):
        assert got.dtype == want.dtype and got.shape == want.shape
        assert torch.equal(got, want)


def test_the_grader_reads_torchvisions_extracted_files(official_root, flat_arrays, tmp_path):
    """A torchvision root whose raw/ holds the extracted files (no .gz) is read from those."""
    import gzip

    from autograder.units.softmax_regression import data

    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for name in data.MD5:
        (raw / name[:-3]).write_bytes(gzip.decompress((official_root / name).read_bytes()))
    paths = data.official_files(tmp_path)
    assert [p.name for p in paths] == [name[:-3] for name in data.MD5]
    for got, want in zip(data.read_official(paths), flat_arrays, strict=True):
        assert torch.equal(got, want)


def test_the_grader_falls_back_when_the_files_are_absent(official_root, tmp_path):
    from autograder.units.softmax_regression import data

    (tmp_path / "train-images-idx3-ubyte.gz").symlink_to(
        official_root / "train-images-idx3-ubyte.gz"
    )
    assert data.official_files(tmp_path) is None  # then the helper (torchvision) is used


def test_the_grader_names_a_wrong_file_and_what_is_wrong(official_root, tmp_path):
    """A .gz that is not the official one (md5) or an extracted file with a wrong header."""
    from autograder.units.softmax_regression import data

    bad = tmp_path / "t10k-labels-idx1-ubyte.gz"
    bad.write_bytes((official_root / "t10k-images-idx3-ubyte.gz").read_bytes())
    with pytest.raises(data.DataFileError, match=r"t10k-labels-idx1-ubyte\.gz: not the official"):
        data.read_idx(bad, "t10k-labels-idx1-ubyte.gz")
    short = tmp_path / "t10k-labels-idx1-ubyte"
    short.write_bytes((2049).to_bytes(4, "big") + (9999).to_bytes(4, "big") + bytes(9999))
    with pytest.raises(data.DataFileError, match=r"t10k-labels-idx1-ubyte: not an idx file"):
        data.read_idx(short, "t10k-labels-idx1-ubyte.gz")


def test_kernel_data_is_extracted_where_the_helper_reads_it(official_root, flat_arrays, tmp_path,
                                                            monkeypatch):  # fmt: skip
    """prepare_kernel_data (nbgrader's display kernels) extracts the files without torchvision;
    the release helper, pointed there, then reads them without writing anything (its cache
    folder is read-only to a kernel) and gets the official arrays."""
    import subprocess
    import sys

    from autograder.units.softmax_regression import data

    script = ("import json, sys; from autograder.units.softmax_regression import data; "
              "print(json.dumps([data.prepare_kernel_data(sys.argv[1]), "
              "'torchvision' in sys.modules]))")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True,
                          text=True, check=True, timeout=120)  # fmt: skip
    variables, imported = __import__("json").loads(done.stdout)
    assert variables == {"FASHION_MNIST_CACHE": str(tmp_path)} and not imported
    assert data.prepare_kernel_data(tmp_path / "again") == {"FASHION_MNIST_CACHE": str(tmp_path / "again")}  # fmt: skip
    before = {p: p.lstat().st_mtime_ns for p in tmp_path.rglob("*")}
    monkeypatch.setenv("FASHION_MNIST_CACHE", str(tmp_path))
    for got, want in zip(fm.load_arrays(official_root), flat_arrays, strict=True):
        assert torch.equal(got, want)
    assert {p: p.lstat().st_mtime_ns for p in tmp_path.rglob("*")} == before  # nothing written
    monkeypatch.setenv("FASHION_MNIST_ROOT", str(tmp_path / "nowhere"))
    assert data.prepare_kernel_data(tmp_path / "none") == {}
