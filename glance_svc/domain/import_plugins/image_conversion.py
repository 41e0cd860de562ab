"""The ``image_conversion`` import plugin: turn staged data into one disk format.

Operators whose compute nodes want one format (raw for Ceph-backed Nova) set
``[image_conversion] output_format``; every imported image is then stored in it (spec
part 2, §6.2). The data is first checked the same way an upload is (detected format
equals ``disk_format``, safety checks) and then asked of ``qemu-img info``, because it is
qemu that will parse it: a backing file, an external data file or a VMDK create-type the
operator did not allow fails the import before ``qemu-img convert`` ever opens it.

qemu-img runs through oslo.concurrency's ``processutils`` under resource limits (as
Glance does), so a crafted header cannot make it eat the API host's memory; conversion
to raw is refused up front when the virtual size exceeds what the image may occupy.
An ISO declared ``iso`` is left alone: converting it would break it as a boot medium.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from oslo_concurrency import processutils
from oslo_config import cfg
from oslo_utils.imageutils import format_inspector as fi

from glance_svc import errors
from glance_svc.domain.import_plugins.staged import StagedImport
from glance_svc.store.filestore import remove_quietly
from glance_svc.store.format_check import check_safety

if TYPE_CHECKING:
    from glance_svc.domain.image import Image

LOG = logging.getLogger(__name__)

OUTPUT_FORMATS = ("qcow2", "raw", "vmdk")

conversion_opts = [
    cfg.StrOpt("output_format", default="raw", choices=OUTPUT_FORMATS,
               help="Disk format the image_conversion import plugin converts data to."),
]


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [("image_conversion", conversion_opts)]


# Glance's limits for qemu-img info on untrusted data. Conversion of a large image may
# legitimately take long, so it gets no CPU limit, only the memory cap.
INFO_LIMITS = processutils.ProcessLimits(cpu_time=30, address_space=1024 ** 3)
CONVERT_LIMITS = processutils.ProcessLimits(address_space=2 * 1024 ** 3)
_QEMU_ENV = {"LC_ALL": "C", "LANG": "C"}


class ImageConversion:
    """Convert the staged data to ``[image_conversion] output_format``."""

    name = "image_conversion"

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.conf = conf

    def apply(self, image: Image, staged: StagedImport) -> None:
        declared = image.disk_format or ""
        output = self.conf.image_conversion.output_format
        detected = self._detect(staged.path)
        if detected == "iso":
            if declared == "iso":
                LOG.info("Image %s is an ISO: not converted", image.id)
                return
            raise errors.UnsupportedMediaType(
                f"Image is an ISO but its disk_format is {declared}")
        if detected != declared:
            raise errors.UnsupportedMediaType(
                f"Image disk_format {declared} does not match the data ({detected})")
        info = self._qemu_info(staged.path, declared)
        virtual_size = int(info.get("virtual-size") or 0)
        image.virtual_size = virtual_size or image.virtual_size
        if declared == output:
            return
        if output == "raw" and virtual_size > staged.max_size:
            raise staged.too_big(virtual_size)
        target = staged.scratch(output)
        try:
            _qemu("convert", "-f", declared, "-O", output, staged.path, target,
                  limits=CONVERT_LIMITS)
            converted = self._detect(target)
            if converted != output:
                raise errors.UnsupportedMediaType(
                    f"qemu-img produced {converted} data instead of {output}")
            image.size = staged.replace_with(target)
        finally:
            remove_quietly(target)
        LOG.info("Image %s converted from %s to %s (%d bytes)", image.id, declared, output,
                 image.size)
        image.disk_format = output
        image.container_format = "bare"

    def _detect(self, path: str) -> str:
        """The format the inspector sees in ``path`` (GPT counts as raw); unsafe: refused."""
        try:
            inspector = fi.detect_file_format(path)
            check_safety(inspector, self.conf.image_format)
        except fi.SafetyCheckFailed as exc:
            raise errors.UnsupportedMediaType(
                f"Image failed safety checks: {', '.join(sorted(exc.failures))}") from exc
        except fi.ImageFormatError as exc:
            raise errors.UnsupportedMediaType(f"Image format not recognised: {exc}") from exc
        detected = str(inspector)
        return "raw" if detected == "gpt" else detected

    def _qemu_info(self, path: str, declared: str) -> dict[str, Any]:
        """What qemu-img, told the declared format, reports; refusals for unsafe data."""
        out = _qemu("info", "-f", declared, "--output=json", path, limits=INFO_LIMITS)
        try:
            info: dict[str, Any] = json.loads(out)
        except ValueError as exc:
            raise errors.UnsupportedMediaType("qemu-img info gave no JSON") from exc
        if info.get("format") != declared:
            raise errors.UnsupportedMediaType(
                f"qemu-img sees {info.get('format')} data, not {declared}")
        if info.get("backing-filename"):
            raise errors.UnsupportedMediaType("QCOW images with backing files are not "
                                              "allowed")
        specific = (info.get("format-specific") or {}).get("data") or {}
        if declared == "qcow2" and specific.get("data-file"):
            raise errors.UnsupportedMediaType("QCOW images with data-file set are not "
                                              "allowed")
        if declared == "vmdk":
            allowed = self.conf.image_format.vmdk_allowed_types
            if specific.get("create-type") not in allowed:
                raise errors.UnsupportedMediaType(
                    f"Invalid VMDK create-type specified: {specific.get('create-type')}")
        return info


def _qemu(*args: str, limits: processutils.ProcessLimits) -> str:
    """Run qemu-img with ``args``; its stderr becomes the error text on failure."""
    try:
        out, _err = processutils.execute("qemu-img", *args, prlimit=limits,
                                         env_variables=_QEMU_ENV)
    except processutils.ProcessExecutionError as exc:
        LOG.warning("qemu-img %s failed: %s", args[0], exc.stderr)
        raise errors.UnsupportedMediaType(
            f"qemu-img {args[0]} failed: {(exc.stderr or '').strip()}") from exc
    except OSError as exc:  # qemu-img not installed
        raise errors.ServiceUnavailable(f"Unable to run qemu-img: {exc}") from exc
    return str(out)
