"""k-means over speech features: assignment, training (k-means++ init, Lloyd and mini-batch), centroid files."""
__all__ = []
