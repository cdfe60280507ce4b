"""Imported by the fork server alone: what every worker shares, loaded once, copy-on-write after."""

import torch  # noqa: F401 - the point of a warm fork server

from autograder.sandbox import worker

worker.preload()
