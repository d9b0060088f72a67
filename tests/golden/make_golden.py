"""Golden values for picogan's seed GAN pair, computed by PyTorch.

Run from the repository root (needs `pip install torch safetensors`; takes a few seconds):

    python3 tests/golden/make_golden.py

It writes tests/golden/seed_pair.safetensors, which tests/tests/golden.rs reads. The
networks are picogan's `SeedGenerator` (100 -> 128 ReLU -> 784 Tanh) and
`SeedDiscriminator` (784 -> 128 ReLU -> 1 Sigmoid), built as `nn.Sequential`s in a field
`fc`, so tensor names are `fc.0.weight`, `fc.0.bias`, `fc.2.weight`, `fc.2.bias`.
picogan's Discriminator stops at the logit (`fc[:3]` here) and fuses the Sigmoid into
the loss, as `BCEWithLogitsLoss` does.

Every reference value is computed in float64 from float32 inputs (the weights, the real
samples and the noise, stored exactly as picogan reads them), then rounded to float32
(relative error at most 2^-24, about 6e-8). Scalars and per-step statistics stay float64.
The same computations are repeated in float32, and PyTorch's own float32 error against
the float64 reference, measured as the Rust test measures picogan's, is stored in the
file's metadata under `torch_f32_error.<name>`: a yardstick for picogan's error.

Tensors in the file (S = STEPS, B = BATCH):

  g.fc.*, d.fc.*               initial weights (float32, PyTorch's default init, seed 0)
  real [S, B, 784]             real samples, uniform on [-1, 1)
  noise_d [S, B, 100]          noise for each Discriminator update
  noise_g [S, B, 100]          fresh noise for each Generator update
  fake [B, 784]                G(noise_d[0])
  logit_real, logit_fake [B]   D's logits on real[0] and on fake
  d_loss, d_real, d_fake       D loss, mean D(x), mean D(G(z)) on those (float64 scalars)
  g_loss_ns, g_loss_minimax    G losses on noise_g[0], initial weights (float64 scalars)
  grad.d.fc.*                  gradient of d_loss for D's parameters
  grad_ns.g.fc.*               gradient of g_loss_ns for G's parameters
  grad_minimax.g.fc.*          gradient of g_loss_minimax for G's parameters
  adam.delta.{g,d}.fc.*        weights after S Adam steps minus the initial weights
                               (PyTorch's float32 error on the weights themselves is in
                               the metadata as torch_f32_error.adam.{g,d}.fc.*)
  adam.stats [S, 4]            d_loss, g_loss, d_real, d_fake of each step (float64)
  sgd.delta.{g,d}.fc.*         the same after SGD_STEPS steps of SGD with momentum,
  sgd.stats [SGD_STEPS, 4]     with the minimax Generator loss

Reruns give the same tensors and metadata; the header's order, and so the file's bytes,
may differ.

The training runs follow picogan's `Gan::step` with k = 1: a Discriminator update on
real[t] and G(noise_d[t]) (loss: mean BCE on real + mean BCE on fake, no gradient into
G), then a Generator update on G(noise_g[t]) through the updated Discriminator.
The trained weights are stored as displacements so that their float32 rounding is
relative to the change, not to the weights.
"""

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

Z = 100  # picogan::models::SEED_Z
HIDDEN = 128
X = 784
BATCH = 4
STEPS = 10
SGD_STEPS = 2
OUT = Path(__file__).with_name("seed_pair.safetensors")


def f32(x):
    """`x` rounded to float32, as picogan holds its hyperparameters."""
    return float(np.float32(x))


# picogan's AdamConfig::GAN and SgdConfig::DEFAULT, with every constant rounded to f32
# as picogan stores it (f32(0.999) differs from 0.999 by 1.3e-8, which moves 1 - β₂ by
# 1.3e-5 relative).
ADAM = dict(lr=f32(2e-4), betas=(f32(0.5), f32(0.999)), eps=f32(1e-8))
SGD = dict(lr=f32(0.01), momentum=f32(0.9), dampening=0.0)


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(Z, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, X), nn.Tanh())

    def forward(self, z):
        return self.fc(z)


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(X, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 1), nn.Sigmoid())

    def forward(self, x):
        return self.fc(x)

    def logit(self, x):
        """The logit picogan's Discriminator outputs: everything but the Sigmoid."""
        return self.fc[:3](x).squeeze(1)


def d_loss_of(d, g, real, z):
    """Mean BCE on real plus mean BCE on generated samples; G is held fixed."""
    l_real = d.logit(real)
    l_fake = d.logit(g(z).detach())
    loss = F.binary_cross_entropy_with_logits(l_real, torch.ones_like(l_real))
    loss = loss + F.binary_cross_entropy_with_logits(l_fake, torch.zeros_like(l_fake))
    return loss, l_real, l_fake


def g_loss_of(d, g, z, objective):
    """Non-saturating -mean ln D(G(z)), or minimax mean ln(1 - D(G(z)))."""
    l = d.logit(g(z))
    if objective == "ns":
        return F.binary_cross_entropy_with_logits(l, torch.ones_like(l))
    return -F.binary_cross_entropy_with_logits(l, torch.zeros_like(l))


