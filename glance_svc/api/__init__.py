"""The REST layer: PasteDeploy apps and middleware, the versions document and /v2."""
