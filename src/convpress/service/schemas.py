"""The JSON bodies the service answers with; FastAPI turns them into the OpenAPI schema.

Binary results travel as base64 text so one response carries the numbers, the compressed file
and a PNG to display. Numbers that can be infinite or undefined (PSNR of identical images, MS-SSIM
of small images) are ``null`` with a flag saying why, since JSON has no infinity or NaN.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    detail: str = Field(description="What went wrong, meant to be shown to the user as it is.")


class Limits(BaseModel):
    max_upload_bytes: int
    max_pixels: int
    timeout_s: float
    workers: int
    max_queue: int


class Health(BaseModel):
    status: str = "ok"
    version: str
    pending_jobs: int = Field(description="Jobs running or waiting for a worker.")
    limits: Limits


class OptionInfo(BaseModel):
    name: str
    default: str | int
    help: str
    choices: list[str] = Field(default_factory=list, description="Accepted values of a text option.")
    minimum: int | None = None
    maximum: int | None = None


class CodecInfo(BaseModel):
    name: str
    description: str
    available: bool
    unavailable_reason: str | None = None
    lossy: bool = Field(description="Takes a quality from 1 (smallest) to 100 (best).")
    lossless: bool = Field(description="Has a bit-exact mode (lossless=true).")
    extensions: list[str]
    options: list[OptionInfo]


class RestorationInfo(BaseModel):
    denoise: bool = Field(description="convpress.denoise is installed.")
    deblock: bool = Field(description="convpress.deblock is installed.")


class ModelsInfo(BaseModel):
    compression: list[str] = Field(description="Shipped learned-codec models.")
    restoration: RestorationInfo


class Catalogue(BaseModel):
    codecs: list[CodecInfo]
    models: ModelsInfo


class TargetInfo(BaseModel):
    kind: str = Field(description="bpp, size (bytes) or psnr (dB).")
    value: float
    achieved: float
    reached: bool = Field(description="Whether the result is within 3% of the target.")


class CompressResult(BaseModel):
    codec: str
    extension: str = Field(description="Extension of the compressed file, with its dot.")
    quality: float | None = Field(description="Quality used; null in lossless mode.")
    lossless: bool
    target: TargetInfo | None
    width: int
    height: int
    mode: str
    bytes: int
    bpp: float
    psnr: float | None = Field(description="dB against the upload; null when identical.")
    identical: bool = Field(description="The decoded image equals the upload (infinite PSNR).")
    ms_ssim: float | None = Field(description="Null for images with a side under 161 px.")
    encode_ms: float = Field(description="Encoding time; for a target, the whole quality search.")
    decode_ms: float
    compressed: str = Field(description="The compressed file, base64.")
    decoded_png: str = Field(description="The decoded image as PNG, base64.")


class SweepPoint(BaseModel):
    quality: float
    bytes: int
    bpp: float
    psnr: float | None


class SweepSeries(BaseModel):
    codec: str
    points: list[SweepPoint]


class SkippedCodec(BaseModel):
    codec: str
    reason: str


class SweepResult(BaseModel):
    width: int
    height: int
    qualities: list[float]
    series: list[SweepSeries]
    skipped: list[SkippedCodec]
    elapsed_ms: float


class RestoreResult(BaseModel):
    kind: str = Field(description="denoise or deblock.")
    width: int
    height: int
    restore_ms: float
    psnr: float | None = Field(description="dB of the result against the reference, if one was sent.")
    ms_ssim: float | None
    identical: bool
    input_psnr: float | None = Field(description="dB of the input against the reference, if one was sent.")
    image_png: str = Field(description="The restored image as PNG, base64.")
