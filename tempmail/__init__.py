"""tempmail: a self-hosted temporary email server with zero-access encrypted storage."""

__version__ = "0.1.0"
