"""The Sharp Eyes hub application: registry, ingest supervision, events, tickets, API and CLI."""

__version__ = "0.1.0"
