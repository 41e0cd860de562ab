"""Serve a WSGI app with gunicorn, configured from oslo.config options.

gunicorn streams request bodies (chunked or with Content-Length) to the app through
``wsgi.input`` and offers ``wsgi.file_wrapper``, which turns file-store downloads into
``sendfile``. Threaded workers keep a slow upload from blocking other requests.
"""

from __future__ import annotations

import gc
import importlib
import multiprocessing
import os
import sys
from collections.abc import Callable
from typing import Any

from oslo_config import cfg

server_opts = [
    cfg.HostAddressOpt("bind_host", default="0.0.0.0",
                       help="Address the API listens on."),
    cfg.PortOpt("bind_port", help="Port the API listens on (9292 for glance-api, "
                                  "9191 for glance-registry when unset)."),
    cfg.IntOpt("workers", min=0,
               help="Worker processes. Unset: one per CPU, at most 8. 0: one process."),
    cfg.IntOpt("threads", default=8, min=1,
               help="Threads per worker; each serves one request at a time."),
    cfg.IntOpt("backlog", default=4096, min=1, help="Listen backlog."),
    cfg.IntOpt("client_socket_timeout", default=900, min=0,
               help="Seconds a client connection may stay idle or a request may take to "
                    "arrive before it is closed; 0 waits for ever."),
    cfg.BoolOpt("http_keepalive", default=True,
                help="Keep client connections open between requests."),
    cfg.IntOpt("max_header_line", default=16384, min=1,
               help="Longest request header line accepted (bytes)."),
    cfg.StrOpt("cert_file", help="TLS certificate; with key_file, serve HTTPS."),
    cfg.StrOpt("key_file", help="TLS private key."),
    cfg.StrOpt("ca_file", help="CA bundle to verify client certificates against."),
]


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(None, server_opts)]


def worker_count(conf: cfg.ConfigOpts) -> int:
    if conf.workers is None:
        return min(multiprocessing.cpu_count(), 8)
    return max(conf.workers, 1)


def gunicorn_settings(conf: cfg.ConfigOpts, default_port: int) -> dict[str, Any]:
    """The gunicorn settings that the options above describe."""
    if bool(conf.cert_file) != bool(conf.key_file):
        raise ValueError("cert_file and key_file must be set together to serve HTTPS")
    port = conf.bind_port or default_port
    host = conf.bind_host
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    settings: dict[str, Any] = {
        "bind": [bind],
        "workers": worker_count(conf),
        "worker_class": "gthread",
        "threads": conf.threads,
        "backlog": conf.backlog,
        "timeout": 0,  # an upload of a large image may take hours; never kill a busy worker
        "graceful_timeout": 30,
        "keepalive": 75 if conf.http_keepalive else 0,
        "limit_request_field_size": conf.max_header_line,
        "limit_request_line": max(conf.max_header_line, 8190),
        "accesslog": "-",
        "errorlog": "-",
        "loglevel": "debug" if conf.debug else "info",
        # No "sendfile" key: gunicorn treats any explicit value as --no-sendfile, and its
        # default is to use sendfile for wsgi.file_wrapper responses (file-store downloads).
        "proc_name": None,
        "preload_app": True,  # see serve()
        # gunicorn 27's control socket lives at one path per user: two servers on a host
        # (glance-api and glance-registry, or parallel tests) would fight over it.
        "control_socket_disable": True,
        # Proxy headers are oslo.middleware's job ([oslo_middleware]
        # enable_proxy_headers_parsing); gunicorn would otherwise trust X-Forwarded-Proto
        # from 127.0.0.1 on its own.
        "forwarded_allow_ips": "",
        "secure_scheme_headers": {},
    }
    if conf.client_socket_timeout:
        settings["keepalive"] = min(settings["keepalive"], conf.client_socket_timeout)
    if conf.cert_file:
        settings["certfile"] = conf.cert_file
        settings["keyfile"] = conf.key_file
        if conf.ca_file:
            settings["ca_certs"] = conf.ca_file
    return settings


