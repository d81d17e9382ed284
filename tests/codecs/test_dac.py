"""slm.codecs.DAC against descript-audio-codec's DAC model (random weights, small
configuration, loaded without dac/__init__ and audiotools): latents, codes for several
n_q, decoded audio, on every kernel path; the package's checkpoint layout through slm.load."""
import importlib
import math

import numpy as np
import pytest

from conftest import assert_close
from slm.codecs.dac import DAC

torch = pytest.importorskip("torch")

KW = dict(encoder_dim=8, encoder_rates=[2, 4, 5], latent_dim=None, decoder_dim=32, decoder_rates=[5, 4, 2],
          n_codebooks=4, codebook_size=64, codebook_dim=8, sample_rate=16000)


def _dac_model_module():
    from test_rvq import _dac_quantize_module
    _dac_quantize_module()  # installs the stub packages
    import types
    import sys
    if "dac.model" not in sys.modules:  # dac/model/__init__ imports base.py (audiotools): stub it too
        root = sys.modules["dac"].__path__[0]
        m = types.ModuleType("dac.model")
        m.__path__ = [root + "/model"]
        sys.modules["dac.model"] = m
        base = types.ModuleType("dac.model.base")

        class CodecMixin:  # the chunked compress/decompress helpers; not used by these tests
            def get_delay(self):
                return 0
        base.CodecMixin = CodecMixin
        sys.modules["dac.model.base"] = base
        at = types.ModuleType("audiotools")
        at.AudioSignal = object
        ml = types.ModuleType("audiotools.ml")

        class BaseModel(torch.nn.Module):
            pass
        ml.BaseModel = BaseModel
        at.ml = ml
        sys.modules.setdefault("audiotools", at)
        sys.modules.setdefault("audiotools.ml", ml)
    return importlib.import_module("dac.model.dac")


def _model(seed=0):
    try:
        dm = _dac_model_module()
    except ImportError as e:
        pytest.skip(f"descript-audio-codec not importable: {e}")
    kw = {k: v for k, v in KW.items()}
    model = dm.DAC(**kw)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.named_parameters():
            if name.endswith("alpha"):
                t.copy_(torch.rand(t.shape, generator=g) * 1.5 + 0.25)
            elif name.endswith("weight_g"):
                t.copy_(torch.rand(t.shape, generator=g) * 0.5 + 0.75)
            else:
                t.copy_(torch.randn(t.shape, generator=g) * (0.1 if name.endswith("bias") else 1.0))
    return model.eval()


def _sd(m):
    return {k: v.detach().numpy() for k, v in m.state_dict().items()}


def _audio(n, b=2, seed=1):
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(n) / 16000.0
    return (0.3 * torch.sin(2 * math.pi * 300 * t) + 0.05 * torch.randn(b, 1, n, generator=g)).float()


def test_parity_with_descript_audio_codec(path):
    ref = _model()
    ours = DAC(_sd(ref), **KW)
    assert ours.hop_length == 40 and ours.n_q == 4
    x = _audio(1234)  # not a multiple of the hop: right-padded as DAC's preprocess
    with torch.no_grad():
        xp = ref.preprocess(x, 16000)
        z = ref.encoder(xp).numpy()
    assert_close(ours.encode_latents(x.numpy()), z, 1e-6)
    for n in (1, 4):
        with torch.no_grad():
            _, codes_ref, *_ = ref.encode(xp, n_quantizers=n)
            codes_ref = codes_ref[:, :n].numpy()
            audio = ref.decode(ref.quantizer.from_codes(torch.from_numpy(codes_ref))[0]).numpy()
        codes = ours.encode(x.numpy(), n_q=n)
        assert np.array_equal(codes, codes_ref), n
        assert_close(ours.decode(codes), audio, 1e-6)


def test_checkpoint_layout_through_slm_load(tmp_path):
    import slm
    ref = _model(seed=2)
    f = tmp_path / "dac_small.pth"
    torch.save({"state_dict": ref.state_dict(), "metadata": {"kwargs": KW}}, f)
    model = slm.load(f)
    assert isinstance(model, DAC) and model.sample_rate == 16000
    x = _audio(800, b=1)
    with torch.no_grad():
        _, want, *_ = ref.encode(ref.preprocess(x, 16000))
    assert np.array_equal(model.encode(x.numpy()), want.numpy())
    with pytest.raises(ValueError, match="empty"):
        model.encode(np.zeros(0, np.float32))
    bad = x.numpy().copy()
    bad[0, 0, 3] = np.inf
    with pytest.raises(ValueError, match="NaN or Inf"):
        model.encode(bad)
    assert np.array_equal(model.encode(x.numpy()), want.numpy())


def test_transformers_dac_folder(path, tmp_path):
    tr = pytest.importorskip("transformers")
    import slm
    cfg = tr.DacConfig(encoder_hidden_size=8, downsampling_ratios=[2, 4, 5], decoder_hidden_size=32,
                       upsampling_ratios=[5, 4, 2], n_codebooks=4, codebook_size=64, codebook_dim=8,
                       sampling_rate=16000)
    ref = tr.DacModel(cfg).eval()
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for name, t in ref.named_parameters():
            if name.endswith("alpha"):
                t.copy_(torch.rand(t.shape, generator=g) * 1.5 + 0.25)
            else:
                t.copy_(torch.randn(t.shape, generator=g) * (0.1 if name.endswith("bias") else 0.3))
    ref.save_pretrained(tmp_path / "hf")
    ours = slm.load(tmp_path / "hf")
    assert isinstance(ours, DAC) and ours.sample_rate == 16000 and ours.hop_length == 40
    x = _audio(1200)
    with torch.no_grad():
        z = ref.encoder(x).numpy()
        enc = ref.encode(x, n_quantizers=4)
        want = enc.audio_codes.numpy()
        audio = ref.decode(audio_codes=enc.audio_codes).audio_values.numpy()
    assert_close(ours.encode_latents(x.numpy()), z, 1e-6)
    codes = ours.encode(x.numpy())
    assert np.array_equal(codes, want)
    assert_close(ours.decode(codes)[:, 0], audio, 1e-6)
