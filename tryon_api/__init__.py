"""The try-on API Lambda package."""
