"""Benchmarks for Playlist Analytics (see docs/benchmarks.md).

Run from the repository root, e.g. ``.venv/bin/python -m benchmarks.bench_load``.
Every benchmark uses its own throwaway databases, never ``data/db.sqlite3``.
"""
