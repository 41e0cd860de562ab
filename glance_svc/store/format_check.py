"""Disk format inspection with oslo.utils' format inspector (spec §3.6).

Image data is inspected while it streams (never re-read): the inspector keeps only the
few header regions each format needs. At the end the verdict follows Glance 33:

- only ``container_format = bare`` images are inspected;
- the detected format must equal ``disk_format`` (``require_image_format_match``), except
  that ``raw`` accepts any content and a non-inspectable ``disk_format`` (ami, ari, aki,
  ploop) accepts content that looks raw;
- whatever format was detected must pass its safety checks: a qcow2 with a backing file
  or an external data file, or a vmdk whose create-type is not in ``vmdk_allowed_types``,
  is refused even when declared ``raw``, because a hypervisor that probes the format
  would follow those references on the host;
- ``virtual_size`` comes from the matching inspector (raw: the byte count).

Refusals are 415 ``UnsupportedMediaType``, as Glance answers ``InvalidImageData`` on upload.
When ``require_image_format_match`` is set and ``disk_format`` is itself inspectable, a
mismatch is reported as soon as the header has been read instead of after the whole
stream (Glance reads everything first; the answer is the same, minus the wasted transfer).
"""

from __future__ import annotations

import logging

from oslo_config import cfg
from oslo_utils.imageutils import format_inspector as fi

from glance_svc import errors

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


class _Feed:
    """The one-chunk source InspectWrapper reads from: we push, it pulls."""

    def __init__(self) -> None:
        self.chunk: bytes | memoryview = b""

    def read(self, size: int) -> bytes | memoryview:
        chunk, self.chunk = self.chunk, b""
        return chunk


class FormatInspection:
    """Inspect one stream for one image; ``feed`` every chunk, then ask ``verdict``."""

    def __init__(self, conf: cfg.ConfigOpts, disk_format: str | None,
                 container_format: str | None) -> None:
        self.conf = conf.image_format
        self.disk_format = disk_format
        self.active = container_format == "bare"
        self._feed = _Feed()
        expected = None
        if (self.active and self.conf.require_image_format_match
                and disk_format in fi.ALL_FORMATS and disk_format != "raw"):
            expected = disk_format
        self._wrapper = fi.InspectWrapper(self._feed, expected_format=expected) \
            if self.active else None
        self.size = 0

    def feed(self, chunk: bytes | memoryview) -> None:
        """Show the inspectors the next chunk; 415 at once if the header cannot match."""
        self.size += len(chunk)
        if self._wrapper is None or not chunk:
            return
        self._feed.chunk = chunk
        try:
            self._wrapper.read(len(chunk))
        except fi.ImageFormatError as exc:
            raise errors.UnsupportedMediaType(
                f"Image disk_format {self.disk_format} does not match the uploaded data: "
                f"{exc}") from exc
        except Exception as exc:  # only the expected format's inspector may raise here
            LOG.warning("Inspector for %s failed on the stream: %s", self.disk_format, exc)
            raise errors.UnsupportedMediaType(
                f"Image disk_format {self.disk_format} does not match the uploaded data"
            ) from exc

    def verdict(self) -> int | None:
        """The virtual size to record (None if unknown); 415 if the data is refused.

        A zero-byte image has no content to inspect and no content to fear, so it is
        accepted whatever its disk_format (Nova activates empty raw/bare snapshots).
        """
        if self._wrapper is None:
            return None
        self._wrapper.close()
        if self.size == 0:
            return None
        require = self.conf.require_image_format_match
        try:
            inspector = self._detected()
            detected = str(inspector)
            virtual_size = 0
            if detected == self.disk_format:
                virtual_size = inspector.virtual_size
            elif detected == "raw" and self.disk_format not in fi.ALL_FORMATS:
                LOG.info("disk_format %s is not inspectable; accepted as raw data",
                         self.disk_format)
            elif self.disk_format == "raw":
                LOG.warning("Image declared raw holds %s data", detected)
                virtual_size = inspector.actual_size
            else:
                raise fi.ImageFormatError(
                    f"Image disk_format {self.disk_format} does not match stream data "
                    f"{detected}")
            self._safety_check(inspector)
        except fi.ImageFormatError as exc:
            if require:
                raise errors.UnsupportedMediaType(str(exc)) from exc
            LOG.warning("Image format %s did not match (%s); virtual size unknown",
                        self.disk_format, exc)
            return None
        except fi.SafetyCheckFailed as exc:
            LOG.warning("Image refused: %s", exc)
            raise errors.UnsupportedMediaType(
                f"{FAILED_SAFETY}: {', '.join(sorted(exc.failures))}") from exc
        except errors.GlanceError:
            raise
        except Exception as exc:  # an inspector bug must not let unknown data through
            LOG.exception("Unable to determine the stream format")
            if require:
                raise errors.UnsupportedMediaType("Image format inspection failed") from exc
            return None
        return virtual_size or None

    def _detected(self) -> fi.FileInspector:
        assert self._wrapper is not None
        matches = self._wrapper.formats or []
        by_name = {str(i): i for i in matches}
        if by_name.keys() == {"iso", "gpt"}:
            # A bootable ISO legitimately carries a GPT boot loader in front.
            return by_name["iso"]
        inspector = self._wrapper.format
        if inspector is None:
            raise fi.ImageFormatError("Content does not match any allowed format")
        return inspector

    def _safety_check(self, inspector: fi.FileInspector) -> None:
        inspector.safety_check()
        if str(inspector) == "vmdk":
            allowed = {t.lower() for t in self.conf.vmdk_allowed_types}
            kind = getattr(inspector, "vmdktype", "formatnotfound")
            if kind not in allowed:
                LOG.warning("VMDK create-type %s is not in vmdk_allowed_types", kind)
                raise fi.SafetyCheckFailed(
                    {"vmdk_allowed_types": fi.SafetyViolation(f"create-type {kind}")})
