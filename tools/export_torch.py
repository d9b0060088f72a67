#!/usr/bin/env python3
"""Write a PyTorch Generator and Discriminator to a safetensors file that picogan loads.

picogan's networks are sequences of Linear layers and element-wise activations. A PyTorch
module that holds the same sequence as an `nn.Sequential` in a field `fc` names its tensors
as picogan does: `fc.0.weight` [out, in], `fc.0.bias` [out], `fc.2.weight`, ... (an
activation holds no tensor but takes an index). The file holds both networks under the
names a parent module with fields `generator` and `discriminator` would give them:

    generator.fc.0.weight, generator.fc.0.bias, ..., discriminator.fc.0.weight, ...

with the metadata `format` = `picogan`, `crc32` (CRC-32 of the data section as 8 lowercase
hex digits, the CRC of Python's zlib.crc32, which picogan checks when it parses the file),
and `arch` and `dataset` when they are given. Either network may be left out. In Rust:

    let file = picogan::safetensors::File::parse(&bytes)?;   // bytes aligned to 8
    let opts = LoadOptions { prefix: "generator.", ..LoadOptions::STRICT };
    file.load_into(&mut generator, &opts)?;

picogan's ready-made pairs (core/src/models.rs), named as `picogan train --arch` names them;
X is the data width, set by the data set (digits 64, idx 784, ring8 and grid25 2):

  arch   data         Generator                        Discriminator
  seed   images (X)   100 -> 128 ReLU -> X Tanh        X -> 128 ReLU -> 1
  small  images (X)   16 -> 64 ReLU -> X Tanh          X -> 64 LeakyReLU(0.2) -> 1
  small  2-D points   2 -> 64 ReLU -> 64 ReLU -> 2     2 -> 64 LReLU -> 64 LReLU -> 1
  tiny   2-D points   2 -> 24 ReLU -> 24 ReLU -> 2     2 -> 24 LReLU -> 24 LReLU -> 1

(SeedGenerator / SeedDiscriminator for X = 784 and SeedShaped*<X> otherwise,
SmallGenerator<X>, PointsGenerator, TinyPointsGenerator and their Discriminators.) The
Discriminators end in a logit; a trailing nn.Sigmoid is allowed, since picogan fuses it into
the loss. With --arch the networks must be exactly that pair, activations included when
they are modules; without it any sequence of Linear, ReLU, LeakyReLU, Tanh and Sigmoid
layers is written, for networks defined with picogan's `seq!`.

Element types (--dtype): float32, the default, is what picogan computes with. float16 and
bfloat16 halve the file; picogan widens them exactly, so it computes with the weights as
rounded here. float64 keeps weights trained in double precision; picogan refuses a value
that f32 cannot hold exactly unless it is loaded with `LoadOptions { round_f64: true, .. }`.

Examples:

    # a checkpoint saved as torch.save({"generator": G.state_dict(),
    #                                   "discriminator": D.state_dict()}, "model.pt")
    python3 tools/export_torch.py --checkpoint model.pt --out model.safetensors \\
        --arch seed --dataset idx

    # a Generator kept as nn.Sequential in a field `net` (names net.0.weight, ...)
    python3 tools/export_torch.py --checkpoint g.pt --generator-key "" --only generator \\
        --rename net.=fc. --out g.safetensors

    # freshly initialised networks, to try the way into picogan without a model of your own
    python3 tools/export_torch.py --demo seed --out demo.safetensors

From a training script (networks as modules or state_dicts; None leaves one out):

    sys.path.insert(0, "path/to/picogan/tools")
    from export_torch import export
    export(generator, None, "g.safetensors", arch="seed", dataset="idx")
"""

import argparse
import json
import os
import pickle
import re
import sys
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors
from torch import nn

# The name prefixes of the two networks in the file.
ROLES = ("generator", "discriminator")

