"""The generation backends, each implementing ``tryon_api.tryon.interface.TryOnBackend``."""
