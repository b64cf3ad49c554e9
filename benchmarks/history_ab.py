"""Interleaved A/B of the history reads: this checkout's `warehouse.queries` against
another checkout's, call by call on the same versions, on a database a
`bench_history --keep` run built (so both see the same load at the same moment).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_history_pg \\
        .venv/bin/python -m benchmarks.history_ab /path/to/other/checkout [--pairs 30] [--seed 11]

Prints p50 / p95 of each read for both, and the p50 ratio (this / other), with
the load average before and after. The other checkout's `warehouse/queries.py`
is loaded as a second module over this checkout's models (same schema).
"""

import argparse
import importlib.util
import os
import random
import sys
import time
from pathlib import Path

from benchmarks import _common
from benchmarks.bench_history import percentile

PLAYLIST = "bench-history"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other", type=Path, help="the other checkout (its warehouse/queries.py)")
    parser.add_argument("--pairs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    _common.setup_django()
    from warehouse import queries as this

    spec = importlib.util.spec_from_file_location(
        "other_queries", args.other / "warehouse" / "queries.py"
    )
    other = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(other)
    rng = random.Random(args.seed)
    latest = this.latest_version(playlist_id=PLAYLIST)
    far = [tuple(sorted(rng.sample(range(1, latest + 1), 2))) for _ in range(args.pairs)]
    near = [(v, v + 1) for v in (rng.randint(1, latest - 1) for _ in range(args.pairs))]

    def as_of(q, version, page, sort):
        with q.as_of(version):
            q.playlist_tracks_page(playlist_id=PLAYLIST, page=page % 200 + 1, sort=sort)

    def diff(**options):
        return lambda q, a, b: q.playlist_diff_page(
            playlist_id=PLAYLIST, from_version=a, to_version=b, **options
        )

    reads = {
        "changes": lambda q, a, b: q.playlist_changes(
            playlist_id=PLAYLIST, from_version=a, to_version=b
        ),
        "diff_page": diff(),
        "diff_page_sorted": diff(sort="track"),
        "diff_page_moved": diff(kind="moved"),
        "as_of_page": lambda q, a, b: as_of(q, a, b, "position"),
        "as_of_sorted": lambda q, a, b: as_of(q, a, b, "track"),
    }
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    for name, read in reads.items():
        sets = [("random pairs", far)] + ([("neighbours", near)] if "as_of" not in name else [])
        for label, pairs in sets:
            timed = {"this": [], "other": []}
            for a, b in pairs:
                order = [("this", this), ("other", other)]
                rng.shuffle(order)
                for side, q in order:
                    started = time.perf_counter()
                    read(q, a, b)
                    timed[side].append(time.perf_counter() - started)
            p = {s: (percentile(t, 50) * 1000, percentile(t, 95) * 1000) for s, t in timed.items()}
            print(
                f"{name:17s} {label:13s} other {p['other'][0]:6.1f} / {p['other'][1]:6.1f} ms"
                f"   this {p['this'][0]:6.1f} / {p['this'][1]:6.1f} ms"
                f"   p50 ratio {p['this'][0] / p['other'][0]:.2f}",
                flush=True,
            )
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    sys.exit(main())
