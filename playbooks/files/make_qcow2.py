#!/usr/bin/env python3
"""Write a small, valid, empty qcow2 (version 2) image: the test image of playbooks/verify.yml.

No qemu-img needed. The layout is the one qemu-img itself writes for an empty image with
64 KiB clusters: header in cluster 0, the L1 table in cluster 1, the refcount table in
cluster 2 and its one refcount block in cluster 3 (clusters 0-3 in use). No backing file,
no encryption, no snapshots, so a format inspector accepts it as plain qcow2.

usage: make_qcow2.py PATH [VIRTUAL_SIZE_MIB]
"""

import struct
import sys

CLUSTER_BITS = 16
CLUSTER = 1 << CLUSTER_BITS


def qcow2_image(virtual_size: int) -> bytes:
    l2_entries = CLUSTER // 8
    l1_size = -(-virtual_size // (CLUSTER * l2_entries))
    header = struct.pack(
        ">4sIQIIQIIQQIIQ",
        b"QFI\xfb",  # magic
        2,  # version
        0,  # backing_file_offset
        0,  # backing_file_size
        CLUSTER_BITS,
        virtual_size,
        0,  # crypt_method
        l1_size,
        1 * CLUSTER,  # l1_table_offset
        2 * CLUSTER,  # refcount_table_offset
        1,  # refcount_table_clusters
        0,  # nb_snapshots
        0,  # snapshots_offset
    )
    clusters = [bytearray(CLUSTER) for _ in range(4)]
    clusters[0][: len(header)] = header
    # Refcount table: one entry pointing at the refcount block in cluster 3.
    clusters[2][:8] = struct.pack(">Q", 3 * CLUSTER)
    # Refcount block (16-bit refcounts): clusters 0, 1, 2 and 3 are used once each.
    for index in range(4):
        clusters[3][index * 2 : index * 2 + 2] = struct.pack(">H", 1)
    return b"".join(bytes(c) for c in clusters)


def main() -> None:
    path = sys.argv[1]
    size_mib = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    with open(path, "wb") as out:
        out.write(qcow2_image(size_mib * 1024 * 1024))


if __name__ == "__main__":
    main()
