"""``data_api = glance_svc.db.registry.api``: image records through glance-registry."""
