"""What may be stored, decided from the bytes: the file's type from its first bytes (never its
name or the browser's word), images re-encoded without their metadata (EXIF, GPS, XMP, ICC
comments), and file names cleaned for a download header.

Images are decoded, so their size in pixels is capped (a small file can decode to gigabytes);
PDFs are stored as sent, and only ever served as attachments (never shown in the browser).
"""

from __future__ import annotations

import re
import tempfile
import unicodedata
import warnings
from dataclasses import dataclass
from typing import IO, BinaryIO
from urllib.parse import quote

from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError

#: Larger images are refused: 50 megapixels is a 50 MB phone photo's worth, and decodes to
#: about 150 MB; Pillow's own bomb check (twice its limit) stays as a second line.
MAX_IMAGE_PIXELS = 50_000_000
PREVIEW_PIXELS = 1024
SPOOL_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class FileType:
    code: str
    content_type: str
    extension: str
    image_format: str | None  # Pillow's format of the re-encoded file, None: stored as sent


PDF = FileType("pdf", "application/pdf", "pdf", None)
JPEG = FileType("jpeg", "image/jpeg", "jpg", "JPEG")
PNG = FileType("png", "image/png", "png", "PNG")
#: TIFF and WebP scans are accepted and stored as PNG (one fewer decoder on the way out).
TYPES_BY_CONTENT_TYPE = {t.content_type: t for t in (PDF, JPEG, PNG)}


class Refused(ValueError):
    """The file may not be stored; ``str()`` is a message for the user."""


NOT_ALLOWED = _l(
    "This file type cannot be stored. Upload a PDF, or a JPEG, PNG, TIFF or WebP image "
    "(programs, office files and archives are refused, whatever their name)."
)
EMPTY = _l("The file is empty.")
UNREADABLE_IMAGE = _l("This image cannot be read: it is damaged, or not the kind of image its content claims.")
IMAGE_TOO_LARGE = _l("This image is too large in pixels (at most %(mp)d megapixels). Scan it at a lower resolution.")


def sniff(head: bytes) -> FileType | None:
    """The type the first bytes announce (PDF, JPEG, PNG; TIFF and WebP become PNG), or None."""
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return PNG  # TIFF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return PNG  # WebP
    return None


def checked(source: BinaryIO) -> tuple[FileType, BinaryIO]:
    """The file's type and a stream of what is stored: the file itself (a PDF), or a re-encoded
    copy without metadata (an image), spooled to disk past 1 MB. Raises :class:`Refused`."""
    head = source.read(16)
    source.seek(0)
    if not head:
        raise Refused(str(EMPTY))
    kind = sniff(head)
    if kind is None:
        raise Refused(str(NOT_ALLOWED))
    if kind.image_format is None:
        return kind, source
    return kind, reencode(source, kind)


def _open_image(source: BinaryIO, draft: int | None = None) -> Image.Image:
    """The decoded image (``draft``: a JPEG may be decoded at a reduced scale not below it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(source)
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise Refused(str(IMAGE_TOO_LARGE) % {"mp": MAX_IMAGE_PIXELS // 1_000_000})
            if draft is not None and image.format == "JPEG":
                image.draft("RGB", (draft, draft))
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise Refused(str(IMAGE_TOO_LARGE) % {"mp": MAX_IMAGE_PIXELS // 1_000_000}) from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
            raise Refused(str(UNREADABLE_IMAGE)) from None
    return image


def reencode(source: BinaryIO, kind: FileType) -> BinaryIO:
    """A new file holding only the pixels: upright (EXIF orientation applied), no EXIF (GPS
    included), XMP, comments or embedded profiles. Raises :class:`Refused`."""
    image = _open_image(source)
    try:
        image = ImageOps.exif_transpose(image)
    except (OSError, ValueError, SyntaxError):
        raise Refused(str(UNREADABLE_IMAGE)) from None
    out: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    clean = _pixels_only(image, kind)
    if kind.image_format == "JPEG":
        clean.save(out, format="JPEG", quality=90, optimize=True)
    else:
        clean.save(out, format="PNG", optimize=False)
    out.seek(0)
    return out  # type: ignore[return-value]


def _pixels_only(image: Image.Image, kind: FileType) -> Image.Image:
    """A copy carrying no ``info`` (where Pillow keeps EXIF, XMP, comments, ICC) in a mode the
    target format writes."""
    if kind.image_format == "JPEG":
        mode = "L" if image.mode in ("1", "L", "I;16", "I") else "RGB"
    else:
        mode = image.mode if image.mode in ("1", "L", "LA", "RGB", "RGBA") else "RGBA"
    clean = Image.new(mode, image.size)
    clean.paste(image.convert(mode))
    return clean


def preview(source: BinaryIO) -> bytes:
    """A downscaled PNG of an image (the stored file, already clean). Raises :class:`Refused`."""
    image = _open_image(source, draft=PREVIEW_PIXELS)
    image.thumbnail((PREVIEW_PIXELS, PREVIEW_PIXELS))
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    _pixels_only(image, PNG).save(out, format="PNG")
    out.seek(0)
    return out.read()


def human_size(size: int) -> str:
    """``25 MB``, ``1.5 MB``, ``200 KB``: a size limit as people read it."""
    if size >= 1024 * 1024:
        megabytes = size / (1024 * 1024)
        return f"{megabytes:.0f} MB" if megabytes >= 10 or megabytes.is_integer() else f"{megabytes:.1f} MB"
    return f"{max(1, size // 1024)} KB"


# -- names --------------------------------------------------------------------------------------
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_CONTROL_OR_SEPARATOR = re.compile(r"[\x00-\x1f\x7f/\\\"<>:|?*]")


def clean_name(name: str | None) -> str:
    """The uploaded file's name as stored (encrypted): its last path part, no control
    characters, at most 200 characters; "" when nothing is left."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _CONTROL_OR_SEPARATOR.sub("", unicodedata.normalize("NFC", name)).strip(" .")
    return name[:200]


def download_names(name: str | None, kind: FileType) -> tuple[str, str]:
    """(ASCII name, UTF-8 name) for a download, each ending in the extension of the type the
    content was found to be (a stored PDF is never served as ``.exe``)."""
    stem = clean_name(name).rsplit(".", 1)[0] or "document"
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    ascii_stem = _UNSAFE.sub("_", ascii_stem).strip("._-")[:80] or "document"
    return f"{ascii_stem}.{kind.extension}", f"{stem[:120]}.{kind.extension}"


def content_disposition(name: str | None, kind: FileType, disposition: str = "attachment") -> str:
    """``attachment; filename="<ascii>"; filename*=UTF-8''<percent-encoded>`` (RFC 6266)."""
    ascii_name, unicode_name = download_names(name, kind)
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(unicode_name, safe='')}"