def train(g, d, opt_g, opt_d, real, noise_d, noise_g, steps, objective):
    """`steps` adversarial steps in picogan's order; returns [steps, 4] statistics."""
    stats = []
    for t in range(steps):
        # Discriminator update on real[t] and G(noise_d[t])
        opt_d.zero_grad()
        d_loss, l_real, l_fake = d_loss_of(d, g, real[t], noise_d[t])
        d_loss.backward()
        opt_d.step()

        # Generator update on fresh noise, through the updated Discriminator
        opt_g.zero_grad()
        g_loss = g_loss_of(d, g, noise_g[t], objective)
        g_loss.backward()
        opt_g.step()

        row = [d_loss, g_loss, torch.sigmoid(l_real).mean(), torch.sigmoid(l_fake).mean()]
        stats.append([v.item() for v in row])
    return torch.tensor(stats, dtype=torch.float64)


def params(prefix, module):
    return {f"{prefix}.{k}": v.detach().clone() for k, v in module.state_dict().items()}


def grads(prefix, module):
    return {f"{prefix}.{k}": p.grad.detach().clone() for k, p in module.named_parameters()}


def run(dtype, init, real, noise_d, noise_g):
    """Everything the fixture holds, computed in `dtype` from the same float32 inputs."""
    g, d = Generator().to(dtype), Discriminator().to(dtype)
    g.load_state_dict({k[2:]: v for k, v in init.items() if k.startswith("g.")})
    d.load_state_dict({k[2:]: v for k, v in init.items() if k.startswith("d.")})
    real, noise_d, noise_g = real.to(dtype), noise_d.to(dtype), noise_g.to(dtype)
    out = {}

    # forward pass and losses at the initial weights
    with torch.no_grad():
        out["fake"] = g(noise_d[0])
        d_loss, l_real, l_fake = d_loss_of(d, g, real[0], noise_d[0])
        out["logit_real"], out["logit_fake"] = l_real, l_fake
        out["d_loss"] = d_loss
        out["d_real"] = torch.sigmoid(l_real).mean()
        out["d_fake"] = torch.sigmoid(l_fake).mean()

    # gradients at the initial weights: D for the D loss, G for each G loss
    d.zero_grad()
    d_loss_of(d, g, real[0], noise_d[0])[0].backward()
    out.update(grads("grad.d", d))
    for objective in ("ns", "minimax"):
        g.zero_grad()
        loss = g_loss_of(d, g, noise_g[0], objective)
        loss.backward()
        out[f"g_loss_{objective}"] = loss.detach()
        out.update(grads(f"grad_{objective}.g", g))

    # training runs, each from the initial weights
    for name, steps, objective, make_opt in [
        ("adam", STEPS, "ns", lambda m: torch.optim.Adam(m.parameters(), **ADAM)),
        ("sgd", SGD_STEPS, "minimax", lambda m: torch.optim.SGD(m.parameters(), **SGD)),
    ]:
        g.load_state_dict({k[2:]: v for k, v in init.items() if k.startswith("g.")})
        d.load_state_dict({k[2:]: v for k, v in init.items() if k.startswith("d.")})
        stats = train(g, d, make_opt(g), make_opt(d), real, noise_d, noise_g, steps, objective)
        out[f"{name}.stats"] = stats
        after = {**params("g", g), **params("d", d)}
        for k, v in after.items():
            out[f"{name}.{k}"] = v
            out[f"{name}.delta.{k}"] = v - init[k].to(dtype)
    return {k: v.detach() for k, v in out.items()}


def rel_error(a, b):
    """max |a - b| / max |b| over a tensor, in float64: the measure golden.rs uses."""
    a, b = a.double(), b.double()
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-30)).item()


def main():
    torch.manual_seed(0)
    g, d = Generator(), Discriminator()  # PyTorch's default init, float32
    init = {**params("g", g), **params("d", d)}
    real = torch.rand(STEPS, BATCH, X) * 2 - 1
    noise_d = torch.randn(STEPS, BATCH, Z)
    noise_g = torch.randn(STEPS, BATCH, Z)

    ref = run(torch.float64, init, real, noise_d, noise_g)
    low = run(torch.float32, init, real, noise_d, noise_g)

    tensors = {**init, "real": real, "noise_d": noise_d, "noise_g": noise_g}
    metadata = {}
    for k, v in ref.items():
        metadata[f"torch_f32_error.{k}"] = f"{rel_error(low[k], v):.3e}"
        if k.startswith(("adam.", "sgd.")) and ".fc." in k and ".delta." not in k:
            continue  # trained weights: only their error is kept; the file has the delta
        scalar = v.dim() == 0 or k.endswith(".stats")
        tensors[k] = v.reshape(1) if v.dim() == 0 else v
        if not scalar:
            tensors[k] = v.to(torch.float32)
    tensors = {k: v.contiguous() for k, v in tensors.items()}
    save_file(tensors, OUT, metadata=metadata)

    size = OUT.stat().st_size
    print(f"wrote {OUT} ({size / 1e6:.2f} MB, {len(tensors)} tensors)")
    print("PyTorch float32 against float64, max |a - b| / max |b|:")
    for k in sorted(metadata):
        print(f"  {k[len('torch_f32_error.'):]:32} {metadata[k]}")
    print("adam.stats (d_loss, g_loss, d_real, d_fake):")
    print(ref["adam.stats"].numpy())


if __name__ == "__main__":
    main()
