from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from bot.images import (
    MAX_ENCODED_BYTES,
    MAX_SIDE,
    MIN_SIDE,
    ImageTooHeavyError,
    ImageTooNarrowError,
    ImageTooSmallError,
    NotAnImageError,
    prepare_image,
)
from tests.harness import make_image


def decode(jpeg: bytes) -> Image.Image:
    return Image.open(io.BytesIO(jpeg))


def noise(width: int, height: int) -> bytes:
    """An image JPEG cannot compress much: its encoded size follows its pixel count."""
    buffer = io.BytesIO()
    Image.effect_noise((width, height), 100).convert("RGB").save(buffer, "PNG")
    return buffer.getvalue()


def quality_tables(quality: int) -> dict[int, list[int]]:
    """The quantization tables of a JPEG saved at `quality` (they depend on nothing else)."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "JPEG", quality=quality)
    return dict(decode(buffer.getvalue()).quantization)


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


def test_a_long_narrow_image_is_shrunk_only_until_its_short_side_is_the_minimum() -> None:
    # Shrunk to the usual 2560 px long side it would be 192x2560, which the API refuses.
    prepared = prepare_image(make_image(300, 4000))
    assert (prepared.width, prepared.height) == (240, 3200)
    assert decode(prepared.jpeg).size == (240, 3200)


@pytest.mark.parametrize(
    ("size", "fitted"),
    [((300, 9000), (240, 7200)), ((9000, 300), (7200, 240)), ((240, MAX_SIDE), (240, MAX_SIDE))],
)
def test_a_long_side_above_the_maximum_is_brought_within_it(
    size: tuple[int, int], fitted: tuple[int, int]
) -> None:
    prepared = prepare_image(make_image(*size))
    assert (prepared.width, prepared.height) == fitted


@pytest.mark.parametrize("size", [(240, MAX_SIDE + 1), (9000, 250)])
def test_an_image_too_narrow_for_any_allowed_size_is_refused_with_its_size(
    size: tuple[int, int],
) -> None:
    # Within 8000 px its short side would be under 240 px: shrinking cannot help.
    with pytest.raises(ImageTooNarrowError) as caught:
        prepare_image(make_image(*size))
    assert isinstance(caught.value, ImageTooSmallError)  # the user hears the minimum side
    assert (caught.value.width, caught.value.height) == size


def test_over_the_byte_limit_the_quality_steps_down_first() -> None:
    raw = noise(600, 400)
    best = prepare_image(raw)
    assert decode(best.jpeg).quantization == quality_tables(92)
    limit = len(best.data_url()) - 1
    prepared = prepare_image(raw, max_encoded_bytes=limit)
    assert (prepared.width, prepared.height) == (600, 400)
    assert decode(prepared.jpeg).quantization == quality_tables(82)
    assert len(prepared.data_url()) <= limit


def test_at_the_lowest_quality_the_image_shrinks_until_it_fits() -> None:
    raw = noise(600, 400)
    limit = len(prepare_image(raw).data_url()) // 2
    prepared = prepare_image(raw, max_encoded_bytes=limit)
    assert len(prepared.data_url()) <= limit
    assert decode(prepared.jpeg).quantization == quality_tables(72)
    assert MIN_SIDE <= prepared.height < 400
    assert abs(prepared.width / prepared.height - 1.5) < 0.01


def test_shrinking_for_the_byte_limit_never_takes_a_side_below_the_minimum() -> None:
    raw = noise(300, 1200)
    limit = len(prepare_image(raw).data_url())
    outcomes = []
    while limit > 50_000:
        limit = limit * 9 // 10
        try:
            prepared = prepare_image(raw, max_encoded_bytes=limit)
        except ImageTooHeavyError:
            outcomes.append(None)
            continue
        assert len(prepared.data_url()) <= limit
        assert min(prepared.width, prepared.height) >= MIN_SIDE, (limit, prepared.width)
        assert abs(prepared.height / prepared.width - 4) < 0.02
        outcomes.append((prepared.width, prepared.height))
    # The sweep reached the smallest allowed size, and below what it takes, a refusal.
    assert (240, 960) in outcomes
    assert outcomes[-1] is None


def test_an_image_that_cannot_fit_the_byte_limit_is_refused_clearly() -> None:
    with pytest.raises(ImageTooHeavyError) as caught:
        prepare_image(noise(400, 300), max_encoded_bytes=1000)
    assert isinstance(caught.value, NotAnImageError)  # the user is told it cannot be used
    assert caught.value.limit == 1000
    assert "1000 bytes" in str(caught.value)
