"""Fashion-MNIST for the grader: the official idx files read directly, once per process, on a device.

The grader and the fork server read the four official files themselves (``read_official``) instead
of through torchvision, whose import alone costs seconds (it pulls in ``torch._dynamo``): the same
bytes, converted exactly as the release's ``fashion_mnist.load_arrays`` converts torchvision's
tensors (``tests/units/test_fashion_mnist.py`` proves the arrays equal). Students' notebooks keep
d2l's torchvision pipeline. When the files are not on disk, the release helper (torchvision,
which may download them) is the fallback.

The fork server (``worker_arrays``) never reads the test files itself: a child forked for that
reads them and sends back only the visible rows, so the hidden half never passes through the
memory of the fork server or of any worker forked from it (``tests/sandbox/test_hidden_memory.py``
searches a worker's whole memory for it).
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import importlib.util
import json
import os
import sys
import threading
from pathlib import Path

import torch

from autograder import config

MD5 = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
"""The official archives and their md5 sums (torchvision.datasets.FashionMNIST.resources)."""

SHAPES = {
    "train-images-idx3-ubyte.gz": (60000, 28, 28),
    "train-labels-idx1-ubyte.gz": (60000,),
    "t10k-images-idx3-ubyte.gz": (10000, 28, 28),
    "t10k-labels-idx1-ubyte.gz": (10000,),
}


class DataFileError(ValueError):
    """An official file that is present but is not what it must be (names the file)."""


class DataMissingError(RuntimeError):
    """Fashion-MNIST is neither on disk nor downloadable: the grader's own input is missing, so
    nobody can be graded (require_data). The grader's counterpart of the release helper's
    ``fashion_mnist.DataMissingError``, which require_data turns into this one."""


def require_data() -> None:
    """Refuse, before anyone is graded, when the data set the checks need cannot be had.

    Fine when the four official files are where the grader reads them (FASHION_MNIST_ROOT, else
    the default cache), or when torchvision can download them there; otherwise raises
    DataMissingError naming the folder looked in and FASHION_MNIST_ROOT.
    """
    if official_files() is not None:
        return
    helper = helper_module()
    root = helper.data_root()
    try:
        helper.load_arrays(device="cpu")  # torchvision downloads the files when it can
    except helper.DataMissingError as err:
        source = (
            "FASHION_MNIST_ROOT"
            if os.environ.get("FASHION_MNIST_ROOT")
            else "the default, FASHION_MNIST_ROOT being unset"
        )
        raise DataMissingError(
            f"Fashion-MNIST is not in {root} ({source}) and could not be downloaded, so nobody "
            f"was graded: put the four official files ({', '.join(MD5)}) in a folder, flat or "
            "in FashionMNIST/raw/, and set FASHION_MNIST_ROOT to it"
        ) from err


def prepare_kernel_data(folder) -> dict[str, str]:
    """Extract the data set once into `folder` for the notebook kernels that show students their
    outputs (nbgrader's display run); the variables that make the helper read it there.

    Each kernel starts with an empty home, so the helper's torchvision cache would be extracted
    again for every student (6 of a notebook's 21 s); the kernels only read this one. The files
    are laid out as the helper lays them out (``_torchvision_root``: links to the official
    archives in FashionMNIST/raw/) and extracted here, as torchvision extracts them, without
    importing torchvision (1 s, torch._dynamo): torchvision then finds them and reads them.
    Returns {} (the kernels then read the data themselves) when the official files are absent.
    """
    helper = helper_module()
    root = helper.data_root()
    if official_files(root) is None:
        return {}
    # Only where the official files are on disk: the grader then never reads this variable (it
    # reads those files itself), so no other thread of the grading process sees it change.
    saved = os.environ.get("FASHION_MNIST_CACHE")
    os.environ["FASHION_MNIST_CACHE"] = str(folder)
    try:
        raw = helper._torchvision_root(root) / "FashionMNIST" / "raw"
        for name in MD5:
            target = raw / name[:-3]
            if target.is_file():
                continue
            buf, _header = read_idx_bytes(raw / name, name)  # the md5 and shape checked
            partial = target.with_name(f".{target.name}.{os.getpid()}.part")
            partial.write_bytes(buf)
            os.replace(partial, target)
    finally:
        if saved is None:
            os.environ.pop("FASHION_MNIST_CACHE", None)
        else:
            os.environ["FASHION_MNIST_CACHE"] = saved
    return {"FASHION_MNIST_CACHE": str(folder)}


@functools.cache
def helper_module():
    """The assignment's fashion_mnist.py from release/ (the same file students use)."""
    path = config.RELEASE_DIR / "fashion_mnist.py"
    spec = importlib.util.spec_from_file_location("fashion_mnist", path)
    if spec is None or not path.is_file():
        raise FileNotFoundError(
            f"{path}: the assignment's data helper is missing; regenerate release/"
        )
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("fashion_mnist", module)
    spec.loader.exec_module(module)
    return module


_read_lock = threading.Lock()


def arrays_cpu():
    """(X_train, y_train, X_test, y_test) as CPU tensors, read once per process (thread-safe)."""
    with _read_lock:  # forkserver.start() may be reading them in a background thread
        return _read_arrays()


@functools.cache
def _read_arrays():
    return load_arrays_cpu()


def load_arrays_cpu():
    """(X_train, y_train, X_test, y_test) on the CPU: X (n, 1, 28, 28) float32 in [0, 1], y (n,)
    int64; read from the official files when present, else through the release helper."""
    found = official_files()
    if found is None:
        return helper_module().load_arrays(device="cpu")
    return read_official(found)


def official_files(root=None) -> list[Path] | None:
    """The four files (in MD5's order) where torchvision would read them, or None if absent.

    `root` (default: the helper's data_root: FASHION_MNIST_ROOT or the default cache) holds the
    four .gz files, or torchvision's FashionMNIST/raw/ with the extracted files or the .gz ones.
    """
    root = Path(root) if root is not None else helper_module().data_root()
    raw = root / "FashionMNIST" / "raw"
    chosen = []
    for name in MD5:
        candidates = (raw / name[:-3], raw / name, root / name)
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            return None
        chosen.append(path)
    return chosen


def identity() -> tuple | None:
    """What identifies the data files the grader reads (name, size, modification time of each),
    for the reference runs' cache (checks.runcache); None when they come through the helper."""
    found = official_files()
    if found is None:
        return None
    return tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in found)


def read_official(paths) -> tuple[torch.Tensor, ...]:
    """(X_train, y_train, X_test, y_test) from the four idx files `paths` (MD5's order), converted
    as the release helper converts torchvision's uint8 tensors. Raises DataFileError.

    The uint8 buffers are zeroed once converted: no second copy of the test images is left behind.
    """
    raw = [read_idx(p, name) for p, name in zip(paths, MD5)]
    X_train, y_train, X_test, y_test = raw
    out = (
        X_train.unsqueeze(1).to(torch.float32).div_(255.0),
        y_train.to(torch.int64),
        X_test.unsqueeze(1).to(torch.float32).div_(255.0),
        y_test.to(torch.int64),
    )
    for t in raw:
        t.zero_()
    return out


def read_idx(path, name) -> torch.Tensor:
    """The uint8 tensor of the idx file `path` (official file `name`), shaped SHAPES[name].

    A .gz file must have the official md5 sum; the header must give the official shape.
    Raises DataFileError naming the file and what is wrong.
    """
    buf, header = read_idx_bytes(path, name)
    return torch.frombuffer(buf, dtype=torch.uint8, offset=header).reshape(SHAPES[name])


def read_idx_bytes(path, name) -> tuple[bytearray, int]:
    """(the whole idx file `path` as a bytearray, the length of its header): read_idx without
    torch (the reading child of ``in_child`` uses nothing else)."""
    path, shape = Path(path), SHAPES[name]
    header = 4 + 4 * len(shape)
    buf = bytearray(header + torch.Size(shape).numel())  # one mutable buffer: it can be zeroed
    if path.suffix == ".gz":
        with open(path, "rb") as fh:
            md5 = hashlib.file_digest(fh, "md5").hexdigest()
        if md5 != MD5[name]:
            raise DataFileError(
                f"{path}: not the official {name} (md5 {md5}, expected {MD5[name]}); replace it "
                "with the official file"
            )
        opener = gzip.open
    else:
        opener = open
    try:
        with opener(path, "rb") as fh:
            size, extra = fh.readinto(buf), fh.read(1)
    except (OSError, EOFError) as err:
        raise DataFileError(
            f"{path}: cannot be read ({err}); replace it with the official {name}"
        ) from err
    magic = int.from_bytes(buf[:4], "big")
    dims = tuple(int.from_bytes(buf[4 + 4 * i : 8 + 4 * i], "big") for i in range(len(shape)))
    if magic != 0x800 + len(shape) or dims != shape or size != len(buf) or extra:
        raise DataFileError(
            f"{path}: not an idx file of unsigned bytes shaped {shape} (magic {magic:#x}, "
            f"dimensions {dims}, {size}{'+' if extra else ''} bytes); replace it with the "
            f"official {name}"
        )
    return buf, header


@functools.cache
def arrays(device="cpu"):
    """The four tensors on `device` (a string such as "cpu" or "cuda")."""
    return tuple(t.to(device) for t in arrays_cpu())


def split_indices(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(visible, hidden) sorted indices of the n test images (config.HIDDEN_TEST_FRACTION hidden)."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(config.HIDDEN_SPLIT_SEED))
    hidden = int(round(n * config.HIDDEN_TEST_FRACTION))
    return order[hidden:].sort().values, order[:hidden].sort().values


def hidden_arrays(device="cpu"):
    """(X_hidden, y_hidden): the test images a student's code never receives (grader only)."""
    X_test, y_test = arrays(str(device))[2:]
    _, hidden = split_indices(len(y_test))
    hidden = hidden.to(X_test.device)
    return X_test.index_select(0, hidden), y_test.index_select(0, hidden)


_worker_arrays = None


def worker_arrays():
    """(X_train, y_train, X_visible, y_visible) on the CPU, read for a worker's fork server.

    The hidden test rows never enter this process, not even in freed memory: the test files are
    read (md5, decompression, idx header) in a child forked for that alone, which sends back only
    the visible rows and exits, its memory returned to the kernel, while this process reads the
    training files beside it (``in_child``).
    """
    global _worker_arrays
    with _read_lock:
        if _worker_arrays is None:
            _worker_arrays = _read_worker_arrays()
    return _worker_arrays


def _read_worker_arrays():
    found = official_files()
    if found is None:  # the release helper (torchvision, may download): all of it in the child
        return in_child(_visible_through_helper)()
    visible = split_indices(SHAPES["t10k-labels-idx1-ubyte.gz"][0])[0].tolist()
    test = in_child(lambda: _visible_test_rows(found[2:], visible))  # runs beside the reads here
    try:
        X_train = read_idx(found[0], "train-images-idx3-ubyte.gz")
        y_train = read_idx(found[1], "train-labels-idx1-ubyte.gz")
    except DataFileError:
        with contextlib.suppress(DataFileError):
            test()  # the child is reaped either way
        raise
    X_train, y_train = X_train.unsqueeze(1).to(torch.float32).div_(255.0), y_train.to(torch.int64)
    X_vis, y_vis = test()
    return X_train, y_train, X_vis.unsqueeze(1).to(torch.float32).div_(255.0), y_vis.to(torch.int64)


def _visible_test_rows(paths, visible):
    """In the reading child, without torch: the uint8 rows `visible` of the test images and
    labels, as (dtype, shape, bytes)."""
    (images, ih), (labels, lh) = (read_idx_bytes(p, n) for p, n in zip(paths, list(MD5)[2:]))
    size = 28 * 28
    rows = b"".join(images[ih + i * size : ih + (i + 1) * size] for i in visible)
    return [
        ("uint8", (len(visible), 28, 28), rows),
        ("uint8", (len(visible),), bytes(labels[lh + i] for i in visible)),
    ]


def _visible_through_helper():
    """In the reading child: (X_train, y_train, X_visible, y_visible) through the release helper."""
    X_train, y_train, X_test, y_test = helper_module().load_arrays(device="cpu")
    visible, _ = split_indices(len(y_test))
    tensors = (X_train, y_train, X_test.index_select(0, visible), y_test.index_select(0, visible))
    return [(str(t.dtype).split(".")[-1], tuple(t.shape), t.contiguous().numpy()) for t in tensors]


def in_child(produce):
    """Fork a child that runs ``produce()`` ([(dtype name, shape, buffer)]) and sends the arrays
    back through a pipe; returns a function that receives them as tensors (raising DataFileError
    with the child's error, if any).

    Whatever the child read to make them stays in its memory, which the kernel takes back (and
    zeroes before any other process gets it) when the child exits: the hidden test rows are read
    there, never in the fork server that workers are forked from.
    """
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child: measured by the parent's result
        os.close(r)
        _send_tensors(w, produce)
        os._exit(0)
    os.close(w)

    def receive():
        try:
            return _receive_tensors(r)
        finally:
            os.close(r)
            os.waitpid(pid, 0)

    return receive


def _send_tensors(fd, produce):
    """In the child: write produce()'s arrays (or the error it raised) to `fd`, framed."""
    try:
        try:
            arrays = produce()
            header = {"tensors": [(dtype, list(shape)) for dtype, shape, _ in arrays]}
        except Exception as err:  # noqa: BLE001 - reported by the parent
            arrays, header = [], {"error": f"{type(err).__name__}: {err}"[:2000]}
        text = json.dumps(header).encode()
        _write_all(fd, len(text).to_bytes(8, "little") + text)
        for _dtype, _shape, data in arrays:
            _write_all(fd, memoryview(data).cast("B"))
    except BaseException:  # noqa: BLE001 - the parent sees a short read
        pass


def _write_all(fd, data) -> None:
    """Write all of `data` to the pipe `fd`."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exact(fd, n: int) -> bytearray:
    """Exactly `n` bytes from the pipe `fd` (DataFileError if it ends first)."""
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        k = os.readv(fd, [view[got:]])
        if k == 0:
            raise DataFileError("the process reading the test files ended before sending them")
        got += k
    return buf


def _receive_tensors(fd) -> tuple[torch.Tensor, ...]:
    """In the parent: the tensors _send_tensors wrote to the other end of `fd`."""
    header = json.loads(bytes(_read_exact(fd, int.from_bytes(_read_exact(fd, 8), "little"))))
    if "error" in header:
        raise DataFileError(header["error"])
    out = []
    for dtype_name, shape in header["tensors"]:
        dtype = getattr(torch, dtype_name)
        n = torch.Size(shape).numel() * torch.empty(0, dtype=dtype).element_size()
        buf = _read_exact(fd, n)
        out.append(
            torch.frombuffer(buf, dtype=dtype).reshape(shape)
            if n
            else torch.empty(shape, dtype=dtype)
        )
    return tuple(out)


def batches(device="cpu", seed=config.SEED, arrays_=None):
    """(train_batches, test_batches) as d2l's load_data_fashion_mnist(BATCH_SIZE) yields them,
    the test batches holding only the visible test images.

    arrays_: (X_train, y_train, X_visible, y_visible) on the CPU (default: read them here).
    """
    fm = helper_module()
    X_train, y_train, X_vis, y_vis = arrays_ or visible_arrays()
    X_train, y_train, X_vis, y_vis = (t.to(str(device)) for t in (X_train, y_train, X_vis, y_vis))
    return (
        fm.TensorBatches(X_train, y_train, config.BATCH_SIZE, shuffle=True, seed=seed),
        fm.TensorBatches(X_vis, y_vis, config.BATCH_SIZE, shuffle=False),
    )


def visible_arrays():
    """(X_train, y_train, X_visible, y_visible) on the CPU, from this process's full copy."""
    X_train, y_train, X_test, y_test = arrays_cpu()
    visible, _ = split_indices(len(y_test))
    return X_train, y_train, X_test.index_select(0, visible), y_test.index_select(0, visible)
