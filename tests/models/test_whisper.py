"""The Whisper encoder against openai-whisper's AudioEncoder and transformers'
WhisperEncoder: random weights saved in each real format, loaded through slm.load, run
on real speech (a batch of different lengths), every hidden state compared on every
kernel path."""
import numpy as np
import pytest

import slm
from conftest import assert_close, load_speech

whisper = pytest.importorskip("whisper")


def randomise(torch, model, seed):
    """every parameter and buffer drawn at random (layer norms and biases included), so
    that no part of the graph can be skipped and still match"""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in list(model.named_parameters()) + list(model.named_buffers()):
            if p.dtype.is_floating_point:
                fan = p.shape[-1] if p.ndim > 1 else 1
                scale = 0.5 / fan ** 0.5 if p.ndim > 1 else 0.1
                base = 1.0 if name.endswith("weight") and p.ndim == 1 else 0.0
                p.copy_(base + scale * torch.randn(p.shape, generator=g))
    return model.eval()


def speech_batch():
    """two real clips at 16 kHz of different lengths (codec2 speech and flite slt)"""
    from slm.audio import resample
    a, sr = load_speech("codec2_speech_16k.wav")
    b, sr2 = load_speech("flite_slt.wav")
    b = resample(b, sr2, 16000)
    return [a[: 16000 * 6], b[: 16000 * 2]]


@pytest.fixture(scope="module")
def openai_ckpt(tmp_path_factory, torch):
    dims = whisper.model.ModelDimensions(n_mels=80, n_audio_ctx=1500, n_audio_state=64, n_audio_head=4,
                                         n_audio_layer=2, n_vocab=100, n_text_ctx=16, n_text_state=64,
                                         n_text_head=4, n_text_layer=1)
    model = randomise(torch, whisper.model.Whisper(dims), 1)
    path = tmp_path_factory.mktemp("openai") / "tiny-random.pt"
    torch.save({"dims": dims.__dict__, "model_state_dict": model.state_dict()}, path)
    return path, model


def openai_states(torch, enc, mel):
    """every hidden state of openai-whisper's AudioEncoder, in HF numbering"""
    F = torch.nn.functional
    with torch.no_grad():
        x = F.gelu(enc.conv1(mel))
        x = F.gelu(enc.conv2(x)).permute(0, 2, 1) + enc.positional_embedding
        states = [x]
        for blk in enc.blocks:
            x = blk(x)
            states.append(x)
        states[-1] = enc.ln_post(x)
        assert np.allclose(states[-1].numpy(), enc(mel).numpy(), atol=1e-5)
    return [s.numpy() for s in states]


def test_openai_checkpoint_all_layers(torch, path, openai_ckpt):
    ckpt, model = openai_ckpt
    enc = slm.load(ckpt)
    assert isinstance(enc, slm.models.whisper.WhisperEncoder)
    assert (enc.num_layers, enc.hidden_size, enc.n_mels) == (2, 64, 80)
    clips = speech_batch()
    mel = torch.stack([whisper.log_mel_spectrogram(whisper.pad_or_trim(torch.from_numpy(c))) for c in clips])
    ref = openai_states(torch, model.encoder, mel)
    # the log-mel path: equal to whisper's own front end
    assert_close(enc.log_mel(clips[0]), mel[0].numpy(), 1e-10, "log-mel")
    width = max(len(c) for c in clips)
    batch = np.stack([np.pad(c, (0, width - len(c))) for c in clips])
    out = enc(batch, lengths=[len(c) for c in clips])
    assert list(out.lengths) == [300, 100]
    assert sorted(out.hidden_states) == [0, 1, 2]
    for i, r in enumerate(ref):
        assert_close(out.hidden_states[i], r, 1e-6, f"hidden state {i}")
    # mel in directly, one layer asked for: same values
    h = enc.forward_mel(mel.numpy(), layers=[1])
    assert list(h) == [1]
    assert_close(h[1], ref[1], 1e-6, "forward_mel layer 1")


