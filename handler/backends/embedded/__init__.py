"""The embedded CPU backend: an offline try-on preview made with image processing, no weights."""

from handler.backends.embedded.backend import EmbeddedTryOnBackend

__all__ = ["EmbeddedTryOnBackend"]
