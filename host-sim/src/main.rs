//! The `picogan` command.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use picogan::GeneratorLoss;
use picogan_host::checkpoint::Checkpoint;
use picogan_host::train::{self, Arch, Arith, Dataset, Schedule, TrainOptions};
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
    /// Read a Generator and/or Discriminator trained elsewhere (PyTorch's safetensors, e.g.
    /// from tools/export_torch.py), check it against a picogan architecture and write a
    /// picogan checkpoint.
    Import(ImportArgs),
    /// Write the Generator of a checkpoint as the file the firmware embeds
    /// (PICOGAN_MODEL=FILE when building it).
    Export(ExportArgs),
    /// Quantize a Generator to int8 as TensorFlow Lite Micro runs it (per-channel int8
    /// weights, int32 biases, activation ranges calibrated on its own samples), write it and
    /// print its error against the f32 Generator; `picogan sample` draws from the file.
    Quantize(QuantizeArgs),
    /// Build a firmware program and run it on an emulated board (QEMU's mps2-an386, a
    /// Cortex-M4F, or microbit, a Cortex-M0), showing its decoded log; or measure the
    /// programs on both boards with --report.
    Emulate(EmulateArgs),
}

#[derive(clap::Args)]
struct TrainArgs {
    /// Real data: digits (built in), ring8, grid25, or idx:PATH (28×28 IDX images, e.g.
    /// /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz).
    #[arg(long, default_value = "digits")]
    dataset: Dataset,
    /// Network pair [default: small; tiny with --device-config].
    #[arg(long, value_enum)]
    arch: Option<Arch>,
    /// Arithmetic of training: f32, or q16 (Q16.16 fixed point, saturating, as on a
    /// microcontroller without a floating-point unit). The weights files are F32 either way.
    #[arg(long, value_enum, default_value_t = Arith::F32)]
    arith: Arith,
    /// Generator updates [default: 20000; 3000 for idx; with --resume, the checkpoint's].
    /// More than the checkpoint's extend a resumed run; its learning-rate schedule then
    /// follows the longer run from the checkpoint's step on, which changes the result.
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
    /// Output directory [default: picogan-out/DATASET, picogan-out/ring8-device; with
    /// --resume, the checkpoint's directory].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write OUT/checkpoint.safetensors every N Generator steps, replacing the previous one
    /// (0: only at the end, with the other results) [default: 1000; with --resume, the
    /// checkpoint's].
    #[arg(long, value_name = "N")]
    checkpoint_every: Option<u32>,
    /// Continue the run recorded in a checkpoint (OUT/checkpoint.safetensors) with its
    /// settings; it ends exactly as the uninterrupted run would have. Only --steps, --out
    /// and --checkpoint-every go with it.
    #[arg(
        long,
        value_name = "CHECKPOINT",
        conflicts_with_all = [
            "dataset", "arch", "arith", "batch", "d_steps", "seed", "lr_g", "lr_d", "beta1",
            "schedule", "minimax", "device_config",
        ]
    )]
    resume: Option<PathBuf>,
    /// Train exactly as the firmware's `train` program does on the device: ring8, the tiny
    /// pair (--arch micro: the pair of the 16 KiB Cortex-M0), its steps, batch and learning
    /// rates. Only --arch, --arith, --seed, --out and --steps (as `train -- --steps N` on the
    /// device) go with it.
    #[arg(
        long,
        conflicts_with_all = [
            "dataset", "batch", "d_steps", "lr_g", "lr_d", "beta1",
            "schedule", "minimax",
        ]
    )]
    device_config: bool,
}

#[derive(clap::Args)]
struct SampleArgs {
    /// A Generator file (`generator.safetensors` from `picogan train` or `picogan export`)
    /// or a checkpoint (from `picogan train` or `picogan import`).
    #[arg(long)]
    weights: PathBuf,
    /// Number of samples.
    #[arg(long, default_value_t = 64)]
    n: usize,
    /// Seed of the noise.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output file (or directory): a PNG for images; for 2-D points a PNG plot and a CSV file
    /// beside it, with the same name.
    #[arg(long, default_value = "samples.png")]
    out: PathBuf,
    /// Also print the CRC-32 of the samples' bits, as the firmware's `sample` logs it.
    #[arg(long)]
    hash: bool,
}

