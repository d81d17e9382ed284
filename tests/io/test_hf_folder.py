"""Hugging Face folders (single file and sharded, safetensors and pytorch_model.bin),
made with safetensors/torch directly, and load_state_dict's dispatch on content."""
import json

import numpy as np
import pytest

import slm.io as sio
from slm.io import CheckpointError

CONFIG = {"model_type": "hubert", "hidden_size": 8, "num_hidden_layers": 2,
          "architectures": ["HubertModel"]}


def _state(torch):
    g = torch.Generator().manual_seed(0)
    return {f"encoder.layers.{i}.{w}": torch.randn(8, 8, generator=g)
            for i in range(2) for w in ("q.weight", "k.weight")} | {
        "embed.bias": torch.randn(8, generator=g).bfloat16()}


def _expect(sd, torch):
    return {k: (v.float() if v.dtype == torch.bfloat16 else v).numpy() for k, v in sd.items()}


def _check(out, want):
    assert sorted(out) == sorted(want)
    for k in want:
        assert out[k].dtype == want[k].dtype and np.array_equal(out[k], want[k]), k


def _write_folder(path, torch, layout, sd):
    st_torch = pytest.importorskip("safetensors.torch")
    path.mkdir()
    (path / "config.json").write_text(json.dumps(CONFIG))
    single = {"safetensors": "model.safetensors", "bin": "pytorch_model.bin"}
    if layout in single:
        if layout == "safetensors":
            st_torch.save_file(sd, str(path / single[layout]), metadata={"format": "pt"})
        else:
            torch.save(sd, path / single[layout])
        return
    kind = layout.split("-")[0]
    names = sorted(sd)
    shards = [names[:2], names[2:]]
    wmap = {}
    for i, part in enumerate(shards):
        fname = (f"model-{i + 1:05d}-of-00002.safetensors" if kind == "safetensors"
                 else f"pytorch_model-{i + 1:05d}-of-00002.bin")
        chunk = {k: sd[k] for k in part}
        if kind == "safetensors":
            st_torch.save_file(chunk, str(path / fname))
        else:
            torch.save(chunk, path / fname)
        wmap.update({k: fname for k in part})
    index = "model.safetensors.index.json" if kind == "safetensors" else "pytorch_model.bin.index.json"
    (path / index).write_text(json.dumps({"metadata": {"total_size": 0}, "weight_map": wmap}))


@pytest.mark.parametrize("layout", ["safetensors", "bin", "safetensors-sharded", "bin-sharded"])
def test_layouts(tmp_path, torch, layout):
    sd = _state(torch)
    folder = tmp_path / "m"
    _write_folder(folder, torch, layout, sd)
    config, tensors = sio.load_hf_folder(folder)
    assert config == CONFIG
    _check(tensors, _expect(sd, torch))
    assert sio.checkpoint_kind(folder) == "folder"
    _check(sio.load_state_dict(folder), _expect(sd, torch))


def test_prefers_safetensors(tmp_path, torch):
    sd = _state(torch)
    folder = tmp_path / "m"
    _write_folder(folder, torch, "safetensors", sd)
    torch.save({"other": torch.zeros(1)}, folder / "pytorch_model.bin")
    assert sorted(sio.load_hf_folder(folder)[1]) == sorted(sd)


def test_errors(tmp_path, torch):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError) as e:
        sio.load_hf_folder(empty)
    for name in ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                 "pytorch_model.bin.index.json"):
        assert name in str(e.value)
    with pytest.raises(FileNotFoundError, match="not a folder"):
        sio.load_hf_folder(tmp_path / "nope")
    sd = _state(torch)
    folder = tmp_path / "m"
    _write_folder(folder, torch, "safetensors-sharded", sd)
    idx = folder / "model.safetensors.index.json"
    good = json.loads(idx.read_text())
    bad = dict(good, weight_map=dict(good["weight_map"], extra="model-00001-of-00002.safetensors"))
    idx.write_text(json.dumps(bad))
    with pytest.raises(CheckpointError, match="lacks tensors the index maps to it"):
        sio.load_hf_folder(folder)
    idx.write_text(json.dumps(dict(good, weight_map={"a": "../../etc/passwd"})))
    with pytest.raises(CheckpointError, match="not a file name in the folder"):
        sio.load_hf_folder(folder)
    idx.write_text(json.dumps(dict(good, weight_map={"a": "missing.safetensors"})))
    with pytest.raises(CheckpointError, match="missing"):
        sio.load_hf_folder(folder)
    idx.write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        sio.load_hf_folder(folder)
    (folder / "config.json").write_text("[1]")
    with pytest.raises(CheckpointError, match="JSON object"):
        sio.load_hf_folder(folder)
    # a pytorch_model.bin that is not a state dict
    other = tmp_path / "o"
    other.mkdir()
    torch.save([torch.zeros(1)], other / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match="not a state dict"):
        sio.load_hf_folder(other)


def test_load_state_dict_dispatch_by_content(tmp_path, torch):
    sd = {"w": torch.arange(6.0).reshape(2, 3)}
    want = {"w": np.arange(6.0, dtype=np.float32).reshape(2, 3)}
    st_torch = pytest.importorskip("safetensors.torch")
    # extensions that lie: the content decides
    st_torch.save_file(sd, str(tmp_path / "a.bin"))
    torch.save(sd, tmp_path / "b.safetensors")
    torch.save(sd, tmp_path / "c.pt", _use_new_zipfile_serialization=False)
    for name, kind in (("a.bin", "safetensors"), ("b.safetensors", "torch-zip"),
                       ("c.pt", "torch-legacy")):
        assert sio.checkpoint_kind(tmp_path / name) == kind
        _check(sio.load_state_dict(tmp_path / name), want)
    (tmp_path / "junk").write_bytes(b"\x00" * 32)
    with pytest.raises(CheckpointError, match="not a known checkpoint"):
        sio.load_state_dict(tmp_path / "junk")
    with pytest.raises(FileNotFoundError):
        sio.load_state_dict(tmp_path / "missing")
    # save_state_dict writes safetensors that torch-free and torch readers agree on
    sio.save_state_dict(tmp_path / "out.safetensors", want, metadata={"k": "v"})
    _check(sio.load_state_dict(tmp_path / "out.safetensors"), want)
    assert torch.equal(st_torch.load_file(str(tmp_path / "out.safetensors"))["w"], sd["w"])