# Data sets `picogan train` knows, and their width X.
DATASETS = {"digits": 64, "idx": 784, "ring8": 2, "grid25": 2}

# The data set a --demo network is built for when none is given.
DEMO_DATASET = {"seed": "idx", "small": "digits", "tiny": "ring8"}

ARCHS = ("seed", "small", "tiny")

DTYPES = {
    "float32": torch.float32,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float64": torch.float64,
}

# picogan's LeakyReLU in its ready-made Discriminators: LeakyRelu<N, 200>, slope 0.2.
SLOPE = 0.2

# picogan reads at most this many tensors from one file (picogan::safetensors::MAX_TENSORS)
# and names of at most this many bytes.
MAX_TENSORS = 64
MAX_NAME = 64

NAME = re.compile(r"fc\.(0|[1-9][0-9]*)\.(weight|bias)")


class ExportError(ValueError):
    """A network or an option that picogan could not load; the message says which and why."""


# --- picogan's ready-made pairs ------------------------------------------------------------
#
# A layer is ("linear", in, out), ("relu",), ("leaky_relu", slope), ("tanh",) or ("sigmoid",),
# in the order of picogan's `seq!` and of the `nn.Sequential`.


def _mlp(widths, hidden, last):
    """Linear layers through `widths`, `hidden` after each but the last, `last` after it."""
    layers = []
    for i, (a, b) in enumerate(zip(widths, widths[1:])):
        layers.append(("linear", a, b))
        act = hidden if i < len(widths) - 2 else last
        if act is not None:
            layers.append(act)
    return layers


def pair_layers(arch, x):
    """The layers of picogan's pair `arch` for data `x` values wide: (Generator, Discriminator)."""
    relu, lrelu, tanh = ("relu",), ("leaky_relu", SLOPE), ("tanh",)
    if arch == "seed" and x != 2:
        return _mlp([100, 128, x], relu, tanh), _mlp([x, 128, 1], relu, None)
    if arch == "small" and x == 2:
        return _mlp([2, 64, 64, 2], relu, None), _mlp([2, 64, 64, 1], lrelu, None)
    if arch == "small":
        return _mlp([16, 64, x], relu, tanh), _mlp([x, 64, 1], lrelu, None)
    if arch == "tiny" and x == 2:
        return _mlp([2, 24, 24, 2], relu, None), _mlp([2, 24, 24, 1], lrelu, None)
    if arch in ARCHS:
        kind = "2-D points" if arch == "tiny" else "images"
        raise ExportError(f"arch {arch!r} is a pair for {kind}, not for data {x} values wide")
    raise ExportError(f"unknown arch {arch!r}; picogan's pairs are {', '.join(ARCHS)}")


def rust_types(arch, x):
    """The picogan types of pair `arch` for data `x` values wide."""
    if arch == "seed":
        return ("SeedGenerator", "SeedDiscriminator") if x == 784 else (
            f"SeedShapedGenerator<{x}>",
            f"SeedShapedDiscriminator<{x}>",
        )
    if arch == "small" and x == 2:
        return "PointsGenerator", "PointsDiscriminator"
    if arch == "small":
        return f"SmallGenerator<{x}>", f"SmallDiscriminator<{x}>"
    return "TinyPointsGenerator", "TinyPointsDiscriminator"


def _module(layer):
    kind = layer[0]
    if kind == "linear":
        return nn.Linear(layer[1], layer[2])
    if kind == "leaky_relu":
        return nn.LeakyReLU(layer[1])
    return {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}[kind]()


class Net(nn.Module):
    """A network as picogan names its tensors: an `nn.Sequential` in a field `fc`."""

    def __init__(self, layers):
        super().__init__()
        self.fc = nn.Sequential(*[_module(layer) for layer in layers])

    def forward(self, x):
        return self.fc(x)


