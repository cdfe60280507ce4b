"""Adapters that run the grader where courses run: Gradescope, GitHub Classroom (see deploy/)."""
