"""Activates the grading plugin when pytest is pointed at this folder: ``pytest autograder --submission PATH``."""

from autograder.plugin import (  # noqa: F401 - pytest finds hooks by name in a conftest
    pytest_addoption,
    pytest_configure,
    pytest_generate_tests,
    pytest_terminal_summary,
)
