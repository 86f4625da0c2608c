"""The ImageNet weight files of `keras.applications`, fetched as Keras fetches them.

The table holds Keras's own file names, URLs and hashes (from keras/src/applications/*.py;
tests/test_imagenet_weights.py checks it against the installed Keras). `fetch` looks in
Keras's cache first (`$KERAS_HOME/models`, else `~/.keras/models`, under Keras's file name, so
a file Keras downloaded is reused), downloads it when absent, and checks its hash by Keras's
rule (sha256 when the hash has 64 hex digits, else md5); a file that fails the check, or that
Keras publishes no hash for (MobileNet, MobileNetV2), is never loaded. `NETSPEC_WEIGHTS_URL`
replaces Keras's URL prefix `https://storage.googleapis.com/` (a mirror holding the same paths).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import NetspecError

KERAS_URL = "https://storage.googleapis.com/"
APPS = KERAS_URL + "tensorflow/keras-applications/"
URL_ENV = "NETSPEC_WEIGHTS_URL"


@dataclass(frozen=True)
class WeightFile:
    name: str  # Keras's file name, also its name in Keras's cache
    url: str  # Keras's URL
    file_hash: str | None  # Keras's hash (None: Keras checks nothing)


def _tf_kernels(folder: str, stem: str, hashes: tuple[str, str]) -> dict[bool, WeightFile]:
    names = {True: f"{stem}_weights_tf_dim_ordering_tf_kernels.h5"}
    names[False] = names[True].replace(".h5", "_notop.h5")
    return {top: WeightFile(names[top], f"{APPS}{folder}/{names[top]}", hashes[not top])
            for top in (True, False)}  # fmt: skip


def _named(base: str, stem: str, hashes: tuple[str, str]) -> dict[bool, WeightFile]:
    return {top: WeightFile(name, base + name, hashes[not top])
            for top, name in ((True, f"{stem}.h5"), (False, f"{stem}_notop.h5"))}  # fmt: skip


TF_KERNELS = {  # application: (folder, top hash, notop hash)
    "resnet50": ("resnet", "2cb95161c43110f7111970584f804107", "4d473c1dd8becc155b73f8504c6f6626"),
    "resnet101": ("resnet", "f1aeb4b969a6efcfb50fad2f0c20cfc5", "88cf7a10940856eca736dc7b7e228a21"),
    "resnet152": ("resnet", "100835be76be38e30d865e96f2aaae62", "ee4c566cf9a93f14d82f913c2dc6dd0c"),
    "resnet50v2": (
        "resnet",
        "3ef43a0b657b3be2300d5770ece849e0",
        "fac2f116257151a9d068a22e544a4917",
    ),
    "resnet101v2": (
        "resnet",
        "6343647c601c52e1368623803854d971",
        "c0ed64b8031c3730f411d2eb4eea35b5",
    ),
    "resnet152v2": (
        "resnet",
        "a49b44d1979771252814e80f8ec446f9",
        "ed17cf2e0169df9d443503ef94b23b33",
    ),
    "vgg16": ("vgg16", "64373286793e3c8b2b4e3219cbf3544b", "6d6bbae143d832006294945121d1f1fc"),
    "vgg19": ("vgg19", "cbe5617147190e668d6c5d5026f83318", "253f8cb515780f3b799900260a226db6"),
    "densenet121": (
        "densenet",
        "9d60b8095a5708f2dcce2bca79d332c7",
        "30ee3e1110167f948a6b9946edeeb738",
    ),
    "densenet169": (
        "densenet",
        "d699b8f76981ab1b30698df4c175e90b",
        "b8c4d4c20dd625c148057b9ff1c1176b",
    ),
    "densenet201": (
        "densenet",
        "1ceb130c1ea1b78c3bf6114dbdfd8807",
        "c13680b51ded0fb44dff2d8f86ac8bb1",
    ),
    "inceptionv3": (
        "inception_v3",
        "9a0d58056eeedaa3f26cb7ebd46da564",
        "bcbd6486424b2319ff4ef7d526e38f63",
    ),
    "xception": (
        "xception",
        "0a58e3b7378bc2990ea3b43d5981f1f6",
        "b0042744bf5b25fce3cb969f33bebb97",
    ),
}
EFFICIENTNET = {  # Keras's WEIGHTS_HASHES of efficientnet.py: (top, notop)
    "b0": ("902e53a9f72be733fc0bcb005b3ebbac", "50bc09e76180e00e4465e1a485ddc09d"),
    "b1": ("1d254153d4ab51201f1646940f018540", "74c4e6b3e1f6a1eea24c589628592432"),
    "b2": ("b15cce36ff4dcbd00b6dd88e7857a6ad", "111f8e2ac8aa800a7a99e3239f7bfb39"),
    "b3": ("ffd1fdc53d0ce67064dc6a9c7960ede0", "af6d107764bb5b1abb91932881670226"),
    "b4": ("18c95ad55216b8f92d7e70b3a046e2fc", "ebc24e6d6c33eaebbd558eafbeedf1ba"),
    "b5": ("ace28f2a6363774853a83a0b21b9421a", "38879255a25d3c92d5e44e04ae6cec6f"),
    "b6": ("165f6e37dce68623721b423839de8be5", "9ecce42647a20130c1f39a5d4cb75743"),
    "b7": ("8c03f828fec3ef71311cd463b6759d99", "cbcfe4450ddf6f3ad90b1b398090fe4a"),
}
CONVNEXT = {  # Keras's WEIGHTS_HASHES of convnext.py (sha256): (top, notop)
    "tiny": (
        "8ae6e78ce2933352b1ef4008e6dd2f17bc40771563877d156bc6426c7cf503ff",
        "d547c096cabd03329d7be5562c5e14798aa39ed24b474157cef5e85ab9e49ef1",
    ),
    "small": (
        "ce1277d8f1ee5a0ef0e171469089c18f5233860ceaf9b168049cb9263fd7483c",
        "6fc8009faa2f00c1c1dfce59feea9b0745eb260a7dd11bee65c8e20843da6eab",
    ),
    "base": (
        "52cbb006d3dadd03f6e095a8ca1aca47aecdd75acb4bc74bce1f5c695d0086e6",
        "40a20c5548a5e9202f69735ecc06c990e6b7c9d2de39f0361e27baeb24cb7c45",
    ),
    "large": (
        "070c5ed9ed289581e477741d3b34beffa920db8cf590899d6d2c67fba2a198a6",
        "96f02b6f0753d4f543261bc9d09bed650f24dd6bc02ddde3066135b63d23a1cd",
    ),
    "xlarge": (
        "c1f5ccab661354fc3a79a10fa99af82f0fbf10ec65cb894a3ae0815f17a889ee",
        "de3f8a54174130e0cecdc71583354753d557fcf1f4487331558e2a16ba0cfe05",
    ),
}
MOBILENET_ALPHAS = {1.0: "1_0", 0.75: "7_5", 0.5: "5_0", 0.25: "2_5"}  # Keras's alpha_text
MOBILENET_SIZES = (128, 160, 192, 224)
MOBILENET_V2_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
MOBILENET_V2_SIZES = (96, 128, 160, 192, 224)


def _table() -> dict[tuple[str, bool, float | None, int | None], WeightFile]:
    """{(application, include_top, alpha, size): file}; alpha and size only for MobileNets."""
    table: dict[tuple[str, bool, float | None, int | None], WeightFile] = {}

    def add(app: str, files: dict[bool, WeightFile], alpha=None, size=None) -> None:
        for top, file in files.items():
            table[(app, top, alpha, size)] = file

    for app, (folder, top, notop) in TF_KERNELS.items():
        stem = "inception_v3" if app == "inceptionv3" else app
        add(app, _tf_kernels(folder, stem, (top, notop)))
    for b, hashes in EFFICIENTNET.items():
        add(
            f"efficientnet{b}",
            _named(KERAS_URL + "keras-applications/", f"efficientnet{b}", hashes),
        )
    for size_name, hashes in CONVNEXT.items():
        add(f"convnext{size_name}", _named(APPS + "convnext/", f"convnext_{size_name}", hashes))
    for alpha, size, files in _mobilenets():
        add("mobilenet" if "v2" not in files[True].name else "mobilenetv2", files, alpha, size)
    return table  # fmt: skip


def _mobilenets():
    """(alpha, size, {include_top: file}) of MobileNet and MobileNetV2 (Keras: no hashes)."""
    for alpha, text in MOBILENET_ALPHAS.items():
        for size in MOBILENET_SIZES:
            stem = f"mobilenet_{text}_{size}_tf"
            yield alpha, size, _unhashed("mobilenet", stem + ".h5", stem + "_no_top.h5")
    for alpha in MOBILENET_V2_ALPHAS:
        for size in MOBILENET_V2_SIZES:
            stem = f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{size}"
            yield alpha, size, _unhashed("mobilenet_v2", stem + ".h5", stem + "_no_top.h5")


def _unhashed(folder: str, top: str, notop: str) -> dict[bool, WeightFile]:
    return {t: WeightFile(n, f"{APPS}{folder}/{n}", None) for t, n in ((True, top), (False, notop))}


FILES = _table()
APPLICATIONS = tuple(dict.fromkeys(app for app, *_ in FILES))


def weight_file(
    application: str, include_top: bool = True, alpha: float | None = None, size: int | None = None
) -> WeightFile:
    """Keras's ImageNet file of `application` (a lower-case keras.applications name: resnet50,
    mobilenetv2, efficientnetb0, convnexttiny, ...); MobileNets take `alpha` (default 1.0) and
    `size` (the input's rows, default 224)."""
    app = application.lower().replace("_", "")
    if app not in APPLICATIONS:
        raise NetspecError(
            f"no ImageNet weights for '{application}' (choose one of: {', '.join(APPLICATIONS)})"
        )
    if app.startswith("mobilenet"):
        alpha, size = 1.0 if alpha is None else float(alpha), 224 if size is None else size
    elif alpha is not None or size is not None:
        raise NetspecError(f"{app}: only MobileNets have alpha and size variants")
    file = FILES.get((app, bool(include_top), alpha, size))
    if file is None:
        variants = sorted({(a, s) for (name, _, a, s) in FILES if name == app})
        raise NetspecError(
            f"{app}: Keras has no ImageNet weights for alpha={alpha}, size={size} "
            f"(alpha, size): {', '.join(map(str, variants))}"
        )
    return file


def cache_dir() -> Path:
    """Keras's cache of application weights: $KERAS_HOME/models, else ~/.keras/models."""
    home = os.environ.get("KERAS_HOME")
    return Path(home if home else Path.home() / ".keras") / "models"


def file_url(file: WeightFile) -> str:
    base = os.environ.get(URL_ENV)
    if not base:
        return file.url
    return base.rstrip("/") + "/" + file.url.removeprefix(KERAS_URL)


def fetch(
    application: str,
    include_top: bool = True,
    *,
    alpha: float | None = None,
    size: int | None = None,
    hashes: Mapping[str, str] | None = None,
) -> Path:
    """The path of Keras's ImageNet weights file of `application`, downloaded into Keras's
    cache when not there, its hash checked. `hashes` ({file name: hash}) replaces the table's
    hashes (for tests)."""
    file = weight_file(application, include_top, alpha, size)
    expected = file.file_hash if hashes is None else hashes.get(file.name)
    if expected is None:
        raise NetspecError(
            f"{file.name}: Keras publishes no hash for this file, and netspec loads no unchecked "
            f"weights: download {file.url}, check it, and load it with --weights FILE"
        )
    path = cache_dir() / file.name
    if path.is_file() and _matches(path, expected):
        return path
    _download(file_url(file), path)
    if not _matches(path, expected):
        path.unlink(missing_ok=True)
        raise NetspecError(
            f"{file_url(file)}: the downloaded file does not match Keras's hash {expected}; "
            "it was removed"
        )
    return path


def _matches(path: Path, expected: str) -> bool:
    """Keras's rule (file_utils.resolve_hasher): sha256 for a 64-digit hash, else md5."""
    hasher = hashlib.sha256() if len(expected) == 64 else hashlib.md5()  # noqa: S324 - Keras's
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            hasher.update(chunk)
    return hasher.hexdigest() == expected.lower()


def _download(url: str, path: Path) -> None:
    """`url` to `path`, atomically (a temp file beside it, renamed once whole)."""
    import shutil
    import urllib.error
    import urllib.request

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NetspecError(
            f"{path.parent}: cannot create the weights cache: {exc.strerror}"
        ) from None
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310
            shutil.copyfileobj(response, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        Path(tmp).unlink(missing_ok=True)
        reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc
        raise NetspecError(
            f"{url}: cannot download ImageNet weights ({reason}); without a network, put "
            f"Keras's file {path.name} in {path.parent}, or set {URL_ENV} to a mirror"
        ) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
