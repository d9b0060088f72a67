#!/usr/bin/env python3
"""Steps per second of one adversarial training step in PyTorch, for comparison with
picogan's `cargo bench -p picogan --bench train_step` (core/benches/train_step.rs).

Run from anywhere, with PyTorch installed:

    python3 tools/bench_torch.py                      # every pair and batch size
    python3 tools/bench_torch.py --pair seed --batch 64 --repeats 9
    python3 tools/bench_torch.py --threads 1          # one core, as picogan uses

The step is the one `Gan::step` takes with `StepConfig::DEFAULT`: a Discriminator update
on a real batch and a generated batch (detached from the Generator), then a Generator
update on fresh noise with the non-saturating loss -ln D(G(z)); Adam on both networks with
lr 2e-4 and betas (0.5, 0.999). float32 on the CPU, with PyTorch's default thread count
unless --threads says otherwise; picogan runs on one thread. With several threads PyTorch
slows down sharply when another process takes a core, so run it on an idle machine.
The Discriminators end in a logit and the Sigmoid is fused into BCEWithLogitsLoss, as in
picogan.

Each configuration runs warm-up steps first, then `--repeats` timed runs of about
`--seconds` each; the figure printed is the median of the runs' steps per second.
"""

import argparse
import math
import statistics
import time

import torch
from torch import nn

# Number of distinct real samples the real batches cycle through, as in the Rust bench.
REAL_SAMPLES = 256


def seed_pair():
    """picogan's SeedGenerator / SeedDiscriminator: 100 -> 128 -> 784, 784 -> 128 -> 1."""
    g = nn.Sequential(nn.Linear(100, 128), nn.ReLU(), nn.Linear(128, 784), nn.Tanh())
    d = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 1))
    return g, d, 100, 784


def small64_pair():
    """picogan's SmallGenerator<64> / SmallDiscriminator<64>: 16 -> 64 -> 64, 64 -> 64 -> 1."""
    g = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 64), nn.Tanh())
    d = nn.Sequential(nn.Linear(64, 64), nn.LeakyReLU(0.2), nn.Linear(64, 1))
    return g, d, 16, 64


PAIRS = {"seed": seed_pair, "small64": small64_pair}


class Trainer:
    """One pair, its optimizers and its data, ready to take steps of a fixed batch size."""

    def __init__(self, pair, batch):
        torch.manual_seed(1)
        self.g, self.d, self.z, x = PAIRS[pair]()
        self.batch = batch
        adam = dict(lr=2e-4, betas=(0.5, 0.999))
        self.opt_g = torch.optim.Adam(self.g.parameters(), **adam)
        self.opt_d = torch.optim.Adam(self.d.parameters(), **adam)
        self.loss = nn.BCEWithLogitsLoss()
        # real samples: [REAL_SAMPLES, X], uniform on [-1, 1) like images scaled for a Tanh
        self.real = torch.rand(REAL_SAMPLES, x) * 2 - 1
        self.ones = torch.ones(batch, 1)
        self.zeros = torch.zeros(batch, 1)
        self.next = 0

    def real_batch(self):
        idx = torch.arange(self.next, self.next + self.batch) % REAL_SAMPLES
        self.next = (self.next + self.batch) % REAL_SAMPLES
        return self.real[idx]

    def step(self):
        # Discriminator: -ln D(x) - ln(1 - D(G(z))), batch means; no gradient into G
        x = self.real_batch()
        fake = self.g(torch.randn(self.batch, self.z)).detach()
        d_loss = self.loss(self.d(x), self.ones) + self.loss(self.d(fake), self.zeros)
        self.opt_d.zero_grad()
        d_loss.backward()
        self.opt_d.step()

        # Generator: -ln D(G(z)) on fresh noise, through the just-updated D
        g_loss = self.loss(self.d(self.g(torch.randn(self.batch, self.z))), self.ones)
        self.opt_g.zero_grad()
        g_loss.backward()
        self.opt_g.step()
        return d_loss.item(), g_loss.item()


def timed(trainer, steps):
    """Seconds taken by `steps` steps."""
    start = time.perf_counter()
    for _ in range(steps):
        trainer.step()
    return time.perf_counter() - start


def bench(pair, batch, repeats, seconds, warmup):
    """Median steps per second over `repeats` runs of about `seconds` each."""
    trainer = Trainer(pair, batch)

    # warm-up in doubling chunks; the last chunk, past the slow first calls, sizes the runs
    steps, elapsed, total = 1, 0.0, 0.0
    while total < warmup or steps < 16:
        steps *= 2
        elapsed = timed(trainer, steps)
        total += elapsed
    per_run = max(1, round(steps * seconds / elapsed))

    rates = [per_run / timed(trainer, per_run) for _ in range(repeats)]
    losses = trainer.step()
    assert all(map(math.isfinite, losses)), f"{pair} b{batch} diverged"
    return statistics.median(rates), min(rates), max(rates), per_run


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pair", choices=[*PAIRS, "all"], default="all")
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--repeats", type=int, default=7, help="timed runs (default 7)")
    parser.add_argument("--seconds", type=float, default=0.5, help="length of a run (default 0.5)")
    parser.add_argument("--warmup", type=float, default=0.5, help="warm-up seconds (default 0.5)")
    parser.add_argument("--threads", type=int, help="intra-op threads (default: PyTorch's own)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    pairs = list(PAIRS) if args.pair == "all" else [args.pair]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float32, CPU")
    print(f"{'config':<14} {'steps/s':>10} {'min':>10} {'max':>10} {'ms/step':>9} {'steps/run':>9}")
    for pair in pairs:
        for batch in args.batch:
            med, lo, hi, per_run = bench(pair, batch, args.repeats, args.seconds, args.warmup)
            name = f"{pair}/b{batch}"
            print(f"{name:<14} {med:>10.1f} {lo:>10.1f} {hi:>10.1f} {1e3 / med:>9.3f} {per_run:>9}")


if __name__ == "__main__":
    main()
