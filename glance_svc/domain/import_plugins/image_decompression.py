"""The ``image_decompression`` import plugin: unpack gzip, zip or LHA data before storing.

Users upload compressed disks to save bandwidth; compute nodes need them unpacked. The
format is told by its magic bytes (spec part 2, §6.4); data whose container says
``compressed`` is left as the user declared it. Zip and LHA archives must hold exactly one
member. Formats are not checked here: list ``image_conversion`` after this plugin, and
the store upload inspects the result anyway.

Decompression streams into a file beside the staged one and stops the moment the output
passes ``StagedImport.max_size`` (the size cap and the owner's remaining quota), so a
few kilobytes of crafted archive cannot fill the staging disk.
"""

from __future__ import annotations

import gzip
import importlib
import logging
import zipfile
import zlib
from typing import IO, TYPE_CHECKING, Any

from oslo_config import cfg

from glance_svc import errors
from glance_svc.domain.import_plugins.staged import StagedImport
from glance_svc.store.filestore import remove_quietly

if TYPE_CHECKING:
    from glance_svc.domain.image import Image

LOG = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b\x08"
ZIP_MAGIC = b"PK\x03\x04"
LHA_MAGIC = b"-lh"  # at offset 2
CHUNK = 1024 * 1024


def detect(head: bytes) -> str | None:
    """``gzip``, ``zip``, ``lha`` or None, from the first bytes of the data."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZIP_MAGIC):
        return "zip"
    if head[2:5] == LHA_MAGIC:
        return "lha"
    return None


class ImageDecompression:
    """Replace compressed staged data by its content."""

    name = "image_decompression"

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        del conf  # no options of its own

    def apply(self, image: Image, staged: StagedImport) -> None:
        if image.container_format == "compressed":
            LOG.info("Image %s is declared compressed: kept as is", image.id)
            return
        with open(staged.path, "rb") as source:
            kind = detect(source.read(8))
        if kind is None:
            return
        target = staged.scratch("decompressed")
        try:
            with open(target, "wb") as out:
                if kind == "gzip":
                    with gzip.open(staged.path, "rb") as member:
                        _copy(member, out, staged)
                else:
                    _unpack_single(kind, staged, out)
            image.size = staged.replace_with(target)
        except (OSError, EOFError, zlib.error, zipfile.BadZipFile, NotImplementedError,
                RuntimeError) as exc:  # corrupt, unsupported method, encrypted member
            raise errors.UnsupportedMediaType(
                f"Unable to decompress {kind} image data: {exc}") from exc
        finally:
            remove_quietly(target)
        LOG.info("Image %s decompressed (%s) to %d bytes", image.id, kind, image.size)


def _unpack_single(kind: str, staged: StagedImport, out: IO[bytes]) -> None:
    """Copy the one member of a zip or LHA archive to ``out``."""
    archive = _open_archive(kind, staged.path)
    try:
        members = [m for m in archive.infolist() if not _is_dir(m)]
        if len(archive.infolist()) != 1 or len(members) != 1:
            raise errors.UnsupportedMediaType(
                f"A {kind} image archive must contain exactly one file, not "
                f"{len(archive.infolist())}")
        if kind == "zip":
            with archive.open(members[0]) as member:
                _copy(member, out, staged)
        else:  # lhafile reads a member whole: check its declared size first
            if members[0].file_size > staged.max_size:
                raise staged.too_big(members[0].file_size)
            out.write(archive.read(members[0].filename))
    finally:
        close = getattr(archive, "close", None)
        if close is not None:
            close()


def _open_archive(kind: str, path: str) -> Any:
    if kind == "zip":
        return zipfile.ZipFile(path)
    try:
        lhafile = importlib.import_module("lhafile")
    except ImportError:
        raise errors.UnsupportedMediaType(
            "LHA image data cannot be decompressed: the lhafile module is not "
            "installed") from None
    return lhafile.LhaFile(path)


def _is_dir(member: Any) -> bool:
    return str(getattr(member, "filename", "")).endswith("/")


def _copy(source: IO[bytes], out: IO[bytes], staged: StagedImport) -> None:
    """Copy in chunks, refusing as soon as the output passes ``staged.max_size``."""
    written = 0
    while chunk := source.read(CHUNK):
        written += len(chunk)
        if written > staged.max_size:
            raise staged.too_big(written)
        out.write(chunk)
