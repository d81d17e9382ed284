"""F0 (pitch) tracking with a voicing decision."""
__all__ = []
