from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from bot.images import (
    MAX_ENCODED_BYTES,
    ImageTooSmallError,
    NotAnImageError,
    prepare_image,
)
from tests.harness import make_image


def decode(jpeg: bytes) -> Image.Image:
    return Image.open(io.BytesIO(jpeg))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "BMP", "WEBP"])
def test_every_accepted_format_becomes_rgb_jpeg(fmt: str) -> None:
    prepared = prepare_image(make_image(400, 300, fmt=fmt))
    image = decode(prepared.jpeg)
    assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (400, 300))
    assert (prepared.width, prepared.height) == (400, 300)


def test_data_url_is_base64_jpeg() -> None:
    prepared = prepare_image(make_image(300, 300))
    header, payload = prepared.data_url().split(",", 1)
    assert header == "data:image/jpeg;base64"
    assert base64.b64decode(payload) == prepared.jpeg


def test_too_small_side_is_refused_with_the_size() -> None:
    with pytest.raises(ImageTooSmallError) as caught:
        prepare_image(make_image(239, 1000))
    assert (caught.value.width, caught.value.height) == (239, 1000)
    prepare_image(make_image(240, 240))  # the minimum itself is fine


def test_not_an_image_is_refused() -> None:
    with pytest.raises(NotAnImageError):
        prepare_image(b"%PDF-1.4 not an image")


def test_transparency_is_flattened_onto_white() -> None:
    image = decode(
        prepare_image(make_image(300, 300, fmt="PNG", mode="RGBA", color=(0, 0, 0, 0))).jpeg
    )
    assert image.getpixel((150, 150)) == (255, 255, 255)


def test_exif_orientation_is_applied() -> None:
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise when displayed
    Image.new("RGB", (600, 300), (10, 200, 10)).save(buffer, "JPEG", exif=exif)
    prepared = prepare_image(buffer.getvalue())
    assert (prepared.width, prepared.height) == (300, 600)


def test_large_images_are_downscaled_and_stay_under_the_encoded_limit() -> None:
    noisy = Image.effect_noise((9000, 3000), 100).convert("RGB")
    buffer = io.BytesIO()
    noisy.save(buffer, "PNG")
    prepared = prepare_image(buffer.getvalue())
    assert max(prepared.width, prepared.height) <= 2560
    assert len(prepared.data_url()) <= MAX_ENCODED_BYTES
    assert abs(prepared.width / prepared.height - 3) < 0.01


def test_tiff_and_gif_are_converted() -> None:
    for fmt, mode in (("TIFF", "RGB"), ("GIF", "P")):
        image = decode(prepare_image(make_image(320, 260, fmt=fmt, mode=mode, color=1)).jpeg)
        assert (image.format, image.size) == ("JPEG", (320, 260))
