"""The image cache's rules: serve, fill, queue and prefetch, list, delete, clean, prune.

Facts from Glance 33 (spec part 2, §3). Design choices of ours:

- **Verified fills.** A download teed into the cache, and a prefetch, become a cached
  file only if their md5 equals the image's checksum; otherwise the file goes to
  ``invalid/`` and a tee raises after the last chunk, so the client sees a cut stream.
- **Served like the store.** A cached image goes out as a ``FileBody`` (sendfile), after
  the same visibility, deactivation and ``download_image`` checks as any download (the
  data service calls us only after them); ``Range`` requests never touch the cache.
- **Prefetch at once, in the API process.** ``PUT /v2/cache/{id}`` queues the image and
  hands it to the process's background pool, which caches it within a moment, as Glance
  33 does; no periodic prefetcher (Glance dropped it in Zed) and no separate
  ``glance-cache-prefetcher`` (deprecated there): a marker left by a failed fetch stays
  visible in ``queued_images`` and a new ``PUT`` retries it.
- **Shared knowledge through the repository.** What each node caches is recorded with the
  node's URL (``worker_self_reference_url``) in the image database, Glance's
  ``centralized_db`` driver, so it also works through glance-registry. The other drivers
  (``sqlite``, ``xattr``) are not implemented: the option refuses them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from oslo_config import cfg

from glance_svc import errors
from glance_svc.cache.files import CacheDir, CacheWriter
from glance_svc.domain.image import ACTIVE, Image
from glance_svc.store.bodies import DataBody, FileBody, IterBody

if TYPE_CHECKING:
    from oslo_context.context import RequestContext

    from glance_svc.domain.background import BackgroundTasks
    from glance_svc.domain.policy import Enforcer
    from glance_svc.domain.repository import ImageRepository
    from glance_svc.domain.transfers import Transfers
    from glance_svc.store.backends import StoreGateway

LOG = logging.getLogger(__name__)

cache_opts = [
    cfg.StrOpt("image_cache_dir",
               help="Directory of this node's image cache. Setting it enables the "
                    "/v2/cache API and API versions 2.14, 2.16 and 2.18; downloads are "
                    "served from and copied into the cache only with a paste flavor "
                    "carrying the cache filter (caching, cachemanagement, ...)."),
    cfg.StrOpt("image_cache_driver", default="centralized_db", choices=["centralized_db"],
               help="Where the cache's records live: centralized_db, the image database "
                    "(shared by every API node). Glance's sqlite and xattr drivers are "
                    "not implemented."),
    cfg.IntOpt("image_cache_max_size", default=10 * 1024 ** 3, min=0,
               help="Bytes POST /v2/cache/prune shrinks the cache to, least recently "
                    "used first. Writes never check it."),
    cfg.IntOpt("image_cache_stall_time", default=86400, min=0,
               help="Seconds after which POST /v2/cache/clean removes an unfinished "
                    "cache write (incomplete/ files)."),
]


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(None, cache_opts)]


DISABLED = "Caching via API is not supported at this site."
CLEAR_TARGETS = ("", "cache", "queue")
CLEAN_LOCK, PRUNE_LOCK = "glance-cache-clean", "glance-cache-prune"


class ImageCache:
    """This node's image cache; ``enabled`` only with ``image_cache_dir`` set."""

    def __init__(self, conf: cfg.ConfigOpts, repo: ImageRepository, policy: Enforcer,
                 stores: StoreGateway, transfers: Transfers, tasks: BackgroundTasks, *,
                 node_url: str) -> None:
        """``node_url``: this node's identity in the shared records."""
        self.conf = conf
        self.repo = repo
        self.policy = policy
        self.stores = stores
        self.transfers = transfers
        self.tasks = tasks
        self.node_url = node_url
        self.dir = CacheDir(conf.image_cache_dir) if conf.image_cache_dir else None

    @property
    def enabled(self) -> bool:
        return self.dir is not None

    # -- the download path ---------------------------------------------------------------
    def open_cached(self, image: Image) -> FileBody | None:
        """The cached data of an active image (counted as a hit), or None."""
        if self.dir is None or image.status != ACTIVE:
            return None
        body = self.dir.open(image.id)
        if body is not None:
            try:
                self.repo.cache_hit(self.node_url, image.id)
            except Exception:  # a lost hit count must not fail the download
                LOG.exception("Could not count a cache hit of image %s", image.id)
        return body

    def filling(self, image: Image, body: DataBody) -> DataBody:
        """``body``, copied into the cache as it is sent when the image is active and
        neither cached nor being cached already."""
        if self.dir is None or image.status != ACTIVE:
            return body
        writer = self.dir.start(image.id)
        if writer is None:
            return body
        return IterBody(self._tee(image, body, writer), body.length)

    def _tee(self, image: Image, body: DataBody, writer: CacheWriter) -> Iterator[bytes]:
        complete = False
        try:
            for chunk in body.iter_chunks():
                writer.write(chunk)
                yield chunk
            complete = True
        finally:
            body.close()
            if not complete:  # an error, or the client went away
                writer.abort()
        writer.commit(image.checksum)  # a mismatch raises here, cutting the stream
        self._record(image.id, writer.size)

    def _record(self, image_id: str, size: int) -> None:
        """Make a committed file known to every node; without the record it goes."""
        try:
            self.repo.cache_add(self.node_url, image_id, size)
        except Exception:
            LOG.exception("Could not record cached image %s; removing it", image_id)
            assert self.dir is not None
            self.dir.remove(image_id)

    def forget(self, image_id: str) -> None:
        """Drop this node's copy, record and queue marker (the image was deleted)."""
        if self.dir is None:
            return
        self.dir.remove(image_id)
        self.dir.unqueue(image_id)
        self.repo.cache_forget(self.node_url, [image_id])

    # -- the /v2/cache API ---------------------------------------------------------------
    def _allowed_dir(self, ctx: RequestContext, rule: str) -> CacheDir:
        """Glance's order: the policy first (403), then whether there is a cache (404)."""
        self.policy.enforce(ctx, rule, {})
        if self.dir is None:
            raise errors.NotFound(DISABLED)
        return self.dir

    def listing(self, ctx: RequestContext) -> dict[str, Any]:
        """``GET /v2/cache``: this node's cached and queued images."""
        cache_dir = self._allowed_dir(ctx, "cache_list")
        return {"cached_images": self.repo.cache_entries(self.node_url),
                "queued_images": cache_dir.queued()}

    def _image(self, image_id: str) -> Image:
        try:
            return self.repo.get(image_id)
        except errors.NotFound:
            raise errors.NotFound(f"Image {image_id} not found.") from None

    def queue(self, ctx: RequestContext, image_id: str) -> None:
        """``PUT /v2/cache/{id}``: queue an active image and cache it in the background."""
        image = self._image(image_id)
        cache_dir = self._allowed_dir(ctx, "cache_image")
        if image.status != ACTIVE:
            raise errors.BadRequest(
                "Only images with status active can be targeted for queueing")
        if cache_dir.is_cached(image_id):
            return
        cache_dir.queue(image_id)
        self.tasks.submit(self.prefetch, image_id)

    def prefetch(self, image_id: str) -> None:
        """Cache a queued image from its first location, verified against its checksum.

        On any failure the queue marker stays, so the image still shows as queued."""
        assert self.dir is not None
        image = self.repo.get(image_id)
        if image.status != ACTIVE:
            LOG.warning("Not caching image %s: it is %s", image_id, image.status)
            return
        writer = self.dir.start(image_id)
        if writer is None:  # cached meanwhile, or a download is filling it right now
            return
        try:
            locations = self.transfers.ordered_locations(image)
            if not locations:
                raise errors.NotFound(f"Image {image_id} has no data")
            for chunk in self.stores.open(locations[0]).iter_chunks():
                writer.write(chunk)
        except BaseException:
            writer.abort()
            raise
        writer.commit(image.checksum)
        self._record(image_id, writer.size)

    def delete(self, ctx: RequestContext, image_id: str) -> None:
        """``DELETE /v2/cache/{id}``: remove one image's file, record and marker."""
        try:
            self.repo.get(image_id)
        except errors.NotFound:
            if self.dir is None or not (self.dir.is_cached(image_id)
                                        or self.dir.is_queued(image_id)):
                raise errors.NotFound(f"Image {image_id} not found.") from None
        cache_dir = self._allowed_dir(ctx, "cache_delete")
        cache_dir.remove(image_id)
        cache_dir.unqueue(image_id)
        self.repo.cache_forget(self.node_url, [image_id])

    def clear(self, ctx: RequestContext, target: str) -> None:
        """``DELETE /v2/cache``: empty the cache (``cache``), the queue, or both (``""``)."""
        cache_dir = self._allowed_dir(ctx, "cache_delete")
        target = target.strip().lower()
        if target not in CLEAR_TARGETS:
            raise errors.BadRequest("If provided 'x-image-cache-clear-target' must be "
                                    "'cache', 'queue' or empty string.")
        if target in ("", "queue"):
            for image_id in cache_dir.queued():
                cache_dir.unqueue(image_id)
        if target in ("", "cache"):
            for image_id in cache_dir.cached_ids():
                cache_dir.remove(image_id)
            self.repo.cache_forget(self.node_url)

    def clean(self, ctx: RequestContext) -> int:
        """``POST /v2/cache/clean``: remove failed and stalled writes."""
        cache_dir = self._allowed_dir(ctx, "cache_clean")
        with cache_dir.lock(CLEAN_LOCK):
            return cache_dir.clean(self.conf.image_cache_stall_time)

    def prune(self, ctx: RequestContext) -> dict[str, int]:
        """``POST /v2/cache/prune``: least recently used images go until the cache is no
        larger than ``image_cache_max_size``."""
        cache_dir = self._allowed_dir(ctx, "cache_prune")
        files, pruned = 0, 0
        with cache_dir.lock(PRUNE_LOCK):
            sizes = {image_id: cache_dir.path(image_id).stat().st_size
                     for image_id in cache_dir.cached_ids()}
            total = sum(sizes.values())
            recorded = [e["image_id"] for e in self.repo.cache_entries(self.node_url)]
            # Files nobody recorded were never counted as used: they go first.
            order = [i for i in sizes if i not in recorded] + [
                i for i in recorded if i in sizes]
            for image_id in order:
                if total <= self.conf.image_cache_max_size:
                    break
                cache_dir.remove(image_id)
                self.repo.cache_forget(self.node_url, [image_id])
                total -= sizes[image_id]
                files, pruned = files + 1, pruned + sizes[image_id]
        return {"total_files_pruned": files, "total_bytes_pruned": pruned}

    def nodes(self, ctx: RequestContext, image_id: str) -> list[str]:
        """``GET /v2/cache/nodes/{id}``: the URLs of every node caching the image."""
        self._allowed_dir(ctx, "list_cached_nodes")
        self._image(image_id)
        return self.repo.cache_nodes(image_id)
