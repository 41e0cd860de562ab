"""The registry client: an ImageRepository that calls glance-registry over HTTP.

(Being implemented; the options below are final.)
"""

from __future__ import annotations

from oslo_config import cfg

registry_client_opts = [
    cfg.HostAddressOpt("registry_host", default="0.0.0.0",
                       help="Address of glance-registry."),
    cfg.PortOpt("registry_port", default=9191, help="Port of glance-registry."),
    cfg.StrOpt("registry_client_protocol", default="http", choices=["http", "https"],
               help="Protocol to reach glance-registry."),
    cfg.StrOpt("registry_client_key_file", help="Client TLS key for the registry."),
    cfg.StrOpt("registry_client_cert_file", help="Client TLS certificate for the registry."),
    cfg.StrOpt("registry_client_ca_file", help="CA bundle to verify the registry."),
    cfg.BoolOpt("registry_client_insecure", default=False,
                help="Do not verify the registry's TLS certificate."),
    cfg.IntOpt("registry_client_timeout", default=600, min=0,
               help="Seconds to wait for a registry answer; 0 waits for ever."),
]


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(None, registry_client_opts)]
