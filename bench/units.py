"""The units every benchmark prints in: MB are 10^6 bytes (as disks and networks count), MiB
2^20 (as memory and image sizes are given)."""

MB = 1_000_000
MIB = 1 << 20
