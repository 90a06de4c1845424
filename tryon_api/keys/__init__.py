"""API keys an operator runs a business on: key records, per-key limits and usage, browser tokens."""
