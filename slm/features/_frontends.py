"""the front ends checkpoints expect: Whisper, HiFi-GAN/BigVGAN, Vocos log-mel, MFCC, Kaldi fbank, waveform normalisation."""
__all__ = []
