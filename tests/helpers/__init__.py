"""Helpers the test modules share (``from helpers.<module> import ...``; tests/ is on pythonpath)."""
