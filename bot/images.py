"""Photo preparation with Pillow: any readable image in, an API-ready RGB JPEG out."""

from __future__ import annotations

import base64
import io
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


class ImageError(Exception):
    """The file cannot be used as a first frame."""


class NotAnImageError(ImageError):
    pass


class ImageTooSmallError(ImageError):
    def __init__(self, width: int, height: int) -> None:
        super().__init__(f"image is {width}x{height}, each side must be at least {MIN_SIDE}px")
        self.width = width
        self.height = height


class ImageTooLargeError(NotAnImageError):
    def __init__(self, width: int, height: int) -> None:
        super().__init__(f"image is {width}x{height}, too many pixels to process")


@dataclass(frozen=True)
class PreparedImage:
    jpeg: bytes
    width: int
    height: int

    def data_url(self) -> str:
        return "data:image/jpeg;base64," + base64.b64encode(self.jpeg).decode("ascii")


def prepare_image(raw: bytes) -> PreparedImage:
    """Decode, orient, flatten to RGB, bound the size, and encode as JPEG."""
    try:
        with Image.open(io.BytesIO(raw)) as probe:
            if probe.width * probe.height > MAX_PIXELS:
                raise ImageTooLargeError(probe.width, probe.height)
            probe.seek(0)
            image = ImageOps.exif_transpose(probe)
            image.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise NotAnImageError(str(exc)) from exc

    if min(image.size) < MIN_SIDE:
        raise ImageTooSmallError(*image.size)
    image = _flatten(image)
    image = _fit_long_side(image, TARGET_LONG_SIDE)
    quality = 92
    while True:
        jpeg = _encode(image, quality)
        if _encoded_size(jpeg) <= MAX_ENCODED_BYTES:
            return PreparedImage(jpeg, image.width, image.height)
        if quality > 70:
            quality -= 10
        else:
            image = _fit_long_side(image, int(max(image.size) * 0.8))
            if min(image.size) < MIN_SIDE:
                raise ImageTooSmallError(*image.size)


def _flatten(image: Image.Image) -> Image.Image:
    """Transparency is not accepted by the API: composite onto white."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB") if image.mode != "RGB" else image


def _fit_long_side(image: Image.Image, long_side: int) -> Image.Image:
    if max(image.size) <= long_side:
        return image
    scale = long_side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def _encode(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality, optimize=True)
    return buffer.getvalue()


def _encoded_size(jpeg: bytes) -> int:
    return (len(jpeg) + 2) // 3 * 4 + len("data:image/jpeg;base64,")
