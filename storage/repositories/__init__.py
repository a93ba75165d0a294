"""Repositories: intention-revealing functions over a session the caller owns (`async with session.begin()`)."""
