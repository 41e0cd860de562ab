"""The data path over glance_store: streaming upload with caps and hashes, downloads,
staging and format inspection."""
