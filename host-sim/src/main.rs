//! The `picogan` command.

use anyhow::Result;
use clap::{Parser, Subcommand};
use picogan::GeneratorLoss;
use picogan_host::train::{self, Arch, Dataset, Schedule, TrainOptions};
use std::path::PathBuf;
use std::process::ExitCode;

/// Train and sample tiny GANs with the same core that runs on microcontrollers.
#[derive(Parser)]
#[command(name = "picogan", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a GAN, evaluate it, and write weights, pictures and metrics.
    Train(TrainArgs),
    /// Draw samples from a trained Generator.
    Sample(SampleArgs),
}

#[derive(clap::Args)]
struct TrainArgs {
    /// Real data: digits (built in), ring8, grid25, or idx:PATH (28×28 IDX images, e.g.
    /// /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz).
    #[arg(long, default_value = "digits")]
    dataset: Dataset,
    /// Network pair.
    #[arg(long, value_enum, default_value_t = Arch::Small)]
    arch: Arch,
    /// Generator updates [default: 20000; 3000 for idx].
    #[arg(long)]
    steps: Option<u32>,
    /// Minibatch size [default: 64; 128 for ring8 and grid25].
    #[arg(long)]
    batch: Option<u32>,
    /// Discriminator updates per Generator update.
    #[arg(long, default_value_t = 1)]
    d_steps: u32,
    /// Seed of initialisation, data order and noise.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Generator learning rate (Adam) [default: 1e-3; 2e-4 for idx].
    #[arg(long)]
    lr_g: Option<f32>,
    /// Discriminator learning rate (Adam) [default: as --lr-g's].
    #[arg(long)]
    lr_d: Option<f32>,
    /// Adam β₁ of both networks.
    #[arg(long, default_value_t = 0.5)]
    beta1: f32,
    /// Learning-rate schedule.
    #[arg(long, value_enum, default_value_t = Schedule::HalfLinear)]
    schedule: Schedule,
    /// Use the original minimax Generator loss instead of the non-saturating one.
    #[arg(long)]
    minimax: bool,
    /// Output directory [default: picogan-out/DATASET].
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(clap::Args)]
struct SampleArgs {
    /// Generator weights written by `picogan train` (generator.safetensors).
    #[arg(long)]
    weights: PathBuf,
    /// Number of samples.
    #[arg(long, default_value_t = 64)]
    n: usize,
    /// Seed of the noise.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output file stem: PNG for images; PNG plot and CSV for 2-D points.
    #[arg(long, default_value = "samples.png")]
    out: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The seed-sized networks with their Adam state are a few MiB; building them by value
    // needs more stack than a default main thread may have.
    let worker = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || run(cli));
    let result = match worker {
        Ok(handle) => handle
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("internal error"))),
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Train(a) => train_command(a),
        Command::Sample(a) => {
            let w = picogan_host::sample::sample(&a.weights, a.n, a.seed, &a.out)?;
            for f in &w.files {
                println!("wrote {}", f.display());
            }
            Ok(())
        }
    }
}

fn train_command(a: TrainArgs) -> Result<()> {
    let mut o = TrainOptions::for_dataset(a.dataset.clone());
    o.arch = a.arch;
    o.steps = a.steps.unwrap_or(o.steps);
    o.batch = a.batch.unwrap_or(o.batch);
    o.d_steps = a.d_steps;
    o.seed = a.seed;
    o.g_adam.lr = a.lr_g.unwrap_or(o.g_adam.lr);
    o.d_adam.lr = a.lr_d.or(a.lr_g).unwrap_or(o.d_adam.lr);
    o.g_adam.beta1 = a.beta1;
    o.d_adam.beta1 = a.beta1;
    anyhow::ensure!(
        (0.0..1.0).contains(&a.beta1),
        "--beta1 must be in [0, 1), got {}",
        a.beta1
    );
    o.schedule = a.schedule;
    if a.minimax {
        o.g_loss = GeneratorLoss::Minimax;
    }
    let out = a
        .out
        .unwrap_or_else(|| PathBuf::from("picogan-out").join(a.dataset.name()));
    o.out = Some(out.clone());
    o.progress = true;

    println!(
        "training {} on {} for {} steps (batch {}, seed {})",
        o.arch.name(),
        a.dataset.name(),
        o.steps,
        o.batch,
        o.seed
    );
    let r = train::train(&o)?;
    println!(
        "trained in {:.1} s; {}",
        r.train_seconds,
        summary(&r.quality)
    );
    println!("wrote to {}/:", out.display());
    for f in &r.files {
        println!(
            "  {}",
            f.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        );
    }
    Ok(())
}

fn summary(q: &train::Quality) -> String {
    match q {
        train::Quality::Points { generated: g, real: r } => format!(
            "modes {}/{} (real {}/{}), high quality {:.1} % (real {:.1} %), reverse KL {:.3} (real {:.3})",
            g.modes_captured, g.modes, r.modes_captured, r.modes, g.high_quality_pct,
            r.high_quality_pct, g.reverse_kl, r.reverse_kl
        ),
        train::Quality::Images { classifier_accuracy, generated: g, heldout: h } => format!(
            "classes {}/10 (held-out real {}/10), class KL {:.3} ({:.3}), precision {:.2} ({:.2}), \
             recall {:.2} ({:.2}); classifier accuracy {:.1} %",
            g.classes_covered, h.classes_covered, g.class_kl, h.class_kl, g.precision,
            h.precision, g.recall, h.recall, 100.0 * classifier_accuracy
        ),
        train::Quality::UnlabelledImages { generated: g, heldout: h } => format!(
            "precision {:.2} (held-out real {:.2}), recall {:.2} ({:.2})",
            g.0, h.0, g.1, h.1
        ),
    }
}
