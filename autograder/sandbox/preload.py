"""Imported by the fork server alone: what every worker shares, loaded once, copy-on-write after."""

from autograder.sandbox import worker

worker.preload()
