"""Activity webhooks: every audit event, signed, delivered at least once from the outbox, in order per ticket."""