@pytest.mark.parametrize("fmt", ["safetensors", "bin"])
def test_hf_folder_all_layers(torch, path, tmp_path, fmt):
    transformers = pytest.importorskip("transformers")
    cfg = transformers.WhisperConfig(d_model=64, encoder_layers=2, encoder_attention_heads=4, encoder_ffn_dim=96,
                                     num_mel_bins=128, decoder_layers=1, decoder_attention_heads=4,
                                     decoder_ffn_dim=32, vocab_size=100, max_target_positions=16,
                                     max_source_positions=1500, pad_token_id=0, bos_token_id=1, eos_token_id=2,
                                     decoder_start_token_id=3)
    model = randomise(torch, transformers.WhisperForConditionalGeneration(cfg), 2)
    model.save_pretrained(tmp_path)
    if fmt == "bin":  # transformers 5 always writes safetensors: write the .bin form by hand
        (tmp_path / "model.safetensors").unlink()
        torch.save(model.state_dict(), tmp_path / "pytorch_model.bin")
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".bin", ".safetensors")) == \
        [{"bin": "pytorch_model.bin", "safetensors": "model.safetensors"}[fmt]]
    enc = slm.load(tmp_path)
    assert (enc.n_mels, enc.ffn_size) == (128, 96)
    clips = speech_batch()
    mel = np.stack([enc.log_mel(c) for c in clips])
    with torch.no_grad():
        ref = model.model.encoder(torch.from_numpy(mel), output_hidden_states=True).hidden_states
    got = enc.forward_mel(mel)
    for i, r in enumerate(ref):
        assert_close(got[i], r.numpy(), 1e-6, f"hidden state {i}")


def test_bf16_weights_bounded(torch, openai_ckpt):
    ckpt, model = openai_ckpt
    enc32, enc16 = slm.load(ckpt), slm.load(ckpt, dtype="bf16")
    mel = enc32.log_mel(speech_batch()[0])
    a = enc32.forward_mel(mel, layers=[2])[2]
    b = enc16.forward_mel(mel, layers=[2])[2]
    from conftest import nmse
    err = nmse(b, a)
    assert 0 < err < 1e-3, f"bf16 nmse {err:.2e}"  # weight rounding to 8 bits of mantissa


def test_bad_input_leaves_model_usable(openai_ckpt, tmp_path):
    ckpt, _ = openai_ckpt
    enc = slm.load(ckpt)
    mel = np.zeros((1, 80, 3000), np.float32)
    with pytest.raises(ValueError, match="3000 frames"):
        enc.forward_mel(mel[..., :2999])
    with pytest.raises(ValueError, match="80"):
        enc.forward_mel(np.zeros((1, 81, 3000), np.float32))
    bad = mel.copy()
    bad[0, 3, 7] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        enc.forward_mel(bad)
    with pytest.raises(TypeError):
        enc.forward_mel(mel.astype(np.complex64))
    with pytest.raises(ValueError, match="out of range"):
        enc.forward_mel(mel, layers=[3])
    with pytest.raises(ValueError):
        enc(np.zeros(0, np.float32))
    with pytest.raises(TypeError):
        enc(np.zeros(100, np.int16))
    with pytest.raises(ValueError, match="lengths"):
        enc(np.zeros((2, 100), np.float32), lengths=[100, 101])
    assert np.isfinite(enc.forward_mel(mel, layers=[2])[2]).all()
    # weights: a wrong shape and a missing key are named
    from slm.models.whisper import WhisperEncoder, OPENAI_KEYS, OPENAI_PREFIXES, map_keys
    ck = slm.io.load_torch(ckpt)
    w = map_keys(ck["model_state_dict"], OPENAI_KEYS, OPENAI_PREFIXES, "t")
    args = (80, 1500, 64, 4, 2)
    bad_w = dict(w, **{"layers.1.fc1.weight": np.zeros((256, 63), np.float32)})
    with pytest.raises(ValueError, match=r"layers.1.fc1.weight' has shape \(256, 63\)"):
        WhisperEncoder(bad_w, *args)
    with pytest.raises(ValueError, match="missing weight 'ln_post.bias'"):
        WhisperEncoder({k: v for k, v in w.items() if k != "ln_post.bias"}, *args)
    with pytest.raises(ValueError, match="n_head"):
        WhisperEncoder(w, 80, 1500, 64, 5, 2)
    # not a checkpoint of any family
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="known model family"):
        slm.load(junk)
    assert np.isfinite(WhisperEncoder(w, *args).forward_mel(mel, layers=[0])[0]).all()
