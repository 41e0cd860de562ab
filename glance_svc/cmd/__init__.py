"""Console scripts: glance-api, glance-registry, glance-manage, glance-scrubber."""
