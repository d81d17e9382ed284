"""slm.codecs.EnCodec against the encodec package's EncodecModel (random weights, the
package's own state dict): encoder latents, codes at every bandwidth, decoded audio, on
every kernel path; configuration inference from the released model's state dict."""
import numpy as np
import pytest

from conftest import assert_close
from slm.codecs.encodec import EnCodec, encodec_config_from_state_dict

torch = pytest.importorskip("torch")
encodec = pytest.importorskip("encodec")


def _small_model(true_skip=False, seed=0, causal=True):
    from encodec import modules as m
    from encodec.quantization import ResidualVectorQuantizer
    kw = dict(channels=1, dimension=32, n_filters=8, ratios=[4, 2, 2], causal=causal, norm="weight_norm",
              true_skip=true_skip)
    model = encodec.EncodecModel(m.SEANetEncoder(**kw), m.SEANetDecoder(**kw),
                                 ResidualVectorQuantizer(dimension=32, n_q=4, bins=64),
                                 target_bandwidths=[6.0, 12.0, 24.0], sample_rate=16000, channels=1)
    _randomize(model, seed, gain="weight_g")
    return model.eval()


def _randomize(model, seed, gain, gain_range=(0.75, 1.25), scale=1.0):
    """every float parameter and buffer of a reference model random, in place: codebooks
    marked initialised, weight-norm or group-norm gains (names containing `gain`) uniform in
    gain_range (per-channel norms near 1, as in trained convs), biases N(0, 0.1), the rest
    N(0, scale). LSTMs keep torch's random init U(-1/sqrt(H), 1/sqrt(H)): with
    unit-variance weights a 64-unit LSTM is chaotic (torch's own fp32 and fp64 runs part
    by 0.29 after 23 steps), so any two implementations' rounding grows to O(1)."""
    g = torch.Generator().manual_seed(seed)
    lo, hi = gain_range
    with torch.no_grad():
        for name, t in list(model.named_parameters()) + list(model.named_buffers()):
            if not t.is_floating_point() or ".lstm." in name:
                continue
            if name.endswith("inited"):
                t.fill_(1.0)
            elif gain in name:
                t.copy_(torch.rand(t.shape, generator=g) * (hi - lo) + lo)
            elif t.numel() > 1 or name.endswith("bias"):
                t.copy_(torch.randn(t.shape, generator=g) * (0.1 if name.endswith("bias") else scale))
    return model


def _sd(model):
    return {k: v.detach().numpy() for k, v in model.state_dict().items()}


def _audio(length, b=2, seed=1):
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(length) / 16000.0
    x = 0.3 * torch.sin(2 * np.pi * 220 * t) + 0.05 * torch.randn(b, 1, length, generator=g)
    return x.reshape(b, 1, length).float()


@pytest.mark.parametrize("true_skip", [False, True])
def test_parity_with_the_encodec_package(path, true_skip):
    ref = _small_model(true_skip)
    ours = EnCodec(_sd(ref), sample_rate=16000)
    assert ours.config.true_skip == true_skip and ours.config.ratios == [4, 2, 2] and ours.n_q == 4
    assert ours.frame_rate == ref.frame_rate == 1000
    x = _audio(1203)  # not a multiple of the hop: extra padding at every stride
    with torch.no_grad():
        z = ref.encoder(x).numpy()
    assert_close(ours.encode_latents(x.numpy()), z, 1e-6)
    for bw in ref.target_bandwidths:
        ref.set_target_bandwidth(bw)
        with torch.no_grad():
            frames = ref.encode(x)
            want = frames[0][0].numpy()  # (B, n_q, T)
            audio = ref.decode(frames).numpy()
        codes = ours.encode(x.numpy(), bandwidth=bw)
        assert codes.shape == want.shape == (2, ours.n_q_for_bandwidth(bw), z.shape[-1])
        assert np.array_equal(codes, want), bw
        assert_close(ours.decode(codes), audio, 1e-6)


def test_non_causal_configuration(path):
    """symmetric padding (the right half rounded down, plus the extra padding) and the
    transposed convs trimmed on both sides"""
    ref = _small_model(seed=6, causal=False)
    ours = EnCodec(_sd(ref), sample_rate=16000, causal=False)
    assert not ours.config.causal
    x = _audio(1111)
    with torch.no_grad():
        z = ref.encoder(x).numpy()
        ref.set_target_bandwidth(24.0)
        frames = ref.encode(x)
        audio = ref.decode(frames).numpy()
    assert_close(ours.encode_latents(x.numpy()), z, 1e-6)
    codes = ours.encode(x.numpy(), bandwidth=24.0)
    assert np.array_equal(codes, frames[0][0].numpy())
    assert_close(ours.decode(codes), audio, 1e-6)


