"""The image cache: image data kept on an API node's own disk, served from there.

``files`` is the layout on disk (cached files, ``incomplete/``, ``invalid/``, ``queue/``),
``service`` the rules: what is served and filled, the ``/v2/cache`` operations, prefetch,
prune and clean. What every node caches is recorded in the image database through the
repository (Glance's ``centralized_db`` driver), so it works through glance-registry too.
"""
