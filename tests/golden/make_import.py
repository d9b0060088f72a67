"""Fixtures for picogan's safetensors importer: networks written by tools/export_torch.py,
and PyTorch's outputs for them.

Run from the repository root (needs `pip install torch safetensors numpy`; takes a few
seconds):

    python3 tests/golden/make_import.py

tests/tests/import.rs loads each network file with `picogan::safetensors::File` and compares
picogan's forward passes with PyTorch's. Files written to tests/golden/:

  import_seed.safetensors       the seed pair as PyTorch users build it (Generator
                                100 -> 128 ReLU -> 784 Tanh, Discriminator 784 -> 128 ReLU
                                -> 1), float32, PyTorch's default init with torch seed 1
  import_tiny_f16.safetensors   the tiny 2-D pair (2 -> 24 -> 24 -> 2 and 2 -> 24 -> 24 -> 1,
  import_tiny_bf16.safetensors  torch seed 2) converted to float16 and to bfloat16
  import_tiny_f64.safetensors   the same pair in float64, every value moved off the float32
                                grid (see `off_grid`), so that picogan must round it
  import_expected.safetensors   inputs and references, for each case (seed, tiny_f16,
                                tiny_bf16, tiny_f64; B samples, Z noise, X data values):

    <case>.z [B, Z]        noise, float32, standard normal
    <case>.g_out [B, X]    the Generator on z, float64
    <case>.d_out [B, 1]    the Discriminator's logit on g_out rounded to float32, float64
    <case>.generator.fc.*, <case>.discriminator.fc.*
                           (tiny cases) the weights as float32 holds them: float16 and
                           bfloat16 widened, float64 rounded to nearest, ties to even

Every reference is computed by PyTorch in float64 from the weights as float32 holds them,
read back from the network file itself, so that what is compared is picogan's own float32
arithmetic. Reruns give the same files.
"""

import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "tools"))
from export_torch import build, export  # noqa: E402

SEED_BATCH = 4
TINY_BATCH = 16


class Generator(nn.Module):
    """The seed Generator, as a PyTorch user writes it."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(100, 128), nn.ReLU(), nn.Linear(128, 784), nn.Tanh())

    def forward(self, z):
        return self.fc(z)


class Discriminator(nn.Module):
    """The seed Discriminator, ending in the logit."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 1))

    def forward(self, x):
        return self.fc(x)


def off_grid(state, seed):
    """`state` in float64, each value moved by a random fraction in (-0.8, 0.8) of the
    float32 spacing above it, so that rounding to float32 sometimes goes back and sometimes
    to a neighbour; the first four weights of the first layer sit exactly halfway between two
    float32 values, where rounding goes to the even one."""
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for k, v in state.items():
        v = v.detach()
        ulp = (torch.nextafter(v, torch.tensor(float("inf"))) - v).double()
        r = torch.rand(v.shape, generator=gen, dtype=torch.float64)
        w = v.double() + (r - 0.5) * 1.6 * ulp
        if k == "fc.0.weight":
            w.view(-1)[:4] = v.view(-1)[:4].double() + 0.5 * ulp.view(-1)[:4]
        assert (w.float().double() != w).all(), f"{k}: a value is exactly a float32"
        out[k] = w
    return out


def widened(path):
    """The tensors of a network file as float32 holds them, then in float64."""
    return {k: v.float().double() for k, v in load_file(path).items()}


def references(case, g, d, path, z):
    """Inputs, outputs and (for small files) weights of `case` for import_expected."""
    w = widened(path)
    g64, d64 = g.double(), d.double()
    for net, role in ((g64, "generator."), (d64, "discriminator.")):
        net.load_state_dict({k[len(role) :]: v for k, v in w.items() if k.startswith(role)})
    with torch.no_grad():
        g_out = g64(z.double())
        d_out = d64(g_out.float().double())
    out = {f"{case}.z": z.clone(), f"{case}.g_out": g_out, f"{case}.d_out": d_out}
    if case != "seed":
        out.update({f"{case}.{k}": v.float() for k, v in w.items()})
    return out


def main():
    expected = {}

    # the seed pair in float32
    torch.manual_seed(1)
    g, d = Generator(), Discriminator()
    z = torch.randn(SEED_BATCH, 100)
    path = HERE / "import_seed.safetensors"
    export(g, d, path, dataset="idx", arch="seed")
    expected.update(references("seed", g, d, path, z))

    # the tiny pair in each other dtype
    torch.manual_seed(2)
    g, d = build("tiny", 2)
    z = torch.randn(TINY_BATCH, 2)
    cases = [
        ("tiny_f16", torch.float16, g, d),
        ("tiny_bf16", torch.bfloat16, g, d),
        ("tiny_f64", torch.float64, off_grid(g.state_dict(), 3), off_grid(d.state_dict(), 4)),
    ]
    for case, dtype, gw, dw in cases:
        path = HERE / f"import_{case}.safetensors"
        export(gw, dw, path, dataset="ring8", arch="tiny", dtype=dtype)
        expected.update(references(case, *build("tiny", 2), path, z))

    path = HERE / "import_expected.safetensors"
    save_file({k: v.contiguous() for k, v in expected.items()}, path)
    for p in sorted(HERE.glob("import_*.safetensors")):
        print(f"wrote {p.relative_to(HERE.parents[1])} ({p.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
