"""mel filterbanks and scales."""
__all__ = []
