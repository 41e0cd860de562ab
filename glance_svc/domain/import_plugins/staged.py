"""The staged data an import plugin works on (beside the image record it may change)."""

from __future__ import annotations

import dataclasses
import os

from glance_svc import errors
from glance_svc.store.filestore import remove_quietly


@dataclasses.dataclass
class StagedImport:
    """The staged file of one import and what a plugin needs to know to change it.

    ``path`` is the staged file, which a plugin may replace (same path). ``caller_roles``
    are the importing user's roles. ``max_size`` is the most bytes a plugin may write
    (the size cap and what is left of the owner's storage quota): a plugin that expands
    data stops there, so a small bomb cannot fill the staging disk.
    """

    path: str
    caller_roles: list[str]
    max_size: int

    def scratch(self, suffix: str) -> str:
        """A path beside the staged file for a plugin's output (removed if left over)."""
        path = f"{self.path}.{suffix}"
        remove_quietly(path)
        return path

    def replace_with(self, path: str) -> int:
        """Make ``path`` the staged data; return its size."""
        os.replace(path, self.path)
        return os.path.getsize(self.path)

    def too_big(self, size: int) -> errors.LimitExceeded:
        return errors.LimitExceeded(
            f"Image data of {size} bytes after processing exceeds the {self.max_size} "
            "bytes allowed (image_size_cap or storage quota)")
