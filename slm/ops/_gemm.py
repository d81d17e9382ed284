"""gemm op family (filled in by its kernels)."""
__all__ = []
