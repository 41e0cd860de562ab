"""WSGI middleware of the API pipeline (context, version negotiation)."""
