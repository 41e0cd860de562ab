"""Work an API worker carries on after answering: imports and location hashing.

One pool per process, shared by the data service (hashing a location added by URL) and
the import service (the import itself), so neither has to own the other to reach it.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Callable
from typing import Any

LOG = logging.getLogger(__name__)

TASK_THREADS = 8


class BackgroundTasks:
    """A small thread pool whose tasks' errors are logged, never lost."""

    def __init__(self, threads: int = TASK_THREADS) -> None:
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix="glance-import")

    def submit(self, fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future[Any]:
        """Run ``fn(*args)`` on a task thread; its errors are logged, never lost."""
        def run() -> Any:
            try:
                return fn(*args)
            except Exception:
                LOG.exception("Background task %s failed", getattr(fn, "__name__", fn))
                raise
        return self._executor.submit(run)
