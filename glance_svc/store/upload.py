"""Streaming image data into a store: size caps, md5 and the multihash, no buffering.

(Being implemented; the options below are final.)
"""

from __future__ import annotations

from oslo_config import cfg

upload_opts = [
    cfg.StrOpt("hashing_algorithm", default="sha512",
               help="hashlib algorithm for os_hash_value (the multihash)."),
]


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(None, upload_opts)]
