"""A minimal PasteDeploy-friendly middleware base."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import webob
import webob.dec


class Middleware:
    """Wraps an app; subclasses override ``process_request`` (return a response to stop)
    and/or ``process_response``."""

    def __init__(self, application: Callable[..., Any], **options: Any) -> None:
        self.application = application
        self.options = options

    @classmethod
    def factory(cls, global_conf: dict[str, Any], **local_conf: Any
                ) -> Callable[[Callable[..., Any]], Middleware]:
        def _filter(app: Callable[..., Any]) -> Middleware:
            return cls(app, **local_conf)

        return _filter

    def process_request(self, req: webob.Request) -> webob.Response | None:
        return None

    def process_response(self, req: webob.Request, response: webob.Response
                         ) -> webob.Response:
        return response

    @webob.dec.wsgify
    def __call__(self, req: webob.Request) -> webob.Response:
        early = self.process_request(req)
        if early is not None:
            return self.process_response(req, early)
        response = req.get_response(self.application)
        return self.process_response(req, response)
