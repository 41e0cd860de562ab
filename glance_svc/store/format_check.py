"""Disk format inspection with oslo.utils' format inspector (spec §3.6).

Image data is inspected while it streams (never re-read): the inspector keeps only the
few header regions each format needs. Whatever ``container_format`` the image declares,
its bytes are inspected, because consumers probe what they boot and would follow a
backing file or an extent to the host:

- containers that do not wrap the bytes (``bare``, ``ovf``, ``ami``, ``ari``, ``aki``,
  ``compressed``) are inspected as the disk they carry. The detected format must equal
  ``disk_format`` (``require_image_format_match``), except that ``raw`` accepts any
  content, a non-inspectable ``disk_format`` (ami, ari, aki, ploop) accepts content that
  looks raw, and so does ``compressed`` (compressed bytes are opaque: we do not unpack);
- the tar containers (``ova``, ``docker``) are followed member by member
  (``tar_stream``) and every member is inspected as a disk of its own; the stream as a
  whole is inspected too, as a tar header can double as another format's header. Data
  that is not a tar at all is accepted if it passes the safety checks: Glance does not
  validate docker archives and looks inside an ova only on import;
- whatever format was detected must pass its safety checks, even when declared ``raw``
  and even when a mismatch is tolerated: a qcow2 with a backing file or an external data
  file, a VMDK whose create-type is not in ``vmdk_allowed_types`` or whose extents lie
  outside the file (every text descriptor), anything oslo.utils' checks refuse;
- ``virtual_size`` comes from the matching inspector (raw: the byte count).

Refusals are 415 ``UnsupportedMediaType``, as Glance answers ``InvalidImageData`` on upload.
When ``require_image_format_match`` is set and ``disk_format`` is itself inspectable, a
mismatch is reported as soon as the header has been read instead of after the whole
stream (Glance reads everything first; the answer is the same, minus the wasted transfer).
"""

from __future__ import annotations

import logging
import re

from oslo_config import cfg
from oslo_utils.imageutils import format_inspector as fi

from glance_svc import errors
from glance_svc.store.tar_stream import TarFormatError, TarStream

LOG = logging.getLogger(__name__)

DISK_FORMATS = ["ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso",
                "ploop"]
CONTAINER_FORMATS = ["ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"]

image_format_opts = [
    cfg.ListOpt("disk_formats", default=DISK_FORMATS,
                help="Disk formats an image may declare."),
    cfg.ListOpt("container_formats", default=CONTAINER_FORMATS,
                help="Container formats an image may declare."),
    cfg.ListOpt("vmdk_allowed_types", default=["streamOptimized", "monolithicSparse"],
                help="VMDK create-types accepted; others are refused as unsafe."),
    cfg.BoolOpt("require_image_format_match", default=True,
                help="Refuse (415) uploads whose detected format differs from disk_format."),
]


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [("image_format", image_format_opts)]


FAILED_SAFETY = "Image failed safety checks"
INSPECTION_FAILED = "Image format inspection failed"
TAR_CONTAINERS = frozenset({"ova", "docker"})
# Containers whose bytes are a compressed disk: they look raw to the inspector.
OPAQUE_CONTAINERS = frozenset({"compressed"})
# qemu reads at most this much of a text VMDK descriptor; so does the inspector.
HEAD_SIZE = fi.VMDKInspector.DESC_MAX_SIZE
_NOT_TEXT = re.compile(rb"[^\t\n\v\f\r\x20-\x7e]")
# Extent types that keep a hosted sparse VMDK's data inside its own file.
_SELF_CONTAINED_EXTENTS = frozenset({"sparse", "zero"})


class _Feed:
    """The one-chunk source InspectWrapper reads from: we push, it pulls."""

    def __init__(self) -> None:
        self.chunk: bytes | memoryview = b""

    def read(self, size: int) -> bytes | memoryview:
        chunk, self.chunk = self.chunk, b""
        return chunk


