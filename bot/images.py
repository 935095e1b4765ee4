"""Photo preparation with Pillow: an image in an accepted format in, an API-ready RGB JPEG out,
decoded no larger than the video needs and refused before decoding when it would not fit."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from PIL import ExifTags, Image, ImageFile, UnidentifiedImageError
from pillow_heif import register_heif_opener

# Pillow learns HEIC/HEIF (iPhone photos sent as files) once, for the whole process.
register_heif_opener()

T = TypeVar("T")

MIN_SIDE = 240
MAX_SIDE = 8000
# The API's 10 MB limit may apply to the base64 text: stay under it *encoded*.
MAX_ENCODED_BYTES = 10 * 1024 * 1024
# Larger images buy nothing for a 1080p video and cost upload time.
TARGET_LONG_SIDE = 2560
# The most pixels decoded into memory (160 MB as RGBA), checked from the header before
# decoding and again after: a 0.3 MB PNG can claim 8944x8944. JPEGs are decoded at 1/2..1/8
# scale when that still covers TARGET_LONG_SIDE, so only that smaller size counts for them.
MAX_PIXELS = 40_000_000
# The formats photos come in ("HEIF" is pillow-heif's name for HEIC/HEIF). Pillow's other
# decoders (PSD, SGI, FITS, DDS, ...) stay out of reach of a file renamed `.png`.
FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF", "HEIF")
# Conversions at once: one at the cap holds up to ~300 MiB while it runs (a 40 MP RGBA PNG:
# its bitmap, then the white one it is flattened onto; docs/benchmarks.md).
MAX_CONVERSIONS = 2
# JPEG qualities tried in turn; at the last one the image shrinks by this factor until it fits.
QUALITIES = (92, 82, 72)
SHRINK_STEP = 0.8
# A resize first reduces by a whole factor when it shrinks at least this many times; from 3 on
# the result is as a plain LANCZOS resize would be (Pillow's documentation), only faster.
REDUCING_GAP = 3.0
# EXIF orientation → the transposition that shows the image upright (as ImageOps does it).
UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class ImageError(Exception):
    """The file cannot be used as a first frame."""


class NotAnImageError(ImageError):
    pass


class FormatNotAllowedError(NotAnImageError):
    """An image in a format the bot does not open. `format` is Pillow's name for it, judged by
    the file's first bytes only, so a guess where those are few (a TGA passes for a CUR)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"looks like {name}, a format not accepted")
        self.format = name


class ImageTooSmallError(ImageError):
    """A side is shorter than MIN_SIDE, or would have to become shorter to fit the API."""

    def __init__(
        self, width: int, height: int, reason: str = f"each side must be at least {MIN_SIDE}px"
    ) -> None:
        super().__init__(f"image is {width}x{height}, {reason}")
        self.width = width
        self.height = height


class ImageTooNarrowError(ImageTooSmallError):
    """So long and narrow that no size keeps every side within MIN_SIDE..MAX_SIDE."""

    def __init__(self, width: int, height: int) -> None:
        super().__init__(
            width,
            height,
            f"its long side cannot be brought within {MAX_SIDE}px "
            f"without a side below {MIN_SIDE}px",
        )


class ImageTooLargeError(ImageError):
    """More than MAX_PIXELS to decode. No size when Pillow itself refused the header (past
    its own decompression-bomb limit, far above ours)."""

    def __init__(self, width: int | None = None, height: int | None = None) -> None:
        size = f"{width}x{height}" if width and height else "beyond Pillow's limit"
        super().__init__(f"image is {size}, more than {MAX_PIXELS} pixels to decode")
        self.width = width
        self.height = height


class ImageTooHeavyError(NotAnImageError):
    """Not even the smallest allowed encoding fits the API's byte limit."""

    def __init__(self, width: int, height: int, limit: int) -> None:
        super().__init__(
            f"image is {width}x{height}, no JPEG of it with every side at least {MIN_SIDE}px "
            f"fits in {limit} bytes as a data URL"
        )
        self.width = width
        self.height = height
        self.limit = limit


@dataclass(frozen=True)
class PreparedImage:
    jpeg: bytes
    width: int
    height: int

    def data_url(self) -> str:
        return "data:image/jpeg;base64," + base64.b64encode(self.jpeg).decode("ascii")


class ImageConverter:
    """`prepare_image` at most `limit` at a time, on `limit` threads of its own: twenty images
    sent together wait for a slot instead of adding their bitmaps up in memory.

    Threads of its own rather than `asyncio.to_thread`'s pool: glibc keeps the memory a thread
    frees in that thread's arena, so conversions spread over the pool's threads (six on two
    cores) leave the process holding six bitmaps' worth, two at a time or not. The threads,
    made as needed, end when the converter is dropped."""

    def __init__(self, limit: int = MAX_CONVERSIONS) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._threads = ThreadPoolExecutor(limit, thread_name_prefix="image")

    async def prepare(self, raw: bytes) -> PreparedImage:
        return await self.run(prepare_image, raw)

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        """Any conversion (a photo, a video's last frame, a join, a round note) in one of the
        same slots: together they never decode more than `limit` things at once."""
        async with self._slots:
            loop = asyncio.get_running_loop()
            # Cancelled, a conversion already running goes on, on one of the `limit` threads.
            return await loop.run_in_executor(self._threads, work, *args)


def prepare_image(raw: bytes, *, max_encoded_bytes: int = MAX_ENCODED_BYTES) -> PreparedImage:
    """Check, decode no larger than needed, bound the size, flatten to RGB, orient, and encode
    as JPEG whose data URL is at most `max_encoded_bytes` long."""
    image = _decode_fitted(raw)
    _check_within_the_api(*image.size)
    return _encode_within(image, max_encoded_bytes)


