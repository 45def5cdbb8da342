"""Command-line tools that measure a running deployment (not part of the served app)."""
