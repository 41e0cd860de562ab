"""The Image API v2 resources. ``router`` maps paths to the handler functions here."""
