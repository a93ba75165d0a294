"""The runbook: Markdown pages imported into the database, searched with the database's own full-text search."""