class DiskStream:
    """Format detection over one byte stream: the image itself, or one archive member.

    The VMDK inspector reads a text descriptor from the first chunk it is shown (its
    region completes after 4 bytes), so a descriptor sent in small pieces would pass as
    raw. While the data is still text it is therefore held back, up to the 1 MiB qemu
    reads of a descriptor, and shown in one piece; binary data goes straight through, so
    an expected format's mismatch is still seen on the first chunk.
    """

    def __init__(self, expected_format: str | None = None) -> None:
        self._feed = _Feed()
        self._wrapper = fi.InspectWrapper(self._feed, expected_format=expected_format)
        self._head: bytearray | None = bytearray()
        self.size = 0

    def feed(self, chunk: bytes | memoryview) -> None:
        """Show the inspectors the next chunk (fi.ImageFormatError on an early mismatch)."""
        self.size += len(chunk)
        if self._head is not None:
            text = _NOT_TEXT.search(chunk) is None
            if text or self._head:
                self._head += chunk
                if text and len(self._head) < HEAD_SIZE:
                    return
                chunk = bytes(self._head)
            self._head = None
        self._show(chunk)

    def _show(self, chunk: bytes | memoryview) -> None:
        self._feed.chunk = chunk
        self._wrapper.read(len(chunk))

    def close(self) -> fi.FileInspector | None:
        """The detected format's inspector, None for no data; ImageFormatError if unclear."""
        if self._head:
            self._show(bytes(self._head))
        self._head = None
        self._wrapper.close()
        if self.size == 0:
            return None
        for inspector in getattr(self._wrapper, "_inspectors", ()):
            if isinstance(inspector, fi.VMDKInspector) and not hasattr(inspector, "vmdktype"):
                # oslo.utils leaves this unset for a text head that is not ASCII, and its
                # format_match then raises AttributeError: such data is not a descriptor.
                inspector.vmdktype = "formatnotfound"
        matches = self._wrapper.formats or []
        by_name = {str(i): i for i in matches}
        if by_name.keys() == {"iso", "gpt"}:
            # A bootable ISO legitimately carries a GPT boot loader in front.
            return by_name["iso"]
        inspector = self._wrapper.format
        if inspector is None:
            raise fi.ImageFormatError("Content does not match any allowed format")
        return inspector


def check_safety(inspector: fi.FileInspector, conf: cfg.ConfigOpts) -> None:
    """fi.SafetyCheckFailed if a consumer probing this data could be led off it.

    ``conf`` is the ``[image_format]`` group.
    """
    try:
        inspector.safety_check()
    except fi.ImageFormatError as exc:  # a header too damaged to check is not safe
        raise fi.SafetyCheckFailed({"format": fi.SafetyViolation(str(exc))}) from exc
    if str(inspector) != "vmdk":
        return
    failures: dict[str, fi.SafetyViolation] = {}
    allowed = {t.lower() for t in conf.vmdk_allowed_types}
    kind = getattr(inspector, "vmdktype", "formatnotfound")
    if kind not in allowed:
        LOG.warning("VMDK create-type %s is not in vmdk_allowed_types", kind)
        failures["vmdk_allowed_types"] = fi.SafetyViolation(f"create-type {kind}")
    if not _vmdk_self_contained(inspector):
        failures["vmdk_extents"] = fi.SafetyViolation("extents outside the file")
    if failures:
        raise fi.SafetyCheckFailed(failures)


def _vmdk_self_contained(inspector: fi.FileInspector) -> bool:
    """Whether every extent of the VMDK is the file itself.

    A text descriptor (no sparse header) holds no data: all its extents are other files.
    A hosted sparse one may still name a flat extent, which a reader would open.
    """
    if not inspector.has_region("header"):
        return False
    for line in (inspector.desc_text or "").splitlines():
        words = line.split()
        if len(words) >= 3 and words[0] in ("rw", "rdonly", "noaccess") and (
                words[2] not in _SELF_CONTAINED_EXTENTS):
            return False
    return True


def _refusal(exc: fi.SafetyCheckFailed) -> errors.UnsupportedMediaType:
    return errors.UnsupportedMediaType(
        f"{FAILED_SAFETY}: {', '.join(sorted(exc.failures))}")


class _ArchiveInspection:
    """An ova/docker tar archive: each member inspected as a disk of its own.

    The sink of ``TarStream``; a member is judged as soon as its content has passed, so
    an unsafe one stops the upload there. Memory: one member's inspectors at a time.
    """

    def __init__(self, conf: cfg.ConfigOpts, container_format: str) -> None:
        self.conf = conf
        self.container_format = container_format
        self._parser = TarStream(self)
        self._member = DiskStream()
        self._name = ""

    def feed(self, chunk: bytes | memoryview) -> None:
        try:
            self._parser.feed(chunk)
        except TarFormatError as exc:
            raise self._invalid(exc) from exc

    def close(self) -> None:
        try:
            self._parser.close()
        except TarFormatError as exc:
            raise self._invalid(exc) from exc

    def _invalid(self, exc: TarFormatError) -> errors.UnsupportedMediaType:
        LOG.warning("Refused %s archive: %s", self.container_format, exc)
        return errors.UnsupportedMediaType(
            f"Image data is not a valid {self.container_format} archive: {exc}")

    # -- MemberSink ------------------------------------------------------------------------
    def start(self, name: str) -> None:
        self._member = DiskStream()
        self._name = name

    def data(self, chunk: memoryview) -> None:
        self._member.feed(chunk)

    def end(self) -> None:
        try:
            inspector = self._member.close()
            if inspector is not None:
                check_safety(inspector, self.conf)
        except fi.ImageFormatError as exc:
            LOG.warning("Archive member %r refused: %s", self._name, exc)
            raise errors.UnsupportedMediaType(f"{FAILED_SAFETY}: {exc}") from exc
        except fi.SafetyCheckFailed as exc:
            LOG.warning("Archive member %r refused: %s", self._name, exc)
            raise _refusal(exc) from exc
        except Exception as exc:  # an inspector bug must not let unknown data through
            LOG.exception("Unable to inspect archive member %r", self._name)
            raise errors.UnsupportedMediaType(INSPECTION_FAILED) from exc


