"""Photo preparation with Pillow: any readable image in, an API-ready RGB JPEG out."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener

# Pillow learns HEIC/HEIF (iPhone photos sent as files) once, for the whole process.
register_heif_opener()

MIN_SIDE = 240
MAX_SIDE = 8000
# The API's 10 MB limit may apply to the base64 text: stay under it *encoded*.
MAX_ENCODED_BYTES = 10 * 1024 * 1024
# Larger images buy nothing for a 1080p video and cost upload time.
TARGET_LONG_SIDE = 2560
# Refuse decompression bombs before they are decoded.
MAX_PIXELS = 80_000_000
# JPEG qualities tried in turn; at the last one the image shrinks by this factor until it fits.
QUALITIES = (92, 82, 72)
SHRINK_STEP = 0.8


class ImageError(Exception):
    """The file cannot be used as a first frame."""


class NotAnImageError(ImageError):
    pass


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


class ImageTooLargeError(NotAnImageError):
    def __init__(self, width: int, height: int) -> None:
        super().__init__(f"image is {width}x{height}, too many pixels to process")


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


def prepare_image(raw: bytes, *, max_encoded_bytes: int = MAX_ENCODED_BYTES) -> PreparedImage:
    """Decode, orient, check the sides, flatten to RGB, bound the size, and encode as JPEG
    whose data URL is at most `max_encoded_bytes` long."""
    image = _decode(raw)
    _check_sides(*image.size)
    image = _fit_long_side(_flatten(image), TARGET_LONG_SIDE)
    return _encode_within(image, max_encoded_bytes)


def _decode(raw: bytes) -> Image.Image:
    """The image, oriented as it is displayed, fully loaded; anything else: NotAnImageError."""
    try:
        with Image.open(io.BytesIO(raw)) as probe:
            if probe.width * probe.height > MAX_PIXELS:
                raise ImageTooLargeError(probe.width, probe.height)
            probe.seek(0)
            image = ImageOps.exif_transpose(probe)
            image.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise NotAnImageError(str(exc)) from exc
    return image


def _check_sides(width: int, height: int) -> None:
    """Refuse an image that no resize can bring within the API's MIN_SIDE..MAX_SIDE."""
    if min(width, height) < MIN_SIDE:
        raise ImageTooSmallError(width, height)
    if max(_fitted_size((width, height), MAX_SIDE)) > MAX_SIDE:
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
    """Transparency is not accepted by the API: composite onto white."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB") if image.mode != "RGB" else image


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
