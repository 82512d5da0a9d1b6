"""Run codecs over a quality sweep on every image of a data set, in parallel worker processes.

The unit of work is one (image, codec) pair: the image is read once and encoded at every quality
of the codec's sweep. Each operating point gives one *row*, a plain dict with the keys of
:data:`ROW_FIELDS`, so rows go to CSV and JSON as they are and come back for ``--resume``.

Codecs are looked up by name in the registry inside the workers, so a codec is evaluated the same
way whether it is classical or learned, and nothing here knows any codec by name.
"""

from __future__ import annotations

import csv
import io
import json
import math
import multiprocessing
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image
from tqdm import tqdm

from convpress.codecs import Codec, codec_names, get_codec
from convpress.codecs.base import check_quality
from convpress.errors import ConvpressError, UnsupportedImageError
from convpress.evaluation import metrics
from convpress.evaluation.curves import json_number
from convpress.imageio import open_image, write_atomic

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".ppm", ".pgm", ".bmp", ".tif", ".tiff", ".webp")

ROW_FIELDS = (
    "image", "codec", "quality", "bytes", "bpp", "psnr-rgb", "psnr-y", "ms-ssim", "enc_s", "dec_s", "options",
)
"""Columns of the per-image results; ``options`` is the codec options as a JSON object string."""

Row = dict[str, Any]


@dataclass(frozen=True)
class CodecSetting:
    """One codec of a run: its registry name, quality sweep and encoder options.

    ``qualities`` is ``(None,)`` for codecs without a quality (lossless-only formats).
    """

    name: str
    qualities: tuple[float | None, ...]
    options: tuple[tuple[str, Any], ...] = ()

    @property
    def options_json(self) -> str:
        """The options as a canonical JSON string, which is how rows record them."""
        return json.dumps(dict(self.options), sort_keys=True)


def codec_setting(name: str, qualities: Sequence[float] | None = None, options: Mapping[str, Any] | None = None) -> CodecSetting:
    """A codec's setting, with its own default sweep when ``qualities`` is None.

    Codecs without a quality scale get one operating point whatever ``qualities`` says.
    """
    codec = get_codec(name)
    if not codec.lossy:
        sweep: tuple[float | None, ...] = (None,)
    else:
        sweep = tuple(check_quality(q) for q in (codec.default_qualities if qualities is None else qualities))
        if not sweep:
            raise ConvpressError(f"{codec.name}: empty quality sweep")
    return CodecSetting(codec.name, sweep, tuple(sorted((options or {}).items())))


def lossy_codec_names() -> list[str]:
    """Every available interactive codec with a quality scale: the default set to evaluate and compare."""
    return [name for name in codec_names() if get_codec(name).lossy and get_codec(name).interactive]