def build(arch, x):
    """Fresh (Generator, Discriminator) of pair `arch` for data `x` values wide, with PyTorch's
    default initialisation (picogan's `Init::PyTorchDefault` draws from the same ranges)."""
    g, d = pair_layers(arch, x)
    return Net(g), Net(d)


# --- reading a network ---------------------------------------------------------------------


def _rename(name, renames):
    """`name` after the first rename whose old prefix it starts with, as picogan's
    `LoadOptions::renames` applies them."""
    for old, new in renames:
        if name.startswith(old):
            return new + name[len(old) :]
    return name


def _suggest_rename(names):
    """A rename that would give `names` picogan's form, when they share one other prefix."""
    heads = set()
    for n in names:
        m = re.fullmatch(r"((?:.*\.)?)(?:0|[1-9][0-9]*)\.(?:weight|bias)", n)
        if m is None:
            return ""
        heads.add(m.group(1))
    if len(heads) != 1:
        return ""
    head = heads.pop()
    return f"; --rename {head}=fc. (renames=[({head!r}, 'fc.')]) would map them"


def _layer_of(module, i):
    """Layer `i` of an `nn.Sequential` in picogan's terms, or an ExportError saying why not."""
    if isinstance(module, nn.Linear):
        if module.bias is None:
            raise ExportError(
                f"fc.{i} is a Linear without bias; picogan's Linear always has one "
                "(build it with bias=True)"
            )
        return ("linear", module.in_features, module.out_features)
    if isinstance(module, nn.LeakyReLU):
        slope = float(module.negative_slope)
        # picogan's LeakyRelu<N, SLOPE_PERMILLE> holds the slope in thousandths
        if slope * 1000 != round(slope * 1000):
            raise ExportError(
                f"fc.{i} is LeakyReLU({slope}); picogan's slope is a whole number of "
                "thousandths"
            )
        return ("leaky_relu", slope)
    for kind, cls in (("relu", nn.ReLU), ("tanh", nn.Tanh), ("sigmoid", nn.Sigmoid)):
        if type(module) is cls:
            return (kind,)
    hint = ""
    if isinstance(module, (nn.Dropout, nn.Identity)):
        hint = "; it does nothing at inference: leave it out and renumber the layers after it"
    raise ExportError(
        f"fc.{i} is {type(module).__name__}, which picogan does not have (it has Linear, "
        f"ReLU, LeakyReLU, Tanh and Sigmoid){hint}"
    )


@dataclass
class _Network:
    """One network, checked: its tensors under picogan's names, its Linear layers as
    (index, in, out), and all its layers when it came as a module."""

    role: str
    tensors: dict
    linears: list
    layers: list = None

    @property
    def x(self):
        """The data width: what the Generator makes, or what the Discriminator reads."""
        return self.linears[-1][2] if self.role == "generator" else self.linears[0][1]

    def describe(self):
        if self.layers is not None:
            return _describe(self.layers)
        return " -> ".join([str(self.linears[0][1])] + [str(o) for _, _, o in self.linears])


def _describe(layers):
    parts = []
    for layer in layers:
        if layer[0] == "linear":
            if not parts:
                parts.append(str(layer[1]))
            parts.append(f"-> {layer[2]}")
        elif layer[0] == "leaky_relu":
            parts.append(f"LeakyReLU({layer[1]:g})")
        else:
            parts.append({"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid"}[layer[0]])
    return " ".join(parts)


