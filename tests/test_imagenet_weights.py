"""`weights: imagenet` files: the table against Keras's own sources, and `fetch` against a real
HTTP server on 127.0.0.1 serving a file written by Keras."""

from __future__ import annotations

import hashlib
import http.server
import importlib
import inspect
import os
import socket
import threading
from functools import partial
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
import numpy as np
import pytest
from keras_oracle import keras_model

import netspec
from netspec.keras_weights import imagenet
from netspec.keras_weights.imagenet import FILES, fetch, weight_file
from netspec.torch.keras_files import load_keras_file

MODULES = {  # application -> its keras.src.applications module
    **{a: "resnet" for a in ("resnet50", "resnet101", "resnet152")},
    **{a: "resnet" for a in ("resnet50v2", "resnet101v2", "resnet152v2")},
    "vgg16": "vgg16", "vgg19": "vgg19", "inceptionv3": "inception_v3", "xception": "xception",
    **{f"densenet{n}": "densenet" for n in (121, 169, 201)},
    **{f"efficientnetb{n}": "efficientnet" for n in range(8)},
    **{f"convnext{s}": "convnext" for s in ("tiny", "small", "base", "large", "xlarge")},
    "mobilenet": "mobilenet", "mobilenetv2": "mobilenet_v2",
}  # fmt: skip
REQUIRED = ["resnet50", "resnet101", "resnet152", "resnet50v2", "resnet101v2", "resnet152v2",
            "vgg16", "vgg19", "mobilenet", "mobilenetv2", "densenet121", "densenet169",
            "densenet201", *(f"efficientnetb{n}" for n in range(8)), "inceptionv3", "xception",
            "convnexttiny", "convnextsmall", "convnextbase", "convnextlarge"]  # fmt: skip


def keras_module(app: str):
    return importlib.import_module(f"keras.src.applications.{MODULES[app]}")


@pytest.mark.parametrize("app", REQUIRED)
def test_table_is_keras_own(app):
    module = keras_module(app)
    source = inspect.getsource(module)
    constants = {v for v in vars(module).values() if isinstance(v, str)}
    bases = {v for v in constants if v.endswith("/")}
    for (name, *_), file in FILES.items():
        if name != app:
            continue
        assert file.url in constants or any(file.url == b + file.name for b in bases), file
        assert file.url.endswith("/" + file.name)
        if file.file_hash is None:  # MobileNets: Keras's get_file has no file_hash
            assert "file_hash" not in source
        else:
            assert f'"{file.file_hash}"' in source
    hashes = getattr(module, "WEIGHTS_HASHES", None)
    if hashes is not None:  # a table in Keras too: the pairing, top and notop
        key = {"resnet": app, "efficientnet": app[-2:], "convnext": f"convnext_{app[8:]}"}
        pair = hashes[key[MODULES[app]]]
        assert (weight_file(app, True).file_hash, weight_file(app, False).file_hash) == pair


def test_mobilenet_variants_and_errors():
    assert weight_file("mobilenet").name == "mobilenet_1_0_224_tf.h5"
    assert weight_file("MobileNet", False, alpha=0.25, size=128).name == (
        "mobilenet_2_5_128_tf_no_top.h5"
    )
    assert weight_file("mobilenet_v2", alpha=1.4).name == (
        "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.4_224.h5"
    )
    with pytest.raises(netspec.NetspecError, match="no ImageNet weights for 'resnet18'"):
        weight_file("resnet18")
    with pytest.raises(netspec.NetspecError, match="Keras has no ImageNet weights for alpha"):
        weight_file("mobilenet", alpha=0.3)
    with pytest.raises(netspec.NetspecError, match="only MobileNets"):
        weight_file("resnet50", alpha=1.0)


SPEC = {"netspec": 1, "name": "m", "input_shape": [5],
        "layers": [{"type": "Dense", "units": 3, "name": "fc1"},
                   {"type": "Dense", "units": 2, "name": "fc2"}]}  # fmt: skip
NOTOP = weight_file("resnet50", False)


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A Keras-written weights file at resnet50's notop path on a local HTTP server; Keras's
    cache in tmp_path/home. Yields (model of Keras, its md5, server url)."""
    kmodel = keras_model(SPEC)
    root = tmp_path / "www"
    target = root / NOTOP.url.removeprefix(imagenet.KERAS_URL)
    target.parent.mkdir(parents=True)
    with __import__("h5py").File(target, "w") as f:  # Keras 2 format, as the real files
        from keras.src.legacy.saving.legacy_h5_format import save_weights_to_hdf5_group

        save_weights_to_hdf5_group(f, kmodel)
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv(imagenet.URL_ENV, url)
    yield kmodel, hashlib.md5(target.read_bytes()).hexdigest(), target
    server.shutdown()
    server.server_close()


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/"


def test_fetch_downloads_checks_and_reuses_the_cache(served, tmp_path, monkeypatch):
    kmodel, md5, source = served
    path = fetch("resnet50", include_top=False, hashes={NOTOP.name: md5})
    assert path == tmp_path / "home" / "models" / NOTOP.name
    assert path.read_bytes() == source.read_bytes()
    assert [p.name for p in path.parent.iterdir()] == [NOTOP.name]  # no temp file left
    model = netspec.build(netspec.from_data(SPEC), seed=0)
    assert load_keras_file(model, path) == ["fc1", "fc2"]
    x = np.random.default_rng(0).normal(size=(3, 5)).astype("float32")
    want = keras.ops.convert_to_numpy(kmodel(x))
    np.testing.assert_allclose(model(__import__("torch").tensor(x)).detach(), want, rtol=1e-5)
    # the cached file is used as it is: no server needed (sha256 hashes work the same)
    monkeypatch.setenv(imagenet.URL_ENV, closed_port_url())
    sha = hashlib.sha256(source.read_bytes()).hexdigest()
    assert fetch("resnet50", False, hashes={NOTOP.name: sha}) == path


def test_a_mismatching_file_is_refused_and_removed(served, tmp_path):
    with pytest.raises(netspec.NetspecError, match="does not match Keras's hash 0{32}; it was"):
        fetch("resnet50", include_top=False, hashes={NOTOP.name: "0" * 32})
    assert list((tmp_path / "home" / "models").iterdir()) == []


def test_the_production_hash_refuses_another_file(served, tmp_path):
    with pytest.raises(netspec.NetspecError, match=f"hash {NOTOP.file_hash}"):
        fetch("resnet50", include_top=False)
    assert list((tmp_path / "home" / "models").iterdir()) == []


def test_no_network_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setenv(imagenet.URL_ENV, closed_port_url())
    with pytest.raises(netspec.NetspecError, match="cannot download ImageNet weights") as info:
        fetch("vgg16")
    assert f"put Keras's file {weight_file('vgg16').name} in {tmp_path / 'models'}" in str(
        info.value
    )
    assert list((tmp_path / "models").iterdir()) == []


def test_unhashed_files_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(netspec.NetspecError, match="Keras publishes no hash"):
        fetch("mobilenet")


def test_cache_location(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert imagenet.cache_dir() == tmp_path / "models"
    monkeypatch.delenv("KERAS_HOME")
    assert imagenet.cache_dir() == Path.home() / ".keras" / "models"
