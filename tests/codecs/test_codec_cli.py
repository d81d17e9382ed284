"""slm encode / slm decode / slm resynth --codec with an encodec-package checkpoint (random
weights, small configuration at 16 kHz)."""
import numpy as np
import pytest

import slm
from slm.cli import main, read_codes

torch = pytest.importorskip("torch")
pytest.importorskip("encodec")


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    from test_encodec import _small_model
    model = _small_model(seed=7)
    f = tmp_path_factory.mktemp("codec") / "encodec_small.th"
    torch.save(model.state_dict(), f)
    return f


def test_encode_decode_roundtrip(ckpt, tmp_path, capsys):
    wav = tmp_path / "in.wav"
    rng = np.random.default_rng(0)
    x = (0.3 * np.sin(np.arange(4000) * 0.05) + 0.01 * rng.standard_normal(4000)).astype(np.float32)
    slm.audio.save(wav, x, sr=16000)
    codes_f = tmp_path / "c.npz"
    assert main(["encode", str(wav), "-o", str(codes_f), "--codec", str(ckpt), "--sample-rate", "16000",
                 "--bandwidth", "12"]) == 0
    codes, meta = read_codes(codes_f)
    codec = slm.load(ckpt, sample_rate=16000)
    xin = np.asarray(slm.audio.load(wav, sr=16000), np.float32)
    assert np.array_equal(codes, codec.encode(xin, bandwidth=12))
    assert codes.shape[0] == 2 and meta["num_samples"] == 4000 and meta["sample_rate"] == 16000
    out = tmp_path / "out.wav"
    assert main(["decode", str(codes_f), "-o", str(out), "--codec", str(ckpt), "--sample-rate", "16000"]) == 0
    y = np.asarray(slm.audio.load(out))
    want = codec.decode(codes)[0][:4000]
    assert y.shape == (4000,)
    ok = np.abs(want) < 0.99  # 16-bit PCM: quantised, and clipped outside [-1, 1)
    assert np.abs(y[ok] - want[ok]).max() <= 1.5 / 32768
    assert "codebooks" in capsys.readouterr().out


def test_resynth_with_a_codec(ckpt, tmp_path, capsys):
    out = tmp_path / "r.wav"
    assert main(["resynth", "--codec", str(ckpt), "--sample-rate", "16000", "--n-q", "1", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "1 codebooks" in text and "log-mel distance" in text and out.exists()


def test_bad_codes_files(ckpt, tmp_path):
    f = tmp_path / "x.npz"
    np.savez(f, foo=np.zeros(3))
    with pytest.raises(ValueError, match="not an slm codes file"):
        read_codes(f)
    np.savez(f, codes=np.zeros((2, 5), np.int32), format="slm-codes", version=1, sample_rate=24000)
    with pytest.raises(SystemExit, match="24000 Hz"):
        main(["decode", str(f), "-o", str(tmp_path / "o.wav"), "--codec", str(ckpt), "--sample-rate", "16000"])
    with pytest.raises(SystemExit, match="not both"):
        main(["resynth", "--codec", str(ckpt), "--sample-rate", "16000", "--n-q", "1", "--bandwidth", "6",
              "-o", str(tmp_path / "r.wav")])


def test_cli_with_a_dac_checkpoint(tmp_path, capsys):
    from test_dac import KW, _model
    ref = _model(seed=4)
    f = tmp_path / "dac.pth"
    torch.save({"state_dict": ref.state_dict(), "metadata": {"kwargs": KW}}, f)
    wav = tmp_path / "in.wav"
    slm.audio.save(wav, (0.2 * np.sin(np.arange(3000) * 0.07)).astype(np.float32), sr=16000)
    codes_f = tmp_path / "c.npz"
    assert main(["encode", str(wav), "-o", str(codes_f), "--codec", str(f), "--n-q", "2"]) == 0
    codes, meta = read_codes(codes_f)
    assert codes.shape[0] == 2 and meta["sample_rate"] == 16000
    assert main(["decode", str(codes_f), "-o", str(tmp_path / "o.wav"), "--codec", str(f)]) == 0
    # DAC's decoder with an odd stride gives a few samples less than T * hop (as the package)
    n = min(3000, slm.load(f).decode(codes).shape[-1])
    assert slm.audio.info(tmp_path / "o.wav").frames == n
    with pytest.raises(SystemExit, match="--n-q"):
        main(["encode", str(wav), "-o", str(codes_f), "--codec", str(f), "--bandwidth", "6"])


def test_cli_refuses_segmented_models(tmp_path):
    import encodec
    f = tmp_path / "encodec_48khz.th"
    torch.save(encodec.EncodecModel.encodec_model_48khz(pretrained=False).state_dict(), f)
    with pytest.raises(SystemExit, match="segments"):
        main(["resynth", "--codec", str(f), "-o", str(tmp_path / "r.wav")])
