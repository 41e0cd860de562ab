"""The domain layer: images, their state machine, policy and quotas. No HTTP, no SQL."""