#[derive(clap::Args)]
struct ImportArgs {
    /// safetensors file holding `generator.fc.N.weight|bias` and/or
    /// `discriminator.fc.N.weight|bias`, or one network under plain `fc.N.…` names.
    #[arg(long)]
    from: PathBuf,
    /// The architecture the networks must have.
    #[arg(long, value_enum)]
    arch: Arch,
    /// Data set the networks are for: digits, idx, ring8 or grid25 [default: the file's
    /// `dataset` metadata, else inferred from the shapes].
    #[arg(long)]
    dataset: Option<String>,
    /// Which network a file with plain `fc.N.…` names holds [default: its `role` metadata,
    /// else generator].
    #[arg(long, value_parser = ["generator", "discriminator"])]
    role: Option<String>,
    /// Read names starting with FROM as starting with TO (repeatable; first match wins),
    /// e.g. `--rename net.=fc.` or `--rename G.main.=generator.fc.` (both sides end in a dot).
    #[arg(
        long = "rename",
        value_name = "FROM=TO",
        value_parser = picogan_host::import::parse_rename
    )]
    renames: Vec<(String, String)>,
    /// Ignore tensors the architecture does not have, instead of refusing the file.
    #[arg(long)]
    allow_extra: bool,
    /// Round F64 values to the nearest f32 (ties to even) instead of refusing values f32
    /// cannot hold exactly. F16 and BF16 always widen exactly.
    #[arg(long)]
    round_f64: bool,
    /// The checkpoint to write.
    #[arg(long, default_value = "picogan-out/imported/checkpoint.safetensors")]
    out: PathBuf,
}

#[derive(clap::Args)]
struct ExportArgs {
    /// A checkpoint (from `picogan train` or `picogan import`) or a Generator file.
    #[arg(long)]
    from: PathBuf,
    /// The file to write.
    #[arg(long, default_value = "generator.safetensors")]
    out: PathBuf,
}

#[derive(clap::Args)]
struct QuantizeArgs {
    /// A Generator file (`generator.safetensors`) or a checkpoint.
    #[arg(long)]
    from: PathBuf,
    /// The int8 file to write.
    #[arg(long, default_value = "generator-int8.safetensors")]
    out: PathBuf,
    /// Noise vectors whose activations calibrate the int8 ranges.
    #[arg(long, value_name = "N", default_value_t = picogan_host::quantize::DEFAULT_CALIBRATION)]
    calibration: usize,
    /// Seed of the calibration noise and of the noise the error is measured on (the noise
    /// `picogan sample --seed` draws).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Noise vectors the error against the f32 Generator is measured on.
    #[arg(long, value_name = "N", default_value_t = picogan_host::quantize::DEFAULT_EVAL)]
    eval: usize,
}

#[derive(clap::Args)]
struct EmulateArgs {
    /// Firmware program to run.
    #[arg(value_enum, required_unless_present = "report")]
    program: Option<picogan_host::emulate::Program>,
    /// The emulated board.
    #[arg(long, value_enum, default_value_t = picogan_host::emulate::Board::Mps2An386)]
    board: picogan_host::emulate::Board,
    /// Build and run the programs (sample, sample-int8, train, train-q16) on both boards,
    /// then print their flash, RAM, stack and cost per sample and per training step as a
    /// Markdown table, with what fits which parts.
    #[arg(long, conflicts_with_all = ["program", "board"])]
    report: bool,
    /// The firmware workspace [default: firmware/ of the source tree picogan was built from].
    #[arg(long)]
    firmware: Option<PathBuf>,
    /// Options for the program, after `--`: --n N and --seed S for sample and sample-int8,
    /// --seed S and --steps N for train and train-q16.
    #[arg(last = true)]
    args: Vec<String>,
}

