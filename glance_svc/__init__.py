"""glance_svc: a Glance-compatible OpenStack Image API v2 service.

One package per layer: ``api`` (WSGI apps and middleware), ``domain`` (the image entity,
its state machine, policy and quotas), ``db`` (SQL models and the repository),
``registry`` (the repository over HTTP), ``store`` (the data path over glance_store),
``scrubber`` (delayed delete) and ``cmd`` (the console scripts).
"""

import warnings

# oslo.messaging (notifications) needs oslo.service, which installs eventlet; glance_store's
# futurist then imports eventlet in every command, and eventlet announces its own
# deprecation on stderr. Nothing in glance_svc uses eventlet: the notice is only noise, and
# would end up in the output of every glance-manage call.
warnings.filterwarnings("ignore", message="\nEventlet is deprecated")
