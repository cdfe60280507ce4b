"""Fashion-MNIST for this unit: the first unit's reader, visible and hidden halves, re-exported.

Both units train on the same data set, split the same way (config.HIDDEN_TEST_FRACTION hidden,
config.HIDDEN_SPLIT_SEED), batched as d2l's load_data_fashion_mnist(256) with the same seeded
order: what the worker, the fork server and the grader read through ``unit.data``.
"""

from __future__ import annotations

from autograder.units.softmax_regression.data import (  # noqa: F401 - this unit's interface
    DataFileError,
    DataMissingError,
    arrays,
    arrays_cpu,
    batches,
    helper_module,
    hidden_arrays,
    identity,
    official_files,
    prepare_kernel_data,
    require_data,
    split_indices,
    visible_arrays,
    worker_arrays,
)

__all__ = [
    "DataFileError",
    "DataMissingError",
    "arrays",
    "arrays_cpu",
    "batches",
    "helper_module",
    "hidden_arrays",
    "identity",
    "official_files",
    "prepare_kernel_data",
    "require_data",
    "split_indices",
    "visible_arrays",
    "worker_arrays",
]
