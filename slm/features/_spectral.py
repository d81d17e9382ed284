"""FFT, windows, STFT/iSTFT, Griffin-Lim."""
__all__ = []