def _read(net, role, renames):
    """Checks one network (an nn.Module or a state_dict) and returns it as a _Network."""
    fc = None
    if isinstance(net, nn.Module):
        state = net.state_dict()
        for path, m in net.named_modules():
            prefix = path + "." if path else ""
            if isinstance(m, nn.Sequential) and _rename(prefix, renames) == "fc.":
                fc = m
    elif isinstance(net, Mapping):
        state = net
    else:
        kind = type(net).__name__
        raise ExportError(f"{role}: expected an nn.Module or a state_dict, got {kind}")
    if not state:
        raise ExportError(f"{role}: holds no tensors")

    # with the module at hand, its layers must be ones picogan has
    layers = None
    if fc is not None:
        try:
            layers = [_layer_of(m, i) for i, m in enumerate(fc)]
        except ExportError as e:
            raise ExportError(f"{role}: {e}") from None

    # names in picogan's form
    tensors, unknown = {}, []
    for name, t in state.items():
        if not isinstance(t, torch.Tensor):
            raise ExportError(f"{role}: `{name}` is a {type(t).__name__}, not a tensor")
        new = _rename(name, renames)
        if NAME.fullmatch(new) is None:
            unknown.append(name)
        tensors[new] = t
    if unknown:
        shown = ", ".join(f"`{n}`" for n in unknown[:6]) + (", ..." if len(unknown) > 6 else "")
        raise ExportError(
            f"{role}: tensor names must be fc.<index>.weight and fc.<index>.bias (an "
            f"nn.Sequential in a field `fc`, Linear layers only), not {shown}"
            + _suggest_rename(unknown)
        )

    # every index a Linear: a 2-D weight [out, in] and a bias [out]
    linears = []
    for i in sorted({int(NAME.fullmatch(n).group(1)) for n in tensors}):
        w, b = tensors.get(f"fc.{i}.weight"), tensors.get(f"fc.{i}.bias")
        if w is None or b is None:
            have = "bias" if w is None else "weight"
            raise ExportError(
                f"{role}: fc.{i} has a {have} and no {'weight' if w is None else 'bias'}; "
                "picogan's Linear has both"
            )
        for t, what in ((w, "weight"), (b, "bias")):
            if not t.is_floating_point():
                raise ExportError(f"{role}: fc.{i}.{what} is {t.dtype}, not floating point")
            if not bool(torch.isfinite(t).all()):
                raise ExportError(f"{role}: fc.{i}.{what} holds a NaN or infinite value")
        if w.dim() != 2 or b.dim() != 1 or b.shape[0] != w.shape[0]:
            raise ExportError(
                f"{role}: fc.{i} has weight {list(w.shape)} and bias {list(b.shape)}; a "
                "Linear layer has weight [out, in] and bias [out]"
            )
        linears.append((i, w.shape[1], w.shape[0]))
    for (i, _, out), (j, inp, _) in zip(linears, linears[1:]):
        if out != inp:
            raise ExportError(
                f"{role}: fc.{i} gives {out} values but fc.{j} takes {inp}; the layers do not "
                "join"
            )

    # without the module, the layers between are unknown: allow one activation between two
    # Linear layers, as in every ready-made pair, and none before the first
    if layers is None:
        for prev, (i, _, _) in zip([(-1, 0, 0)] + linears, linears):
            if i - prev[0] > 2 or (prev[0] < 0 and i > 0):
                where = "" if prev[0] < 0 else f" after fc.{prev[0]}"
                raise ExportError(
                    f"{role}: fc.{i} is the first Linear layer{where}; picogan's networks start "
                    "with a Linear layer and have one activation between two, so a layer "
                    "picogan lacks (Dropout, Flatten) is likely in between; leave it out and "
                    "renumber, or pass the module itself so that its layers can be checked"
                )

    # with the module, its Linear layers must be the tensors' ones
    if layers is not None:
        from_module = [(i, lay[1], lay[2]) for i, lay in enumerate(layers) if lay[0] == "linear"]
        if from_module != linears:
            raise ExportError(f"{role}: the layers of `fc` and its state_dict disagree")
    return _Network(role, tensors, linears, layers)


