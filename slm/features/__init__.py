"""Speech features in C: FFT, STFT/iSTFT, mel filterbanks, the front ends checkpoints expect, F0, Griffin-Lim."""
