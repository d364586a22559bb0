"""Checking and cleaning the files a worker attaches.

The type is decided by the file's first bytes, never by its name or the
browser's claim. Images are decoded and re-encoded, which drops EXIF and
every other metadata block (GPS position, camera serial, time); a file that
does not decode as the image it claims to be is refused. PDFs are opened
and written anew without their metadata (author, the program and company
that made them, XMP packets, earlier revisions, the file identifier): a
pay slip's author field can name the worker or the employer's staff.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pikepdf
from PIL import Image, ImageOps, UnidentifiedImageError
from werkzeug.datastructures import FileStorage

from grievance.i18n import lazy_gettext as _l

MAX_FILES = 5
MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000  # refuses decompression bombs

SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
)


class UploadError(ValueError):
    """A file cannot be accepted; the message is translated for the worker."""


@dataclass(frozen=True)
class CleanFile:
    filename: str
    content_type: str
    data: bytes


def sniff(data: bytes) -> str | None:
    for magic, content_type in SIGNATURES:
        if data.startswith(magic):
            return content_type
    return None


def _clean_image(data: bytes, content_type: str) -> bytes:
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with Image.open(io.BytesIO(data)) as img:
            expected = "JPEG" if content_type == "image/jpeg" else "PNG"
            if img.format != expected:
                raise UploadError(_l("This file is damaged or not a photo."))
            img.load()
            # Keep the photo upright, then drop every metadata block.
            clean = ImageOps.exif_transpose(img) or img.copy()
            # Pillow writes metadata only when asked to in save(); emptying
            # `info` as well keeps a later change from carrying it over.
            clean.info = {}
            out = io.BytesIO()
            if expected == "JPEG":
                clean.convert("RGB").save(out, "JPEG", quality=88, optimize=True)
            else:
                clean.save(out, "PNG", optimize=True)
            return out.getvalue()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, ValueError) as exc:
        if isinstance(exc, UploadError):
            raise
        raise UploadError(_l("This file is damaged or not a photo.")) from None


# Keys that hold metadata or an application's private data, wherever they sit
# (the catalog, pages, images, fonts).
PDF_METADATA_KEYS = ("/Metadata", "/PieceInfo")


def _clean_pdf(data: bytes) -> bytes:
    """The PDF written anew: no document information, no XMP, no private
    application data, no earlier revisions, no encryption, a new identifier."""
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            if "/Info" in pdf.trailer:
                del pdf.trailer["/Info"]
            for obj in pdf.objects:
                if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
                    for key in PDF_METADATA_KEYS:
                        if key in obj:
                            del obj[key]
            out = io.BytesIO()
            # A full rewrite keeps no incremental update; the identifier is
            # derived from the new content instead of the original's.
            pdf.save(out, deterministic_id=True, encryption=False)
            return out.getvalue()
    except (pikepdf.PdfError, pikepdf.PasswordError, ValueError, OSError):
        raise UploadError(
            _l("This PDF cannot be opened. Please send a photo of the page instead.")
        ) from None


def _safe_name(name: str | None, content_type: str) -> str:
    base = (name or "file").replace("\\", "/").rsplit("/", 1)[-1][:80] or "file"
    ext = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}[content_type]
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return (stem or "file") + ext


def check_count(count: int) -> None:
    """At most MAX_FILES files to one report or message."""
    if count > MAX_FILES:
        raise UploadError(_l("Please choose at most 5 files."))


def clean_uploads(files: list[FileStorage], already: int = 0) -> list[CleanFile]:
    """Validate and clean the chosen files, with `already` kept ones counting
    towards the limit; raise UploadError on the first bad one."""
    chosen = [f for f in files if f and f.filename]
    check_count(already + len(chosen))
    return [clean_bytes(upload.stream.read(MAX_BYTES + 1), upload.filename) for upload in chosen]


def clean_bytes(data: bytes, name: str | None) -> CleanFile:
    """One file, by its content: a photo or PDF written anew without metadata."""
    if len(data) > MAX_BYTES:
        raise UploadError(_l("Each file must be smaller than 10 MB."))
    content_type = sniff(data)
    if content_type is None:
        raise UploadError(_l("Please send photos (JPEG or PNG) or PDF files only."))
    if content_type.startswith("image/"):
        data = _clean_image(data, content_type)
    else:
        data = _clean_pdf(data)
    return CleanFile(_safe_name(name, content_type), content_type, data)
