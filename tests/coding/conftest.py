"""Fixtures for the coding tests: CDF tables of discretized Laplace distributions, like a learned codec's."""

from __future__ import annotations

import numpy as np
import pytest

from convpress.coding.tables import CdfTables

NUM_TABLES = 64
SCALES = np.exp(np.linspace(np.log(0.11), np.log(64.0), NUM_TABLES))


def laplace_pmfs(scales: np.ndarray) -> tuple[list[np.ndarray], list[int], list[float]]:
    """For each scale: pmf of round(Laplace(0, scale)) over +-8 scales, the range's offset and tail mass."""
    pmfs, offsets, tails = [], [], []
    for scale in scales:
        half = int(np.ceil(8 * scale)) + 1
        values = np.arange(-half, half + 1)

        def cdf(x: np.ndarray) -> np.ndarray:
            return np.where(x < 0, 0.5 * np.exp(x / scale), 1 - 0.5 * np.exp(-x / scale))

        pmfs.append(cdf(values + 0.5) - cdf(values - 0.5))
        offsets.append(-half)
        tails.append(2 * cdf(-half - 0.5))
    return pmfs, offsets, tails


@pytest.fixture(scope="session")
def laplace_tables() -> CdfTables:
    return CdfTables.from_pmfs(*laplace_pmfs(SCALES))


@pytest.fixture(scope="session")
def laplace_symbols() -> tuple[np.ndarray, np.ndarray]:
    """300k symbols drawn from the tables' distributions (a 768x512 image's latents), with indices."""
    rng = np.random.default_rng(1234)
    table_index = rng.integers(0, NUM_TABLES, 300_000)
    symbols = np.round(rng.laplace(0.0, SCALES[table_index])).astype(np.int32)
    return symbols, table_index
