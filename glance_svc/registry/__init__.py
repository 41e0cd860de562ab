"""glance-registry: the image repository served over HTTP, and its client."""
