from __future__ import annotations

import asyncio
import base64
import functools
import io
import struct
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageFile

from bot import images
from bot.images import (
    MAX_ENCODED_BYTES,
    MAX_PIXELS,
    MAX_SIDE,
    MIN_SIDE,
    FormatNotAllowedError,
    ImageConverter,
    ImageTooHeavyError,
    ImageTooLargeError,
    ImageTooNarrowError,
    ImageTooSmallError,
    NotAnImageError,
    PreparedImage,
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
    noisy.save(buffer, "PNG", compress_level=1)  # noise does not compress: only time saved
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
    assert isinstance(caught.value, ImageTooSmallError)  # a kind of too small, with its own text
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


# -- decompression bombs (the audit's M5) ------------------------------------------------------
@functools.cache
def blank_png(width: int, height: int, rows: int | None = None) -> bytes:
    """A transparent RGBA PNG of any size, made without its bitmap: rows of zeros compress
    about 1000:1, so 8944x8944 (320 MB decoded) is a 0.3 MB file, the audit's bomb. With
    `rows`, only that many rows follow the header (a file cut short)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        checksum = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", checksum)

    written = height if rows is None else rows
    packer, block = zlib.compressobj(9), bytes((1 + 4 * width) * 64)  # 64 filtered rows
    idat = b"".join(packer.compress(block) for _ in range(written // 64))
    idat += packer.compress(bytes((1 + 4 * width) * (written % 64))) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8 bits, RGBA
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


@pytest.fixture
def no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to decode pixels fails the test."""

    def load(self: Image.Image) -> None:
        raise AssertionError(f"decoded a {self.size} {self.format} image")

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)


@pytest.mark.usefixtures("no_decoding")
@pytest.mark.parametrize(
    ("make", "error", "size"),
    [
        (blank_png, ImageTooLargeError, (7746, 7746)),  # 60 MP, 240 MB as RGBA
        (blank_png, ImageTooLargeError, (8944, 8944)),  # the audit's bomb
        (functools.partial(make_image, fmt="PNG"), ImageTooSmallError, (200, 300)),
        (functools.partial(make_image, fmt="PNG"), ImageTooNarrowError, (240, 9000)),
    ],
    ids=["60 MP", "bomb", "small", "narrow"],
)
def test_sizes_are_refused_from_the_header_before_any_decoding(
    make: Callable[[int, int], bytes],
    error: type[ImageTooLargeError | ImageTooSmallError],
    size: tuple[int, int],
) -> None:
    with pytest.raises(error) as caught:
        prepare_image(make(*size))
    assert (caught.value.width, caught.value.height) == size


def test_past_pillows_own_limit_the_image_is_too_large_without_a_size() -> None:
    # 20000x10000 claims 200 MP: Pillow refuses the header itself, nothing is read further.
    with pytest.raises(ImageTooLargeError) as caught:
        prepare_image(blank_png(20000, 10000, rows=1))
    assert (caught.value.width, caught.value.height) == (None, None)


def test_the_pixel_cap_is_the_bitmap_decoded_so_a_large_jpeg_is_drafted_under_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    width, height = 9000, 5000  # 45 MP: over the cap as a PNG, yet JPEG decodes it at 1/2
    assert width * height > MAX_PIXELS
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(buffer, "JPEG", quality=80)
    decoded: list[tuple[int, int]] = []
    load = ImageFile.ImageFile.load

    def spy(self: ImageFile.ImageFile) -> object:
        decoded.append(self.size)
        return load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    prepared = prepare_image(buffer.getvalue())
    assert set(decoded) == {(4500, 2500)}
    assert (prepared.width, prepared.height) == (2560, 1422)
    assert decode(prepared.jpeg).getpixel((1280, 711)) == pytest.approx((30, 120, 200), abs=3)


def test_a_drafted_jpeg_keeps_its_orientation() -> None:
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 8  # rotate 90° counter-clockwise when displayed
    Image.new("RGB", (8000, 3000), (10, 200, 10)).save(buffer, "JPEG", exif=exif)
    prepared = prepare_image(buffer.getvalue())
    assert (prepared.width, prepared.height) == (960, 2560)