def find_images(dataset: str | Path, max_images: int | None = None) -> list[Path]:
    """The image files directly inside ``dataset`` (not its sub-folders), sorted by name."""
    dataset = Path(dataset)
    if max_images is not None and max_images < 1:
        raise ConvpressError(f"the number of images must be at least 1, got {max_images}")
    if not dataset.is_dir():
        raise ConvpressError(f"data set folder {dataset} does not exist")
    images = sorted(p for p in dataset.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise ConvpressError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {dataset}")
    return images[:max_images] if max_images is not None else images


def measure_point(
    image: Image.Image, codec: Codec, quality: float | None, options: Mapping[str, Any], with_ms_ssim: bool = True
) -> Row:
    """Encode and decode ``image`` once and measure rate, distortion and time.

    The row's ``image``, ``codec`` and ``options`` are left for the caller to fill in.
    """
    quality_kwargs = {} if quality is None else {"quality": quality}
    data, enc_s = metrics.timed(codec.encode, image, **quality_kwargs, **options)
    decoded, dec_s = metrics.timed(codec.decode, data)
    return {
        "quality": quality,
        "bytes": len(data),
        "bpp": metrics.bits_per_pixel(len(data), image.width, image.height),
        **metrics.distortion(image, decoded, with_ms_ssim),
        "enc_s": enc_s,
        "dec_s": dec_s,
    }


@dataclass(frozen=True)
class _Job:
    """Work for one (image, codec) pair: the qualities still to measure."""

    path: Path
    key: str
    setting: CodecSetting
    qualities: tuple[float | None, ...]
    with_ms_ssim: bool


def _run_job(job: _Job) -> tuple[_Job, list[Row], str | None]:
    """Measure every quality of a job; a codec refusing the image gives a reason, not rows."""
    image = open_image(job.path)
    codec = get_codec(job.setting.name)
    options = dict(job.setting.options)
    rows = []
    try:
        for quality in job.qualities:
            row = measure_point(image, codec, quality, options, job.with_ms_ssim)
            rows.append({"image": job.key, "codec": job.setting.name, **row, "options": job.setting.options_json})
    except UnsupportedImageError as exc:
        return job, [], f"{job.key}: {exc}"
    return job, rows, None


def _init_worker() -> None:
    """One thread per worker: the workers already use every core between them."""
    import torch

    torch.set_num_threads(1)


def row_key(row: Mapping) -> tuple:
    """What identifies an operating point: image, codec, quality and options."""
    return (row["image"], row["codec"], row["quality"], row["options"])


def run_sweep(
    images: Sequence[Path],
    settings: Sequence[CodecSetting],
    *,
    root: Path | None = None,
    workers: int = 1,
    with_ms_ssim: bool = True,
    previous_rows: Iterable[Row] = (),
    on_rows: Callable[[list[Row]], None] | None = None,
    progress: bool = True,
) -> list[Row]:
    """Measure every codec at every quality on every image; return the rows.

    ``root`` is the folder image names are relative to (default: each image's own folder).
    Rows in ``previous_rows`` that this sweep asks for are kept instead of being measured again
    (``--resume``); others are dropped. ``on_rows`` is called with all rows so far after each
    (image, codec) pair, so that a caller can save progress. ``workers`` > 1 runs pairs in that
    many processes. A codec that cannot store an image (e.g. alpha in JPEG) skips it with a
    warning.
    """
    keys = {path: path.relative_to(root).as_posix() if root else path.name for path in images}
    wanted = {(keys[p], s.name, q, s.options_json) for p in images for s in settings for q in s.qualities}
    kept = [row for row in previous_rows if row_key(row) in wanted]
    done = {row_key(row) for row in kept}
    jobs = []
    for path in images:
        for setting in settings:
            todo = tuple(q for q in setting.qualities if (keys[path], setting.name, q, setting.options_json) not in done)
            if todo:
                jobs.append(_Job(path, keys[path], setting, todo, with_ms_ssim))
    rows = list(kept)
    skipped = []
    with tqdm(total=len(wanted), initial=len(kept), unit="point", desc="eval", disable=not progress) as bar:
        for job, new_rows, reason in _execute(jobs, workers):
            rows.extend(new_rows)
            if reason:
                skipped.append(reason)
            bar.update(len(job.qualities))
            if on_rows is not None:
                on_rows(rows)
    for reason in skipped:
        warnings.warn(f"skipped {reason}", stacklevel=2)
    return sort_rows(rows)


def _execute(jobs: Sequence[_Job], workers: int):
    """Yield each job's result as it completes, in this process or in ``workers`` processes."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if workers == 1 or len(jobs) <= 1:
        for job in jobs:
            yield _run_job(job)
        return
    context = _worker_context()
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context, initializer=_init_worker) as pool:
        futures = [pool.submit(_run_job, job) for job in jobs]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            for future in futures:
                future.cancel()


def _worker_context() -> multiprocessing.context.BaseContext:
    """Where the platform has it, a fork server that has imported torch and the codecs once.

    Plain fork is unsafe here: the parent may have used torch's thread pools or hold a progress
    bar thread. Spawn is safe but re-imports torch (seconds) in every worker of every pool; a
    fork server pays that once per process and forks clean workers from a single-threaded parent.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["torch", "pytorch_msssim", __name__])
    return context


def sort_rows(rows: Iterable[Row]) -> list[Row]:
    """Rows ordered by image, codec and quality, so files are stable from run to run."""
    return sorted(rows, key=lambda r: (r["image"], r["codec"], -1.0 if r["quality"] is None else r["quality"]))


def rows_to_json(rows: Sequence[Row]) -> str:
    """Strict JSON (NaN as null) of the rows."""
    return json.dumps([{k: json_number(row[k]) for k in ROW_FIELDS} for row in rows], indent=1) + "\n"


def rows_to_csv(rows: Sequence[Row]) -> str:
    """CSV of the rows with a header line; missing values are empty cells."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=ROW_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if json_number(row[k]) is None else row[k] for k in ROW_FIELDS})
    return buffer.getvalue()


def save_rows(rows: Sequence[Row], json_path: Path, csv_path: Path | None = None) -> None:
    """Write the rows as JSON (and CSV), each file replaced atomically."""
    write_atomic(json_path, rows_to_json(rows).encode(), force=True)
    if csv_path is not None:
        write_atomic(csv_path, rows_to_csv(rows).encode(), force=True)


def load_rows(json_path: Path) -> list[Row]:
    """Rows saved by :func:`save_rows` (null metrics come back as NaN)."""
    try:
        data = json.loads(Path(json_path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ConvpressError(f"cannot read previous results {json_path}: {exc}") from exc
    if not isinstance(data, list) or not all(isinstance(r, dict) and set(ROW_FIELDS) <= set(r) for r in data):
        raise ConvpressError(f"{json_path} does not hold convpress per-image results")
    metric_fields = ("psnr-rgb", "psnr-y", "ms-ssim")
    return [{**r, **{k: math.nan if r[k] is None else r[k] for k in metric_fields}} for r in data]
