"""Fixtures for the client tests: a real Keystone, and glance_svc in both auth flavors."""

from __future__ import annotations

from tests.fixtures.keystone import keystone  # noqa: F401  (session fixture)