def _check_arch(nets, arch, dataset):
    """The data width, and the ready-made pair the networks are (None when none): exactly
    `arch` when it is given."""
    widths = {n.x for n in nets}
    if len(widths) > 1:
        g, d = nets
        raise ExportError(
            f"the generator makes {g.x} values but the discriminator reads {d.x}"
        )
    x = widths.pop()
    if dataset in DATASETS and DATASETS[dataset] != x:
        raise ExportError(
            f"data set {dataset!r} has {DATASETS[dataset]} values per sample, the networks {x}"
        )

    def fits(a):
        try:
            expected = dict(zip(ROLES, pair_layers(a, x)))
        except ExportError:
            return False
        return all(_same(n, expected[n.role]) for n in nets)

    if arch is None:
        return x, next((a for a in ARCHS if fits(a)), None)
    expected = dict(zip(ROLES, pair_layers(arch, x)))
    for n in nets:
        if not _same(n, expected[n.role]):
            raise ExportError(
                f"{n.role} is {n.describe()}, but {rust_types(arch, x)[ROLES.index(n.role)]} "
                f"(arch {arch!r}) is {_describe(expected[n.role])}"
            )
    return x, arch


def _same(net, expected):
    """True when `net` is the network `expected`: its Linear layers at the same indices, and
    the same activations when `net` came as a module (a Discriminator's final Sigmoid aside)."""
    linears = [(i, lay[1], lay[2]) for i, lay in enumerate(expected) if lay[0] == "linear"]
    if net.linears != linears:
        return False
    if net.layers is None:
        return True
    layers = net.layers
    if net.role == "discriminator" and layers[-1:] == [("sigmoid",)]:
        layers = layers[:-1]
    return layers == expected


# --- writing -------------------------------------------------------------------------------


@dataclass
class Summary:
    """What `export` wrote."""

    path: str
    bytes: int
    crc32: str
    dtype: str
    # the ready-made pair the networks are, given or recognised, and its picogan types;
    # None for other networks
    arch: str
    types: tuple
    tensors: dict


def _with_checksum(blob):
    """`blob`, a safetensors file, with the CRC-32 of its data section added to the header's
    metadata. The data and its offsets stay as they are; the header keeps the format's
    padding with spaces to a multiple of 8 bytes, so that the data starts aligned."""
    n = int.from_bytes(blob[:8], "little")
    header, data = json.loads(blob[8 : 8 + n]), blob[8 + n :]
    header.setdefault("__metadata__", {})["crc32"] = f"{zlib.crc32(data) & 0xFFFFFFFF:08x}"
    text = json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    text = text.encode()
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text + data


def serialize(
    generator, discriminator, *, dataset=None, arch=None, dtype=torch.float32, renames=()
):
    """The bytes `export` writes, the arch the networks are (given or recognised, else None)
    and their data width."""
    if dtype not in DTYPES.values():
        raise ExportError(f"dtype {dtype} is not one of {', '.join(DTYPES)}")
    if arch is not None and arch not in ARCHS:
        raise ExportError(f"unknown arch {arch!r}; picogan's pairs are {', '.join(ARCHS)}")
    given = [(role, net) for role, net in zip(ROLES, (generator, discriminator)) if net is not None]
    if not given:
        raise ExportError("neither a generator nor a discriminator to write")
    nets = [_read(net, role, list(renames)) for role, net in given]
    x, pair = _check_arch(nets, arch, dataset)

    # each tensor converted, contiguous, under its role's prefix
    out = {}
    for n in nets:
        for name, t in n.tensors.items():
            v = t.detach().to("cpu", dtype).contiguous().clone()
            if not bool(torch.isfinite(v).all()):
                raise ExportError(
                    f"{n.role}: {name} has a value beyond the range of {dtype} "
                    f"(largest {torch.finfo(dtype).max:g})"
                )
            out[f"{n.role}.{name}"] = v
    if len(out) > MAX_TENSORS:
        raise ExportError(f"{len(out)} tensors; picogan reads at most {MAX_TENSORS} per file")
    long = [k for k in out if len(k.encode()) > MAX_NAME]
    if long:
        raise ExportError(f"`{long[0]}` is longer than the {MAX_NAME} bytes picogan allows")

    # only what the caller states goes into the metadata: a pair recognised by its shapes
    # alone may still differ in its activations
    metadata = {"format": "picogan"}
    if arch is not None:
        metadata["arch"] = arch
    if dataset is not None:
        metadata["dataset"] = str(dataset)
    blob = _with_checksum(save_safetensors(out, metadata=metadata))

    # read back: every tensor as it was converted, bit for bit
    back = load_safetensors(blob)
    assert back.keys() == out.keys()
    assert all(back[k].dtype == v.dtype and torch.equal(back[k], v) for k, v in out.items())
    return blob, pair, x