# glibc gives each thread that allocates concurrently an arena of its own (up to 8 per
# core) and rarely returns their memory; with 8 request threads plus the hash threads a
# worker kept ~5 MiB more after bench/rss_growth.py than with two arenas, for no speed
# (the big buffers of an upload are mmap'd outside the arenas anyway).
MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # mallopt parameter number, from glibc's malloc.h


def limit_malloc_arenas() -> None:
    """Cap glibc's malloc arenas for this process and the workers it forks.

    Does nothing when ``MALLOC_ARENA_MAX`` is set (the operator's choice wins) or the C
    library is not glibc.
    """
    if "MALLOC_ARENA_MAX" in os.environ:
        return
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(_M_ARENA_MAX, MALLOC_ARENAS)
    except (OSError, AttributeError):  # not glibc: its own allocator, its own rules
        pass


# Libraries that import eventlet whenever it is installed, only to offer green variants
# nothing here uses: futurist, which glance_store's file driver imports.
_EVENTLET_PROBERS = ("futurist",)


def keep_eventlet_out() -> None:
    """Import the libraries that probe for eventlet while it is hidden from them.

    eventlet is installed only because oslo.messaging needs oslo.service; with its
    bundled dnspython it costs about 20 MiB in every worker that imports it. Each prober
    takes the ImportError as "no eventlet", which is the truth for a gunicorn process.
    eventlet stays importable afterwards: oslo.service's default backend is eventlet, so a
    glance-api that sends notifications still loads it, and only that one pays for it.
    """
    if "eventlet" in sys.modules:
        return
    sys.modules["eventlet"] = None  # type: ignore[assignment]
    try:
        for name in _EVENTLET_PROBERS:
            importlib.import_module(name)
    finally:
        del sys.modules["eventlet"]


def serve(load_app: Callable[[], Any], settings: dict[str, Any], proc_name: str,
          on_worker_start: Callable[[], object] | None = None,
          preload: Callable[[], object] | None = None) -> None:
    """Run gunicorn in the foreground until it is told to stop.

    The app is loaded once, in the master (``preload_app``), then ``preload`` imports what
    the workers would otherwise import on their first request; ``gc.freeze()`` keeps the
    collector from writing to those objects. The workers fork with all of it in pages
    shared copy-on-write, so each one's private memory (USS) is only what it allocates
    itself. Nothing opened here may be used by two processes: connections, pools and
    threads are made lazily, in the worker that uses them.

    ``on_worker_start`` runs in each worker once it is set up (gunicorn's
    ``post_worker_init``): the place for per-worker background threads, which must not
    be started in the master before it forks.
    """
    from gunicorn.app.base import BaseApplication

    limit_malloc_arenas()
    keep_eventlet_out()

    class _Application(BaseApplication):
        def load_config(self) -> None:
            for key, value in settings.items():
                if value is not None:
                    self.cfg.set(key, value)
            self.cfg.set("proc_name", proc_name)
            if on_worker_start is not None:
                self.cfg.set("post_worker_init", lambda _worker: on_worker_start())

        def load(self) -> Any:
            app = load_app()
            if preload is not None:
                preload()
            gc.freeze()
            return app

    _Application().run()


def run_paste_service(conf: cfg.ConfigOpts, prog: str, default_port: int,
                      on_worker_start: Callable[[], object] | None = None,
                      preload: Callable[[], object] | None = None) -> int:
    """Serve ``<prog>[-<flavor>]`` from ``<prog>-paste.ini`` until stopped; 1 on bad config.

    The paste file is found in the parent process, so a missing one fails once, with a
    clear message, instead of in every worker.
    """
    from glance_svc.api import app

    try:
        settings = gunicorn_settings(conf, default_port)
        paste_file = app.find_paste_file(conf, f"{prog}-paste.ini")
    except (ValueError, app.PasteConfigNotFound) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 1
    serve(lambda: app.load_paste_app(conf, prog, paste_file), settings, proc_name=prog,
          on_worker_start=on_worker_start, preload=preload)
    return 0
