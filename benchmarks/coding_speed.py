"""Speed and rate of the symbol coder on a 768x512 image's worth of latents.

300k symbols drawn from 64 discretized Laplace tables (the test fixtures' tables), coded in one
call; prints the median encode/decode time over several runs, the table-model build time and
the coded size against the ideal code length.

Run: ``OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/coding_speed.py``
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "coding"))
from conftest import NUM_TABLES, SCALES, laplace_pmfs  # noqa: E402  (the tests' table fixtures)

from convpress.coding import CdfTables, SymbolDecoder, SymbolEncoder, estimate_bits  # noqa: E402

SYMBOLS = 300_000
RUNS = 15


def main() -> None:
    start = time.perf_counter()
    tables = CdfTables.from_pmfs(*laplace_pmfs(SCALES))
    quantize_ms = 1e3 * (time.perf_counter() - start)
    rng = np.random.default_rng(0)
    table_index = rng.integers(0, NUM_TABLES, SYMBOLS)
    symbols = np.round(rng.laplace(0.0, SCALES[table_index])).astype(np.int32)

    start = time.perf_counter()
    first = SymbolEncoder()
    first.encode(symbols, table_index, tables)  # builds and caches the 64 constriction models
    first_ms = 1e3 * (time.perf_counter() - start)

    encode_ms, decode_ms = [], []
    for _ in range(RUNS):
        start = time.perf_counter()
        encoder = SymbolEncoder()
        encoder.encode(symbols, table_index, tables)
        data = encoder.finish()
        middle = time.perf_counter()
        decoded = SymbolDecoder(data).decode(table_index, tables)
        end = time.perf_counter()
        assert np.array_equal(decoded, symbols)
        encode_ms.append(1e3 * (middle - start))
        decode_ms.append(1e3 * (end - middle))
    ideal = estimate_bits(symbols, table_index, tables) / 8
    print(f"{SYMBOLS} symbols, {NUM_TABLES} tables of up to {tables.cdfs.shape[1] - 1} symbols")
    print(f"quantize tables {quantize_ms:.1f} ms; first encode (with model build) {first_ms:.1f} ms")
    print(f"encode median {statistics.median(encode_ms):.1f} ms (min {min(encode_ms):.1f})")
    print(f"decode median {statistics.median(decode_ms):.1f} ms (min {min(decode_ms):.1f})")
    print(f"coded {len(data)} B, ideal {ideal:.0f} B, overhead {100 * (len(data) / ideal - 1):.3f} %")


if __name__ == "__main__":
    main()