def test_time_group_norm_configuration(path):
    """non-causal SEANet with GroupNorm(1, C) after every conv (the 48 kHz release's layers),
    stereo; then with the release's loudness normalisation and overlapping segments"""
    from encodec import modules as m
    from encodec.quantization import ResidualVectorQuantizer
    kw = dict(channels=2, dimension=32, n_filters=8, ratios=[4, 2, 2], causal=False, norm="time_group_norm")
    ref = encodec.EncodecModel(m.SEANetEncoder(**kw), m.SEANetDecoder(**kw),
                               ResidualVectorQuantizer(dimension=32, n_q=4, bins=64),
                               target_bandwidths=[24.0], sample_rate=16000, channels=2).eval()
    _randomize(ref, 8, gain="norm.weight", gain_range=(0.5, 1.5), scale=0.3)
    ours = EnCodec(_sd(ref), sample_rate=16000, causal=False)
    assert ours.config.norm == "time_group_norm" and ours.channels == 2
    x = torch.cat([_audio(999), _audio(999, seed=5)], dim=1)[:, :2]  # (2, 2, 999)
    with torch.no_grad():
        z = ref.encoder(x).numpy()
        ref.set_target_bandwidth(24.0)
        frames = ref.encode(x)
        audio = ref.decode(frames).numpy()
    assert_close(ours.encode_latents(x.numpy()), z, 1e-6)
    codes = ours.encode(x.numpy())
    assert np.array_equal(codes, frames[0][0].numpy())
    assert_close(ours.decode(codes), audio, 1e-6)

    # the 48 kHz release's wrapper: loudness normalisation and overlapping segments
    ref.normalize, ref.segment = True, 0.05  # 800 samples every 792 at 16 kHz
    seg = EnCodec(_sd(ref), sample_rate=16000, causal=False, normalize=True, segment=0.05)
    x2 = torch.cat([_audio(2000), _audio(2000, seed=9)], dim=1)[:, :2] * 3.0
    with torch.no_grad():
        frames = ref.encode(x2)
        audio = ref.decode(frames).numpy()
    got = seg.encode_frames(x2.numpy())
    assert len(got) == len(frames) == 3
    for (c, s), (rc, rs) in zip(got, frames):
        assert np.array_equal(c, rc.numpy())
        np.testing.assert_allclose(s, rs.numpy()[:, 0], rtol=1e-6)
    assert_close(seg.decode_frames(got), audio, 1e-6)
    with pytest.raises(ValueError, match="encode_frames"):
        seg.encode(x2.numpy())


def test_the_48khz_release_through_slm_load(tmp_path):
    import slm
    ref = encodec.EncodecModel.encodec_model_48khz(pretrained=False)
    torch.save(ref.state_dict(), tmp_path / "encodec_48khz.th")
    ours = slm.load(tmp_path / "encodec_48khz.th")
    assert (ours.sample_rate, ours.channels, ours.normalize, ours.segment, ours.config.causal) == (
        48000, 2, True, 1.0, False)
    assert ours.config.norm == "time_group_norm" and ours.frame_rate == 150 and ours.n_q == 16
    x = torch.cat([_audio(4800, b=1), _audio(4800, b=1, seed=3)], dim=1)  # 0.1 s stereo (auto path)
    ref.set_target_bandwidth(6.0)
    with torch.no_grad():
        frames = ref.encode(x)
        audio = ref.decode(frames).numpy()
    got = ours.encode_frames(x.numpy(), bandwidth=6.0)
    assert np.array_equal(got[0][0], frames[0][0].numpy())
    assert_close(ours.decode_frames(got), audio, 1e-6)


def test_short_and_unbatched_input(path):
    ref = _small_model(seed=3)
    ours = EnCodec(_sd(ref), sample_rate=16000)
    for n in (1, 5, 17):  # shorter than the reflect padding: EnCodec's pad1d zero-extends first
        x = _audio(n, b=1, seed=n)
        with torch.no_grad():
            z = ref.encoder(x).numpy()
        assert_close(ours.encode_latents(x.numpy()[0]), z[0], 1e-6)
        codes = ours.encode(x.numpy()[0, 0])
        assert codes.ndim == 2 and codes.shape[0] == 4