class FormatInspection:
    """Inspect one stream for one image; ``feed`` every chunk, then ask ``verdict``."""

    def __init__(self, conf: cfg.ConfigOpts, disk_format: str | None,
                 container_format: str | None) -> None:
        self.conf = conf.image_format
        self.disk_format = disk_format
        self.container_format = container_format
        self._archive = _ArchiveInspection(self.conf, container_format) \
            if container_format in TAR_CONTAINERS else None
        expected = None
        if (self._archive is None and container_format not in OPAQUE_CONTAINERS
                and self.conf.require_image_format_match
                and disk_format in fi.ALL_FORMATS and disk_format != "raw"):
            expected = disk_format
        self._disk = DiskStream(expected)

    def feed(self, chunk: bytes | memoryview) -> None:
        """Show the inspectors the next chunk; 415 at once if the data is refused."""
        if not chunk:
            return
        try:
            self._disk.feed(chunk)
        except fi.ImageFormatError as exc:
            raise errors.UnsupportedMediaType(
                f"Image disk_format {self.disk_format} does not match the uploaded data: "
                f"{exc}") from exc
        except Exception as exc:  # only the expected format's inspector may raise here
            LOG.warning("Inspector for %s failed on the stream: %s", self.disk_format, exc)
            raise errors.UnsupportedMediaType(
                f"Image disk_format {self.disk_format} does not match the uploaded data"
            ) from exc
        if self._archive is not None:
            self._archive.feed(chunk)

    def verdict(self) -> int | None:
        """The virtual size to record (None if unknown); 415 if the data is refused.

        A zero-byte image has no content to inspect and no content to fear, so it is
        accepted whatever its disk_format (Nova activates empty raw/bare snapshots).
        """
        if self._archive is not None:
            self._archive.close()
        require = self.conf.require_image_format_match
        try:
            inspector = self._disk.close()
            if inspector is None:
                return None
            mismatch = self._mismatch(inspector)
            if mismatch and require:
                raise fi.ImageFormatError(mismatch)
            check_safety(inspector, self.conf)
            if mismatch:
                LOG.warning("%s; virtual size unknown", mismatch)
                return None
            virtual_size = self._virtual_size(inspector)
        except fi.ImageFormatError as exc:
            if require:
                raise errors.UnsupportedMediaType(str(exc)) from exc
            LOG.warning("Image format %s did not match (%s); virtual size unknown",
                        self.disk_format, exc)
            return None
        except fi.SafetyCheckFailed as exc:
            LOG.warning("Image refused: %s", exc)
            raise _refusal(exc) from exc
        except errors.GlanceError:
            raise
        except Exception as exc:  # an inspector bug must not let unknown data through
            LOG.exception("Unable to determine the stream format")
            raise errors.UnsupportedMediaType(INSPECTION_FAILED) from exc
        return virtual_size or None

    def _mismatch(self, inspector: fi.FileInspector) -> str | None:
        """Why the detected format cannot be the declared one, or None if it can."""
        detected = str(inspector)
        if (self._archive is not None  # the disks are the members, in any format
                or detected == self.disk_format or self.disk_format == "raw"):
            return None
        if detected == "raw" and (self.disk_format not in fi.ALL_FORMATS
                                  or self.container_format in OPAQUE_CONTAINERS):
            LOG.info("%s data that looks raw accepted as %s", self.container_format,
                     self.disk_format)
            return None
        return f"Image disk_format {self.disk_format} does not match stream data {detected}"

    def _virtual_size(self, inspector: fi.FileInspector) -> int:
        """What the matching inspector measured (raw: the bytes); 0 when unknown."""
        detected = str(inspector)
        if self._archive is not None or (detected == "raw" and
                                         self.container_format in OPAQUE_CONTAINERS):
            return 0
        if detected == self.disk_format:
            return inspector.virtual_size
        if self.disk_format == "raw":
            LOG.warning("Image declared raw holds %s data", detected)
            return inspector.actual_size
        return 0
