"""Train the embedded default tokenizer (slm/data/default_units.safetensors).

    python -m slm.tokenizers._train_default [--data tests/data/speech] [--out PATH]

Reads every WAV in the speech fixture folder but the held-out one (made by tests/data/make_fixtures.sh from
Debian's codec2-examples, alsa-utils, festival + festvox-us-slt-hts and flite: real
and synthetic English speech, see docs/tokenizers.md for the licenses), resamples to
16 kHz, computes the default log-mel front end, and fits k-means (K = 100, k-means++ then
Lloyd, seed 0) over all frames. Deterministic: the same fixtures give the same file.
"""
from __future__ import annotations

import argparse
import glob
import os

import numpy as np

from ._default import DEFAULT_PATH, FRONT_END, LogMelUnitTokenizer
from ._kmeans import KMeans

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
K = 100
SEED = 0
HELD_OUT = ("flite_rms.wav",)  # kept out of training: docs/tokenizers.md measures on it


def training_frames(data_dir):
    from ..audio import load
    files = sorted(f for f in glob.glob(os.path.join(data_dir, "*.wav")) if os.path.basename(f) not in HELD_OUT)
    if not files:
        raise FileNotFoundError(f"no .wav files in {data_dir} (run tests/data/make_fixtures.sh)")
    dummy = LogMelUnitTokenizer(KMeans.from_centers(np.zeros((1, FRONT_END["n_mels"]), np.float32)))
    return np.concatenate([dummy.features(load(f, sr=16000)) for f in files]), files


def train(data_dir, k=K, seed=SEED):
    """The SIMD paths round the last bits differently from each other, and with 15
    frames per centre k-means can settle in another optimum over such a difference; so
    training runs on the scalar reference path, which gives the same file on every CPU."""
    import slm
    before = slm.get_backend()
    slm.set_backend("ref")
    try:
        frames, _ = training_frames(data_dir)
        km = KMeans(n_clusters=k, random_state=seed, max_iter=300).fit(frames)
    finally:
        slm.set_backend(before)
    return LogMelUnitTokenizer(km)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m slm.tokenizers._train_default", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(REPO, "tests", "data", "speech"))
    ap.add_argument("--out", default=DEFAULT_PATH)
    a = ap.parse_args(argv)
    tok = train(a.data)
    tok.save(a.out)
    frames, files = training_frames(a.data)  # for the report only
    print(f"trained K={K} on {len(frames)} frames ({len(frames) / 50:.1f} s) from {len(files)} files; "
          f"inertia {tok.kmeans.inertia_:.1f}; wrote {a.out}")


if __name__ == "__main__":
    main()