def test_released_configuration_is_inferred():
    ref = encodec.EncodecModel.encodec_model_24khz(pretrained=False)
    sd = _sd(ref)
    cfg = encodec_config_from_state_dict(sd)
    assert (cfg.channels, cfg.dimension, cfg.n_filters, cfg.ratios, cfg.lstm, cfg.true_skip, cfg.compress) == (
        1, 128, 32, [8, 5, 4, 2], 2, False, 2)
    ours = EnCodec(sd)
    assert ours.frame_rate == 75 and ours.n_q == 32 and ours.codebook_size == 1024
    assert [ours.n_q_for_bandwidth(b) for b in (1.5, 3.0, 6.0, 12.0, 24.0)] == [2, 4, 8, 16, 32]
    x = _audio(2400, b=1)  # 0.1 s at 24 kHz through the full-size model (auto path)
    with torch.no_grad():
        z = ref.encoder(x).numpy()
        ref.set_target_bandwidth(6.0)
        frames = ref.encode(x)
        audio = ref.decode(frames).numpy()
    assert_close(ours.encode_latents(x.numpy()), z, 1e-6)
    codes = ours.encode(x.numpy(), bandwidth=6.0)
    assert np.array_equal(codes, frames[0][0].numpy())
    assert_close(ours.decode(codes), audio, 1e-6)


def test_bad_input():
    ref = _small_model(seed=4)
    ours = EnCodec(_sd(ref), sample_rate=16000)
    x = _audio(400, b=1).numpy()
    with pytest.raises(ValueError, match="shape"):
        ours.encode(np.zeros((1, 2, 400), np.float32))
    with pytest.raises(ValueError, match="empty"):
        ours.encode(np.zeros((1, 1, 0), np.float32))
    bad = x.copy()
    bad[0, 0, 7] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ours.encode(bad)
    with pytest.raises(TypeError):
        ours.encode(x.astype(np.complex64))
    with pytest.raises(ValueError):
        ours.encode(x, bandwidth=6.0, n_q=2)
    codes = ours.encode(x)
    bad_codes = codes.copy()
    bad_codes[0, 1, 3] = 64
    with pytest.raises(ValueError, match="outside"):
        ours.decode(bad_codes)
    with pytest.raises(ValueError, match="time_group_norm"):  # a norm weight without its bias
        EnCodec({**_sd(ref), "encoder.model.0.conv.norm.weight": np.ones(8, np.float32)})
    assert np.array_equal(ours.encode(x), codes)  # still usable


def test_slm_load_recognises_an_encodec_checkpoint(tmp_path):
    import slm
    ref = _small_model(seed=5)
    f = tmp_path / "encodec_small.th"
    torch.save(ref.state_dict(), f)
    model = slm.load(f, sample_rate=16000)
    assert isinstance(model, EnCodec) and model.sample_rate == 16000
    x = _audio(500, b=1)
    ref.set_target_bandwidth(24.0)
    with torch.no_grad():
        want = ref.encode(x)[0][0].numpy()
    assert np.array_equal(model.encode(x.numpy()), want)


def test_transformers_encodec_folder(path, tmp_path):
    tr = pytest.importorskip("transformers")
    cfg = tr.EncodecConfig(num_filters=8, hidden_size=32, codebook_dim=32, upsampling_ratios=[4, 2, 2],
                           codebook_size=64, sampling_rate=16000, target_bandwidths=[6.0, 12.0, 24.0])
    torch.manual_seed(0)
    ref = tr.EncodecModel(cfg).eval()
    _randomize(ref, 1, gain="original0")  # weight norm as parametrizations
    ref.save_pretrained(tmp_path / "hf")
    import slm
    ours = slm.load(tmp_path / "hf")
    assert isinstance(ours, EnCodec) and ours.sample_rate == 16000 and ours.n_q == 4
    x = _audio(1203)
    for bw in (6.0, 24.0):
        with torch.no_grad():
            enc = ref.encode(x, bandwidth=bw)
            want = enc.audio_codes[0].numpy()  # (B, n_q, T)
            audio = ref.decode(enc.audio_codes, enc.audio_scales)[0].numpy()
        codes = ours.encode(x.numpy(), bandwidth=bw)
        assert np.array_equal(codes, want), bw
        assert_close(ours.decode(codes)[..., :audio.shape[-1]], audio, 1e-6)