def export(
    generator, discriminator, path, *, dataset=None, arch=None, dtype=torch.float32, renames=()
):
    """Writes `generator` and `discriminator` to the safetensors file `path` for picogan.

    Each network is an nn.Module or its state_dict, or None to leave it out. `arch` (seed,
    small or tiny) requires the networks to be that ready-made pair of picogan and records it
    in the metadata, as does `dataset` (digits, idx, ring8, grid25, or a name of your own).
    `dtype` is float32, float16, bfloat16 or float64. `renames` holds (old, new) prefix
    renames applied to each network's tensor names, first match only: [("net.", "fc.")]
    turns net.0.weight into fc.0.weight.

    Raises ExportError, naming the tensor or layer at fault, for a network picogan could not
    load. The file is written beside `path` first and then renamed over it.
    """
    blob, arch, x = serialize(
        generator, discriminator, dataset=dataset, arch=arch, dtype=dtype, renames=renames
    )
    path = os.fspath(path)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(blob)
    os.replace(tmp, path)
    n = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8 : 8 + n])
    tensors = {k: v["shape"] for k, v in sorted(header.items()) if k != "__metadata__"}
    name = next(k for k, v in DTYPES.items() if v == dtype)
    types = None if arch is None else rust_types(arch, x)
    return Summary(path, len(blob), header["__metadata__"]["crc32"], name, arch, types, tensors)


# --- the command ---------------------------------------------------------------------------


def _load_checkpoint(path, trust):
    try:
        return torch.load(path, map_location="cpu", weights_only=not trust)
    except FileNotFoundError:
        raise ExportError(f"{path}: no such file") from None
    except pickle.UnpicklingError:
        if trust:
            raise
        raise ExportError(
            f"{path}: holds pickled objects other than tensors and dicts, such as whole "
            "modules; save state_dicts instead, or pass --trust-checkpoint to unpickle them "
            "(which runs code from the file)"
        ) from None
    except Exception as e:  # torch.load raises several kinds for files it cannot read
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        why = f"{type(e).__name__}: {first}"
        raise ExportError(f"{path}: torch.load cannot read it ({why})") from None


def _pick(ckpt, key, path):
    """The network stored under `key` in a checkpoint: a value of a dict, or the tensors of a
    flat state_dict under `key.` (all of them for an empty key). None when there is none."""
    if isinstance(ckpt, nn.Module):
        ckpt = ckpt.state_dict()
    if not isinstance(ckpt, Mapping):
        raise ExportError(f"{path}: holds a {type(ckpt).__name__}, not a dict")
    if key in ckpt and not isinstance(ckpt[key], torch.Tensor):
        return ckpt[key]
    prefix = key + "." if key else ""
    flat = {
        k[len(prefix) :]: v
        for k, v in ckpt.items()
        if isinstance(v, torch.Tensor) and k.startswith(prefix)
    }
    return flat or None