def _decode_fitted(raw: bytes) -> Image.Image:
    """The image as displayed, flattened to RGB, its long side brought to TARGET_LONG_SIDE
    (see `_fitted_size`); anything that cannot be one: an ImageError."""
    try:
        source = _open(raw)
        header = source.size
        target = _fitted_size(header, TARGET_LONG_SIDE)
        drafted = source.draft(None, target)  # JPEG: decode at 1/2..1/8 scale (HEIF: thumbnail)
        _check_pixels(source.size, header)
        source.load()
        _check_pixels(source.size, source.size)
        upright = UPRIGHT.get(source.getexif().get(ExifTags.Base.Orientation, 1))
        flat = _flatten(source)
        del source  # a flattened copy leaves the decoded original to be freed before resizing
        image = _resize(flat, target, drafted[1] if drafted else None)
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError() from exc
    except (OSError, ValueError, EOFError) as exc:  # UnidentifiedImageError is an OSError
        raise NotAnImageError(str(exc)) from exc
    return image.transpose(upright) if upright is not None else image


def _open(raw: bytes) -> ImageFile.ImageFile:
    """The image's header, read by the decoder of an accepted format only, its sides checked;
    nothing is decoded yet."""
    try:
        image = Image.open(io.BytesIO(raw), formats=FORMATS)
    except UnidentifiedImageError as exc:
        name = _known_format(raw[:16])
        raise FormatNotAllowedError(name) if name else NotAnImageError(str(exc)) from exc
    _check_sides(*image.size)
    return image


def _known_format(prefix: bytes) -> str | None:
    """Which other format Pillow knows the file for, by its signature alone (no parser of it
    runs): "not in an accepted format" tells the user more than "not an image"."""
    Image.init()
    for name, (_, accept) in Image.OPEN.items():
        if name in FORMATS or accept is None:
            continue
        with contextlib.suppress(Exception):  # a signature test on 16 bytes
            if (found := accept(prefix)) and not isinstance(found, str):
                return name
    return None


def _check_sides(width: int, height: int) -> None:
    """Refuse an image that no resize can bring within the API's MIN_SIDE..MAX_SIDE."""
    if min(width, height) < MIN_SIDE:
        raise ImageTooSmallError(width, height)
    if max(_fitted_size((width, height), MAX_SIDE)) > MAX_SIDE:
        raise ImageTooNarrowError(width, height)


def _check_pixels(decoded: tuple[int, int], size: tuple[int, int]) -> None:
    """Refuse to decode (or to keep) a bitmap of more than MAX_PIXELS. `decoded` is what
    decoding allocates (less than the image's `size` for a drafted JPEG); the user hears `size`."""
    if decoded[0] * decoded[1] > MAX_PIXELS:
        raise ImageTooLargeError(*size)


def _check_within_the_api(width: int, height: int) -> None:
    """What is sent keeps every side within MIN_SIDE..MAX_SIDE (true by construction)."""
    if min(width, height) < MIN_SIDE or max(width, height) > MAX_SIDE:
        raise ImageTooNarrowError(width, height)


def _encode_within(image: Image.Image, limit: int) -> PreparedImage:
    for candidate, quality in _attempts(image):
        jpeg = _encode(candidate, quality)
        if _encoded_size(jpeg) <= limit:
            return PreparedImage(jpeg, candidate.width, candidate.height)
    raise ImageTooHeavyError(image.width, image.height, limit)


def _attempts(image: Image.Image) -> Iterator[tuple[Image.Image, int]]:
    """Ever smaller encodings: lower qualities first, then smaller sizes at the lowest one,
    until a side would go below MIN_SIDE."""
    *higher, lowest = QUALITIES
    for quality in higher:
        yield image, quality
    while True:
        yield image, lowest
        smaller = _fit_long_side(image, int(max(image.size) * SHRINK_STEP))
        if smaller.size == image.size:
            return
        image = smaller


def _flatten(image: Image.Image) -> Image.Image:
    """Transparency is not accepted by the API: composite onto white. Pasting with the image
    as its own mask copies nothing but the white background."""
    if image.has_transparency_data:
        rgba = image if image.mode in ("RGBA", "LA") else image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba)
        return background
    return image.convert("RGB") if image.mode != "RGB" else image


def _resize(
    image: Image.Image, size: tuple[int, int], box: tuple[float, float, float, float] | None
) -> Image.Image:
    """`image` at `size`; `box` is the part of it that is the whole picture (a drafted JPEG
    may have a partial last row or column of pixels)."""
    if image.size == size and box in (None, (0, 0, *size)):
        return image
    return image.resize(size, Image.Resampling.LANCZOS, box=box, reducing_gap=REDUCING_GAP)


def _fit_long_side(image: Image.Image, long_side: int) -> Image.Image:
    size = _fitted_size(image.size, long_side)
    return image if size == image.size else image.resize(size, Image.Resampling.LANCZOS)


def _fitted_size(size: tuple[int, int], long_side: int) -> tuple[int, int]:
    """`size` shrunk, keeping its aspect ratio, until the long side is at most `long_side` or
    the short side is MIN_SIDE, whichever comes first: a resize never breaks the API's minimum,
    so the long side may stay above `long_side`."""
    scale = max(long_side / max(size), MIN_SIDE / min(size))
    if scale >= 1:
        return size
    width, height = size
    return round(width * scale), round(height * scale)


def _encode(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality, optimize=True)
    return buffer.getvalue()


def _encoded_size(jpeg: bytes) -> int:
    return (len(jpeg) + 2) // 3 * 4 + len("data:image/jpeg;base64,")
