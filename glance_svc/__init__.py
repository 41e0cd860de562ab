"""glance_svc: a Glance-compatible OpenStack Image API v2 service.

One package per layer: ``api`` (WSGI apps and middleware), ``domain`` (the image entity,
its state machine, policy and quotas), ``db`` (SQL models and the repository),
``registry`` (the repository over HTTP), ``store`` (the data path over glance_store),
``scrubber`` (delayed delete) and ``cmd`` (the console scripts).
"""