def main(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="\n\n".join(__doc__.split("\n\n")[1:]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="a torch.save'd dict holding the networks' state_dicts under the keys below, or "
        "one flat state_dict of a module with those fields",
    )
    src.add_argument(
        "--demo",
        metavar="ARCH",
        choices=ARCHS,
        help="write freshly initialised networks of pair ARCH (seed, small or tiny) instead",
    )
    p.add_argument("--out", metavar="FILE", required=True, help="the safetensors file to write")
    p.add_argument(
        "--arch", choices=ARCHS, help="require this ready-made pair and record it (see below)"
    )
    p.add_argument(
        "--dataset",
        metavar="NAME",
        help="record the data set: digits, idx, ring8, grid25 (whose width is then checked) "
        "or a name of your own; with --demo it also sets the data width",
    )
    p.add_argument(
        "--dtype",
        choices=DTYPES,
        default="float32",
        help="element type in the file: float32 (default), float16, bfloat16 or float64",
    )
    p.add_argument(
        "--rename",
        metavar="OLD=NEW",
        action="append",
        default=[],
        help="rename tensor names starting with OLD to start with NEW instead (first match; "
        "repeatable), e.g. net.=fc. or module.fc.=fc.",
    )
    p.add_argument("--generator-key", metavar="KEY", default="generator", help="default: generator")
    p.add_argument(
        "--discriminator-key", metavar="KEY", default="discriminator", help="default: discriminator"
    )
    p.add_argument("--only", choices=ROLES, help="write this network and leave the other out")
    p.add_argument(
        "--trust-checkpoint",
        action="store_true",
        help="let torch.load unpickle arbitrary objects, such as whole modules (runs code from "
        "the file; only for files you trust)",
    )
    p.add_argument("--seed", type=int, default=0, help="torch seed of --demo (default 0)")
    a = p.parse_args(argv)

    try:
        renames = []
        for r in a.rename:
            if "=" not in r:
                raise ExportError(f"--rename {r!r}: expected OLD=NEW")
            renames.append(tuple(r.split("=", 1)))

        arch = a.arch
        if a.demo:
            if arch is not None and arch != a.demo:
                raise ExportError(f"--demo {a.demo} with --arch {arch}")
            arch = a.demo
            dataset = a.dataset or DEMO_DATASET[a.demo]
            if dataset not in DATASETS:
                raise ExportError(f"--demo needs a data set picogan knows: {', '.join(DATASETS)}")
            torch.manual_seed(a.seed)
            nets = dict(zip(ROLES, build(a.demo, DATASETS[dataset])))
        else:
            ckpt = _load_checkpoint(a.checkpoint, a.trust_checkpoint)
            keys = dict(zip(ROLES, (a.generator_key, a.discriminator_key)))
            nets = {role: _pick(ckpt, key, a.checkpoint) for role, key in keys.items()}
            if a.only is None and all(n is None for n in nets.values()):
                shown = list(ckpt)[:10] if isinstance(ckpt, Mapping) else []
                raise ExportError(
                    f"{a.checkpoint}: nothing under {keys['generator']!r} or "
                    f"{keys['discriminator']!r} (its keys: {shown}); name them with "
                    "--generator-key / --discriminator-key"
                )
        if a.only is not None:
            other = ROLES[1 - ROLES.index(a.only)]
            nets[other] = None
            if nets[a.only] is None:
                raise ExportError(f"{a.checkpoint}: no {a.only} in it")
        s = export(
            nets["generator"],
            nets["discriminator"],
            a.out,
            dataset=a.dataset,
            arch=arch,
            dtype=DTYPES[a.dtype],
            renames=renames,
        )
    except ExportError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1

    print(f"wrote {s.path}: {s.bytes:,} bytes, {s.dtype}, crc32 {s.crc32}")
    for name, shape in s.tensors.items():
        print(f"  {name:32} {shape}")
    for role, net in nets.items():
        if net is None:
            print(f"no {role} in it")
    if s.arch is None:
        print("none of picogan's ready-made pairs: load it into a seq! of the same layers")
    else:
        types = [t for t, net in zip(s.types, nets.values()) if net is not None]
        print(f"arch {s.arch}: picogan's {' and '.join(types)}")
    return 0

if __name__ == "__main__":
    sys.exit(main())
