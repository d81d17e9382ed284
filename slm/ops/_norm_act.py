"""norm_act op family (filled in by its kernels)."""
__all__ = []