/// `println!` that does not panic when standard output is closed (`picogan … | head -1`):
/// by then the results are in files, and a closed pipe is no reason to fail.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A bug, should one remain, still ends in one `error:` line rather than a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let at = info
            .location()
            .map(|l| format!(" at {l}"))
            .unwrap_or_default();
        eprintln!("error: internal error{at}: {}", msg.replace('\n', " "));
    }));
    // The seed-sized networks with their Adam state are a few MiB; building them by value
    // needs more stack than a default main thread may have.
    let worker = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || run(cli));
    let result = match worker {
        Ok(handle) => match handle.join() {
            Ok(result) => result,
            Err(_) => return ExitCode::FAILURE, // the panic hook has reported it
        },
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            if train::INTERRUPTED.load(std::sync::atomic::Ordering::Relaxed) {
                ExitCode::from(130) // as a shell reports a run ended by Ctrl-C
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Train(a) => train_command(a).map(|()| ExitCode::SUCCESS),
        Command::Sample(a) => {
            let w = picogan_host::sample::sample(&a.weights, a.n, a.seed, &a.out)?;
            for f in &w.files {
                say!("wrote {}", f.display());
            }
            if a.hash {
                for line in w.checksum_lines(a.n) {
                    say!("{line}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Quantize(a) => quantize_command(a).map(|()| ExitCode::SUCCESS),
        Command::Import(a) => import_command(a).map(|()| ExitCode::SUCCESS),
        Command::Export(a) => {
            let e = picogan_host::import::export(&a.from, &a.out)?;
            say!(
                "wrote {} ({} B): {} Generator for {}, crc32 {}",
                a.out.display(),
                e.bytes,
                e.info.arch,
                e.info.dataset,
                picogan_host::hash::show(e.crc32)
            );
            let full = std::path::absolute(&a.out).unwrap_or(a.out.clone());
            say!(
                "build the firmware with it: PICOGAN_MODEL={} picogan emulate sample",
                full.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Emulate(a) => emulate_command(a),
    }
}

fn import_command(a: ImportArgs) -> Result<()> {
    let opts = picogan_host::import::ImportOptions {
        from: a.from,
        arch: a.arch,
        dataset: a.dataset,
        role: a.role,
        renames: a.renames,
        allow_extra: a.allow_extra,
        round_f64: a.round_f64,
        out: a.out,
    };
    let r = picogan_host::import::import(&opts)?;
    let networks: Vec<&str> = r.networks.iter().map(|(role, _)| role.as_str()).collect();
    say!(
        "imported the {} of a {} pair for {} ({}; checksum {})",
        networks.join(" and "),
        opts.arch.name(),
        r.dataset,
        r.dtypes.join(", "),
        if r.had_checksum { "verified" } else { "absent" }
    );
    say!("wrote {}", r.out.display());
    Ok(())
}

fn quantize_command(a: QuantizeArgs) -> Result<()> {
    use picogan_host::quantize::{self, Quality};
    let opts = quantize::QuantizeOptions {
        from: a.from,
        out: a.out,
        calibration: a.calibration,
        seed: a.seed,
        eval: a.eval,
    };
    let q = quantize::quantize(&opts)?;
    let ranges: Vec<String> = q
        .ranges
        .iter()
        .map(|(layer, r)| format!("fc.{layer} [{:.3}, {:.3}]", r.min, r.max))
        .collect();
    say!(
        "calibrated on {} noise vectors (seed {}): int8 outputs of {}",
        opts.calibration,
        opts.seed,
        ranges.join(", ")
    );
    let e = &q.errors;
    say!(
        "int8 against f32 on {} noise vectors (seed {}): mean |error| {:.4}, max {:.4}, rms {:.4} \
         (one output step is {:.4})",
        e.samples,
        opts.seed,
        e.mean_abs,
        e.max_abs,
        e.rms,
        e.output_step
    );
    match &q.quality {
        Some(Quality::Digits {
            f32: f,
            int8: i,
            confidence: (cf, ci),
            agreement,
            classifier_accuracy,
        }) => say!(
            "digits, f32 / int8: classes {}/10 / {}/10, same class {:.1} %, confidence {:.3} / \
             {:.3}, class KL {:.3} / {:.3}, precision {:.2} / {:.2}, recall {:.2} / {:.2} \
             (classifier accuracy {:.1} %)",
            f.classes_covered,
            i.classes_covered,
            100.0 * agreement,
            cf,
            ci,
            f.class_kl,
            i.class_kl,
            f.precision,
            i.precision,
            f.recall,
            i.recall,
            100.0 * classifier_accuracy
        ),
        Some(Quality::Points { f32: f, int8: i }) => say!(
            "{}, f32 / int8: modes {}/{} / {}/{}, high quality {:.1} % / {:.1} %, reverse KL \
             {:.3} / {:.3}",
            q.info.dataset,
            f.modes_captured,
            f.modes,
            i.modes_captured,
            i.modes,
            f.high_quality_pct,
            i.high_quality_pct,
            f.reverse_kl,
            i.reverse_kl
        ),
        None => {}
    }
    say!(
        "wrote {} ({} B, {:.1} % of the f32 Generator's {} B): int8 {} Generator for {}, crc32 {}",
        opts.out.display(),
        q.bytes,
        100.0 * q.bytes as f64 / q.f32_bytes as f64,
        q.f32_bytes,
        q.info.arch,
        q.info.dataset,
        picogan_host::hash::show(q.crc32)
    );
    let full = std::path::absolute(&opts.out).unwrap_or(opts.out.clone());
    say!(
        "build the firmware with it: PICOGAN_INT8_MODEL={} picogan emulate sample-int8",
        full.display()
    );
    Ok(())
}

fn emulate_command(a: EmulateArgs) -> Result<ExitCode> {
    use picogan_host::emulate;
    let firmware = emulate::firmware_dir(a.firmware.as_deref())?;
    if a.report {
        print!("{}", emulate::report(&firmware)?);
        return Ok(ExitCode::SUCCESS);
    }
    let program = a
        .program
        .context("name a program: sample, sample-int8, train or calibrate")?;
    let run = emulate::build_and_run(&firmware, a.board, program, &a.args, true)?;
    // the firmware's own exit status, as QEMU returned it
    Ok(ExitCode::from(u8::try_from(run.status).unwrap_or(1)))
}

fn train_command(a: TrainArgs) -> Result<()> {
    let resumed = a.resume.as_deref().map(Checkpoint::read).transpose()?;
    let mut o = if let Some(c) = &resumed {
        let mut o = c.options.clone();
        o.steps = a.steps.unwrap_or(o.steps);
        o
    } else if a.device_config {
        let arch = a.arch.unwrap_or(Arch::Tiny);
        anyhow::ensure!(
            matches!(arch, Arch::Tiny | Arch::Micro),
            "the firmware trains the tiny or the micro pair, not {}",
            arch.name()
        );
        let mut o = TrainOptions::ring8_device(arch);
        o.steps = a.steps.unwrap_or(o.steps);
        o
    } else {
        let mut o = TrainOptions::for_dataset(a.dataset.clone());
        o.arch = a.arch.unwrap_or(Arch::Small);
        o.steps = a.steps.unwrap_or(o.steps);
        o.batch = a.batch.unwrap_or(o.batch);
        o.d_steps = a.d_steps;
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
        o
    };
    if resumed.is_none() {
        o.seed = a.seed;
        o.arith = a.arith;
    }
    o.checkpoint_every = a.checkpoint_every.unwrap_or(o.checkpoint_every);
    let default_out = if a.device_config {
        "ring8-device"
    } else {
        a.dataset.name()
    };
    let default_out = match a.arith {
        Arith::F32 => default_out.to_string(),
        Arith::Q16 => format!("{default_out}-q16"),
    };
    let out = a
        .out
        .or(o.out.take())
        .unwrap_or_else(|| PathBuf::from("picogan-out").join(default_out));
    o.out = Some(out.clone());
    o.progress = true;
    // Ctrl-C ends the run after the step under way, with a checkpoint; a second one at once
    let handled = ctrlc::set_handler(|| {
        if train::INTERRUPTED.swap(true, std::sync::atomic::Ordering::Relaxed) {
            eprintln!("\nquitting at once");
            std::process::exit(130);
        }
        eprintln!(
            "\nstopping after the training step under way, with a checkpoint (Ctrl-C again \
             quits at once)"
        );
    });
    if let Err(e) = handled {
        eprintln!("warning: Ctrl-C will stop training without a checkpoint: {e}");
    }

    let from = match &resumed {
        Some(c) => {
            c.check_continuation(&o)?;
            format!(" from step {}", c.step)
        }
        None => String::new(),
    };
    // a directory another run writes to, or holds unfinished, is refused before training
    train::check_out(&o, resumed.as_ref())?;
    say!(
        "training {} on {} for {} steps{from} (batch {}, seed {}, {})",
        o.arch.name(),
        o.dataset.name(),
        o.steps,
        o.batch,
        o.seed,
        o.arith.name()
    );
    let r = match &resumed {
        Some(c) => train::resume(c, &o)?,
        None => train::train(&o)?,
    };
    say!(
        "trained in {:.1} s; {}",
        r.train_seconds,
        summary(&r.quality)
    );
    if o.arith != Arith::F32 {
        say!(
            "saturated results: {} ({} in the last step)",
            r.saturations,
            r.last.saturations
        );
    }
    say!(
        "weights crc32: generator {}, discriminator {}",
        picogan_host::hash::show(r.weights_crc32.generator),
        picogan_host::hash::show(r.weights_crc32.discriminator)
    );
    say!("wrote to {}/:", out.display());
    for f in &r.files {
        say!(
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
        train::Quality::Points {
            generated: g,
            real: r,
        } => format!(
            "modes {}/{} (real {}/{}), high quality {:.1} % (real {:.1} %), \
             reverse KL {:.3} (real {:.3})",
            g.modes_captured,
            g.modes,
            r.modes_captured,
            r.modes,
            g.high_quality_pct,
            r.high_quality_pct,
            g.reverse_kl,
            r.reverse_kl
        ),
        train::Quality::Images {
            classifier_accuracy,
            generated: g,
            heldout: h,
        } => {
            format!(
            "classes {}/10 (held-out real {}/10), class KL {:.3} (real {:.3}), precision {:.2} \
             (real {:.2}), recall {:.2} (real {:.2}); classifier accuracy {:.1} %",
            g.classes_covered, h.classes_covered, g.class_kl, h.class_kl, g.precision,
            h.precision, g.recall, h.recall, 100.0 * classifier_accuracy
        )
        }
        train::Quality::UnlabelledImages {
            generated: g,
            heldout: h,
        } => format!(
            "precision {:.2} (held-out real {:.2}), recall {:.2} ({:.2})",
            g.0, h.0, g.1, h.1
        ),
    }
}