@pytest.mark.parametrize(
    ("fmt", "named"),
    [
        ("SGI", "SGI"),
        ("PCX", "PCX"),
        ("QOI", "QOI"),
        ("DDS", "DDS"),
        ("PPM", "PPM"),
        ("ICO", "ICO"),
        ("TGA", "CUR"),  # TGA has no signature; its first bytes are a cursor's
        ("SPIDER", None),
    ],
)
def test_a_format_outside_the_allowlist_never_reaches_its_parser(
    fmt: str, named: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "photo.png"  # named like an accepted image, as an attacker would
    mode = {"DDS": "RGBA", "SPIDER": "F"}.get(fmt, "RGB")
    Image.new(mode, (300, 300), 0.5 if mode == "F" else (200, 60, 40)).save(path, fmt)
    with Image.open(path) as check:  # Pillow would open it, with that format's parser
        assert check.format == fmt
    Image.init()
    for name, (_, accept) in list(Image.OPEN.items()):
        if name not in images.FORMATS:
            monkeypatch.setitem(Image.OPEN, name, (functools.partial(unreachable, name), accept))
    with pytest.raises(NotAnImageError) as caught:
        prepare_image(path.read_bytes())
    assert getattr(caught.value, "format", None) == named
    assert isinstance(caught.value, FormatNotAllowedError) == (named is not None)


def unreachable(name: str, *args: object) -> None:
    raise AssertionError(f"the {name} parser ran")


@pytest.mark.parametrize("mode", ["LA", "P", "RGB"])
def test_every_kind_of_transparency_is_flattened_onto_white(mode: str) -> None:
    image = Image.new(mode, (300, 300), {"LA": (0, 0), "P": 0, "RGB": (1, 2, 3)}[mode])
    buffer = io.BytesIO()
    transparency = {"LA": None, "P": 0, "RGB": (1, 2, 3)}[mode]
    image.save(buffer, "PNG", **({} if transparency is None else {"transparency": transparency}))
    assert decode(prepare_image(buffer.getvalue()).jpeg).getpixel((10, 10)) == (255, 255, 255)


# -- at most two conversions at once ------------------------------------------------------------
def counting(
    monkeypatch: pytest.MonkeyPatch, seconds: float, started: threading.Event | None = None
) -> dict[str, int]:
    """Patch prepare_image with one that takes `seconds` and counts the conversions running."""
    counts = {"running": 0, "most": 0, "done": 0}
    lock = threading.Lock()

    def prepare(raw: bytes) -> PreparedImage:
        if started is not None:
            started.set()
        with lock:
            counts["running"] += 1
            counts["most"] = max(counts["most"], counts["running"])
        time.sleep(seconds)
        with lock:
            counts["running"] -= 1
            counts["done"] += 1
        return PreparedImage(raw, MIN_SIDE, MIN_SIDE)

    monkeypatch.setattr(images, "prepare_image", prepare)
    return counts


async def test_at_most_two_conversions_run_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    counts = counting(monkeypatch, 0.05)
    converter = ImageConverter()
    prepared = await asyncio.gather(*(converter.prepare(bytes([n])) for n in range(10)))
    assert [p.jpeg for p in prepared] == [bytes([n]) for n in range(10)]
    assert counts == {"running": 0, "most": 2, "done": 10}  # the thread pool alone allows 5+


async def test_a_cancelled_conversion_still_counts_until_its_thread_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started = threading.Event()
    counts = counting(monkeypatch, 0.3, started)
    converter = ImageConverter(limit=1)
    first = asyncio.create_task(converter.prepare(b"first"))
    assert await asyncio.to_thread(started.wait, 5)
    first.cancel()  # a thread cannot be stopped: the first conversion goes on
    with pytest.raises(asyncio.CancelledError):
        await first
    assert (await converter.prepare(b"second")).jpeg == b"second"
    assert counts == {"running": 0, "most": 1, "done": 2}  # one after the other
