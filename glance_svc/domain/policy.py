"""Policy: oslo.policy rules with Glance's rule names and secure-RBAC defaults (spec §8).

(Being implemented: ``Enforcer(conf)`` with ``enforce(ctx, rule, target)`` raising
``errors.Forbidden`` and ``check(...) -> bool``.)
"""

from __future__ import annotations

from oslo_config import cfg
from oslo_policy import opts as policy_opts


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register [oslo_policy] options (policy_file defaults to policy.yaml)."""
    policy_opts.set_defaults(conf, policy_file="policy.yaml")
