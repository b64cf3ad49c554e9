"""Every synthetic data set of the project, from one set of primitives.

Generated, never real Spotify or Million Playlist Dataset data. Deterministic:
the same seed gives the same output.

- ``primitives``: seeded random generators, Spotify-shaped ids, names, durations,
  ISRCs, release dates of every precision, genres, timestamps;
- ``music``: artists, albums and tracks built from them (the sandbox catalog's music,
  and the benchmarks' pool of tracks);
- ``exports``: Spotify account data exports (JSON, ZIP) and Exportify CSV files, the
  demo export of sandbox catalog tracks;
- ``mpd``: Million Playlist Dataset slices;
- ``snapshots``: normalized playlist snapshots (factory-boy factories for the tests,
  ``benchmark_snapshots`` for ``bench_load``).

The sandbox (``devtools.sandbox.catalog``) builds its catalog on ``music``; the tests
and the benchmarks import these modules directly.
"""
