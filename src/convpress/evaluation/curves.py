"""Rate-distortion curves: averaging per-image results, and CompressAI's JSON layout.

CompressAI publishes one JSON file per codec (``{"name", "description", "results": {"bpp": [...],
"psnr-rgb": [...], "ms-ssim-rgb": [...], "encoding_time": [...], "decoding_time": [...]}}``), each
list holding one value per operating point, averaged over the images of the data set. We write our
curves in the same layout (adding ``psnr-y`` and ``quality``) so that ours and theirs are read by
the same code and can be fed back to ``convpress eval --published``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from convpress.errors import ConvpressError
from convpress.evaluation.metrics import ms_ssim_db

MS_SSIM_KEYS = ("ms-ssim-rgb", "ms-ssim")
"""Keys under which published files store linear MS-SSIM (recent and older CompressAI)."""
MS_SSIM_DB_KEY = "ms-ssim-db-rgb"
"""Key of MS-SSIM already in dB (``-10 log10(1 - ms)``), used by the papers' digitised curves."""


@dataclass
class RDCurve:
    """One codec's averaged operating points; optional series are None when unknown."""

    name: str
    bpp: list[float]
    psnr_rgb: list[float] | None = None
    ms_ssim: list[float] | None = None
    """Linear MS-SSIM (0-1); plots and tables convert to dB."""
    encoding_time: list[float] | None = None
    decoding_time: list[float] | None = None
    description: str = ""
    extra: dict[str, list] = field(default_factory=dict)
    """Further per-point series written to and read from the JSON (``quality``, ``psnr-y``)."""
    source: str = ""
    """File the curve was read from; empty for curves measured in this run."""


def average_rows(rows: Sequence[Mapping], name: str, description: str = "") -> RDCurve:
    """Average per-image rows of one codec into one point per quality, sorted by quality.

    Each metric is the mean over images of the per-image value (CompressAI's convention: mean
    PSNR, not PSNR of the mean MSE). MS-SSIM skips images without a value (too small).
    """
    by_quality: dict[float | None, list[Mapping]] = {}
    for row in rows:
        by_quality.setdefault(row["quality"], []).append(row)
    if not by_quality:
        raise ConvpressError(f"no results to average for {name!r}")
    qualities = sorted(by_quality, key=lambda q: -math.inf if q is None else q)
    groups = [by_quality[q] for q in qualities]
    return RDCurve(
        name=name,
        description=description,
        bpp=[_mean(g, "bpp") for g in groups],
        psnr_rgb=[_mean(g, "psnr-rgb") for g in groups],
        ms_ssim=[_mean(g, "ms-ssim") for g in groups],
        encoding_time=[_mean(g, "enc_s") for g in groups],
        decoding_time=[_mean(g, "dec_s") for g in groups],
        extra={"quality": qualities, "psnr-y": [_mean(g, "psnr-y") for g in groups]},
    )


def _mean(rows: Iterable[Mapping], key: str) -> float:
    """Mean of the defined values (None and NaN skipped); NaN when there are none."""
    values = [row[key] for row in rows if row.get(key) is not None and not math.isnan(row[key])]
    return float(np.mean(values)) if values else math.nan


def curve_to_json(curve: RDCurve) -> dict:
    """The curve in CompressAI's layout; NaN becomes null (JSON has no NaN)."""
    results = {"bpp": curve.bpp}
    for key, values in (
        ("psnr-rgb", curve.psnr_rgb),
        ("ms-ssim-rgb", curve.ms_ssim),
        ("encoding_time", curve.encoding_time),
        ("decoding_time", curve.decoding_time),
        *curve.extra.items(),
    ):
        if values is not None:
            results[key] = values
    results = {key: [json_number(v) for v in values] for key, values in results.items()}
    return {"name": curve.name, "description": curve.description, "results": results}


def json_number(value):
    """``value`` with NaN and infinities replaced by None, for strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def curve_from_json(data: Mapping, source: str = "curve") -> RDCurve:
    """Read a curve in CompressAI's layout (ours or a published one)."""
    try:
        name = str(data["name"])
        results = dict(data["results"])
        bpp = _floats(results.pop("bpp"))
    except (KeyError, TypeError, ValueError) as exc:
        raise ConvpressError(f"{source}: not a CompressAI results file (needs name and results.bpp)") from exc
    ms_ssim = None
    for key in MS_SSIM_KEYS:
        if key in results:
            ms_ssim = _floats(results.pop(key))
    if ms_ssim is None and MS_SSIM_DB_KEY in results:
        ms_ssim = [1.0 - 10.0 ** (-db / 10.0) for db in _floats(results.pop(MS_SSIM_DB_KEY))]
    curve = RDCurve(
        name=name,
        description=str(data.get("description", "")),
        bpp=bpp,
        psnr_rgb=_floats(results.pop("psnr-rgb")) if "psnr-rgb" in results else None,
        ms_ssim=ms_ssim,
        encoding_time=_floats(results.pop("encoding_time")) if "encoding_time" in results else None,
        decoding_time=_floats(results.pop("decoding_time")) if "decoding_time" in results else None,
        extra=results,
    )
    for key, values in (("psnr-rgb", curve.psnr_rgb), ("ms-ssim", curve.ms_ssim)):
        if values is not None and len(values) != len(bpp):
            raise ConvpressError(f"{source}: {len(bpp)} bpp values but {len(values)} {key} values")
    return curve


def _floats(values: Sequence) -> list[float]:
    return [math.nan if v is None else float(v) for v in values]


def load_published(path: str | Path) -> RDCurve:
    """A published curve file (e.g. CompressAI's ``results/image/kodak/webp.json``)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise ConvpressError(f"cannot read {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise ConvpressError(f"{path} is not valid JSON: {exc}") from exc
    curve = curve_from_json(data, source=str(path))
    curve.source = str(path)
    return curve


def make_names_unique(curves: Sequence[RDCurve]) -> None:
    """Rename, in place, every curve whose name an earlier curve already has.

    Two published files may share a name (e.g. a model's MSE and MS-SSIM variants); tables and
    legends key curves by name, so each must be distinct. A repeated file curve gets its file
    name appended, anything else a ``#2``, ``#3`` suffix.
    """
    seen: set[str] = set()
    for curve in curves:
        base = curve.name
        count = 1
        while curve.name in seen:
            count += 1
            curve.name = f"{base} ({Path(curve.source).stem})" if curve.source and count == 2 else f"{base} #{count}"
        seen.add(curve.name)


def rd_points(curve: RDCurve, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """(bpp, quality) of the points where both are finite; ``metric`` is ``psnr-rgb`` or ``ms-ssim-db``."""
    values = curve.psnr_rgb if metric == "psnr-rgb" else curve.ms_ssim
    if values is None:
        return np.empty(0), np.empty(0)
    bpp = np.asarray(curve.bpp, dtype=np.float64)
    quality = np.asarray(values, dtype=np.float64)
    if metric == "ms-ssim-db":
        quality = np.array([ms_ssim_db(v) if math.isfinite(v) else math.nan for v in quality])
    keep = np.isfinite(bpp) & np.isfinite(quality) & (bpp > 0)
    return bpp[keep], quality[keep]
