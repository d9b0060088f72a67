//! `picogan train`: trains a GAN with the core on the desktop, evaluates it and writes the
//! results.

use crate::checkpoint::{self, Checkpoint};
use crate::data::{self, Images, Mixture};
use crate::metrics::{self, Classifier, ImageReport, PointsReport};
use crate::weights::{self, ModelInfo};
use crate::{plot, rng_stream, HostRng, Stream};
use anyhow::{bail, ensure, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use picogan::optim::{Adam, AdamConfig, Optimizer};
use picogan::recipe::Recipe;
use picogan::{Gan, GeneratorLoss, Init, Layer, Scalar, StepConfig, StepStats, Vector, Q16};
use rand_core::Rng;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Where the real samples come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dataset {
    /// The built-in 8×8 handwritten digits.
    Digits,
    /// Eight Gaussians on the unit circle.
    Ring8,
    /// Twenty-five Gaussians on a 5×5 grid.
    Grid25,
    /// 28×28 images from an IDX file, such as Fashion-MNIST's.
    Idx(PathBuf),
}

impl FromStr for Dataset {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "digits" => Ok(Dataset::Digits),
            "ring8" => Ok(Dataset::Ring8),
            "grid25" => Ok(Dataset::Grid25),
            _ => match s.strip_prefix("idx:") {
                Some(p) if !p.is_empty() => Ok(Dataset::Idx(PathBuf::from(p))),
                _ => Err(format!(
                    "unknown data set `{s}`: use digits, ring8, grid25 or idx:PATH"
                )),
            },
        }
    }
}

impl Dataset {
    /// The short name written into reports and weight files.
    pub fn name(&self) -> &'static str {
        match self {
            Dataset::Digits => "digits",
            Dataset::Ring8 => "ring8",
            Dataset::Grid25 => "grid25",
            Dataset::Idx(_) => "idx",
        }
    }

    /// Values in one sample: 64 for the 8×8 digits, 784 for 28×28 IDX images, 2 for points.
    pub fn width(&self) -> usize {
        match self {
            Dataset::Digits => 64,
            Dataset::Idx(_) => 784,
            Dataset::Ring8 | Dataset::Grid25 => 2,
        }
    }
}

/// Which network pair to train.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    /// Sized for microcontrollers: one hidden layer of 64 (two for 2-D points), about
    /// 5,000 parameters per network for 8×8 digits and 2-D points, 50,000 for 28×28 images.
    Small,
    /// The seed model's shape: 100 → 128 (ReLU) → X (Tanh), and X → 128 (ReLU) → 1.
    Seed,
    /// Under a thousand parameters per network, for 2-D points: the pair the firmware
    /// trains on parts with 64 KiB of RAM or more (2 → 24 → 24 → 2 and 2 → 24 → 24 → 1).
    Tiny,
    /// Under 400 parameters per network, for 2-D points: the pair the firmware trains on
    /// parts with 16 KiB of RAM (2 → 16 → 16 → 2 and 2 → 16 → 16 → 1).
    Micro,
}

impl Arch {
    /// The name written into reports and weight files.
    pub fn name(self) -> &'static str {
        match self {
            Arch::Small => "small",
            Arch::Seed => "seed",
            Arch::Tiny => "tiny",
            Arch::Micro => "micro",
        }
    }
}

/// The arithmetic the networks train in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, Serialize)]
pub enum Arith {
    /// IEEE single precision, as PyTorch.
    #[default]
    #[value(name = "f32")]
    #[serde(rename = "f32")]
    F32,
    /// Q16.16 fixed point with saturating integer arithmetic, as a microcontroller without
    /// a floating-point unit trains (see `picogan::fixed`).
    #[value(name = "q16")]
    #[serde(rename = "q16.16")]
    Q16,
}

impl Arith {
    /// The name written into reports and checkpoints: `f32` or `q16.16`.
    pub fn name(self) -> &'static str {
        match self {
            Arith::F32 => <f32 as Scalar>::NAME,
            Arith::Q16 => <Q16 as Scalar>::NAME,
        }
    }

    /// The arithmetic named `name` (as [`Arith::name`] gives it).
    pub fn from_name(name: &str) -> Option<Self> {
        [Arith::F32, Arith::Q16]
            .into_iter()
            .find(|a| a.name() == name)
    }
}

/// How the learning rates change over a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Schedule {
    /// The configured rates throughout.
    Constant,
    /// The configured rates for the first half, then falling linearly to zero at the last
    /// step (the schedule of Zhu et al. 2017, CycleGAN, section 4): late small steps let
    /// the Generator settle onto the modes it has found.
    HalfLinear,
}

impl Schedule {
    /// The factor on the learning rates for 1-based `step` of `steps`, as the core (and so
    /// the firmware) computes it.
    pub fn factor(self, step: u32, steps: u32) -> f32 {
        picogan::optim::Schedule::from(self).factor(step, steps)
    }
}

impl From<Schedule> for picogan::optim::Schedule {
    fn from(s: Schedule) -> Self {
        match s {
            Schedule::Constant => picogan::optim::Schedule::Constant,
            Schedule::HalfLinear => picogan::optim::Schedule::HalfLinear,
        }
    }
}

impl From<picogan::optim::Schedule> for Schedule {
    fn from(s: picogan::optim::Schedule) -> Self {
        match s {
            picogan::optim::Schedule::Constant => Schedule::Constant,
            picogan::optim::Schedule::HalfLinear => Schedule::HalfLinear,
        }
    }
}

/// Everything a training run is given.
#[derive(Clone, Debug)]
pub struct TrainOptions {
    /// Real data.
    pub dataset: Dataset,
    /// Network pair.
    pub arch: Arch,
    /// The arithmetic the networks train in.
    pub arith: Arith,
    /// Generator updates.
    pub steps: u32,
    /// Minibatch size.
    pub batch: u32,
    /// Discriminator updates per Generator update.
    pub d_steps: u32,
    /// Seed of every random choice: initialisation, data order, noise, evaluation.
    pub seed: u64,
    /// Adam settings of the Generator.
    pub g_adam: AdamConfig,
    /// Adam settings of the Discriminator.
    pub d_adam: AdamConfig,
    /// The Generator's objective.
    pub g_loss: GeneratorLoss,
    /// Learning-rate schedule of both networks.
    pub schedule: Schedule,
    /// Where to write results; `None` writes nothing.
    pub out: Option<PathBuf>,
    /// Write a checkpoint to `out` every this many Generator steps (0: only the final one,
    /// beside the other results).
    pub checkpoint_every: u32,
    /// Show a progress bar.
    pub progress: bool,
}

impl TrainOptions {
    /// The defaults for a data set: settings measured to train it well in about a minute.
    pub fn for_dataset(dataset: Dataset) -> Self {
        let (steps, batch, lr) = match dataset {
            Dataset::Digits => (20_000, 64, 1e-3),
            Dataset::Ring8 | Dataset::Grid25 => (20_000, 128, 1e-3),
            Dataset::Idx(_) => (3_000, 64, 2e-4),
        };
        let adam = AdamConfig {
            lr,
            ..AdamConfig::GAN
        };
        TrainOptions {
            dataset,
            arch: Arch::Small,
            arith: Arith::F32,
            steps,
            batch,
            d_steps: 1,
            seed: 1,
            g_adam: adam,
            d_adam: adam,
            g_loss: GeneratorLoss::NonSaturating,
            schedule: Schedule::HalfLinear,
            out: None,
            checkpoint_every: 1_000,
            progress: false,
        }
    }

    /// The settings of a [`Recipe`] on the given data and network pair.
    pub fn from_recipe(dataset: Dataset, arch: Arch, r: &Recipe) -> Self {
        TrainOptions {
            arch,
            steps: r.steps,
            batch: r.step.batch,
            d_steps: r.step.d_steps,
            seed: r.seed,
            g_adam: r.g_adam,
            d_adam: r.d_adam,
            g_loss: r.step.g_loss,
            schedule: r.schedule.into(),
            ..Self::for_dataset(dataset)
        }
    }

    /// The run the firmware's `train` program makes on the device: ring8 with the pair
    /// `arch` (tiny, or micro on 16 KiB parts) and
    /// [`RING8_DEVICE`](picogan::recipe::RING8_DEVICE). Both end with the same weights, bit
    /// for bit.
    pub fn ring8_device(arch: Arch) -> Self {
        Self::from_recipe(Dataset::Ring8, arch, &picogan::recipe::RING8_DEVICE)
    }
}

/// Step statistics averaged over windows of steps, for the training curves.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct History {
    /// Last step of each window.
    pub step: Vec<u32>,
    /// Mean Discriminator loss.
    pub d_loss: Vec<f32>,
    /// Mean Generator loss.
    pub g_loss: Vec<f32>,
    /// Mean D(x) on real samples.
    pub d_real: Vec<f32>,
    /// Mean D(G(z)) on generated samples.
    pub d_fake: Vec<f32>,
}

/// The training curves of a run so far: the windows closed, the one still being summed,
/// and the last step's statistics.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Curves {
    /// Means of the closed windows.
    pub history: History,
    /// Sums of D loss, G loss, D(x) and D(G(z)) over the steps of the open window.
    pub sums: [f32; 4],
    /// Steps in the open window.
    pub count: u32,
    /// Statistics of the last step.
    pub last: StepStats,
}

impl Curves {
    /// Adds the statistics of 1-based `step` of `steps`; closes the window when `step` is
    /// a multiple of `window` or the last step, and then returns its means.
    fn record(&mut self, step: u32, stats: StepStats, window: u32, steps: u32) -> Option<[f32; 4]> {
        self.last = stats;
        for (a, v) in
            self.sums
                .iter_mut()
                .zip([stats.d_loss, stats.g_loss, stats.d_real, stats.d_fake])
        {
            *a += v;
        }
        self.count += 1;
        if !step.is_multiple_of(window) && step != steps {
            return None;
        }
        // the last window may be shorter than the others
        let mean = self.sums.map(|a| a / self.count as f32);
        let h = &mut self.history;
        h.step.push(step);
        h.d_loss.push(mean[0]);
        h.g_loss.push(mean[1]);
        h.d_real.push(mean[2]);
        h.d_fake.push(mean[3]);
        (self.sums, self.count) = ([0.0; 4], 0);
        Some(mean)
    }
}

/// A run between two Generator steps: everything the next step depends on, and the
/// curves the report shows. A checkpoint records exactly this.
pub struct TrainState<G, D>
where
    G: Layer,
    D: Layer<Scalar = G::Scalar, Input = G::Output, Output = [G::Scalar; 1]>,
{
    /// The networks and their optimizers (the gradient buffers in it are scratch).
    pub gan: Box<Gan<G, D, Adam<G>, Adam<D>>>,
    /// Draws the real samples.
    pub data_rng: HostRng,
    /// Draws the training noise.
    pub noise_rng: HostRng,
    /// Generator steps done.
    pub step: u32,
    /// Training curves so far.
    pub curves: Curves,
    /// Wall-clock seconds of training so far, over every part of a resumed run. Unlike the
    /// rest, it differs from one run to the next; nothing else depends on it.
    pub seconds: f64,
    /// Fixed-point results held at a bound instead of overflowing, over every step so far
    /// (see [`StepStats::saturations`]); 0 in f32.
    pub saturations: u64,
    /// CRC-32 of the training images of an IDX file ([`crate::hash::crc32_f32`] of their
    /// values), with which a resumed run checks that they are the images it began on.
    pub data_crc32: Option<u32>,
}

impl<G, D> TrainState<G, D>
where
    G: Layer,
    D: Layer<Scalar = G::Scalar, Input = G::Output, Output = [G::Scalar; 1]>,
{
    /// The start of the run `opts` describes: freshly initialised networks, zero moments,
    /// every stream at its seed.
    pub fn new(opts: &TrainOptions) -> Self {
        let mut init_rng = rng_stream(opts.seed, Stream::Init);
        let mut g = G::ZEROED;
        let mut d = D::ZEROED;
        g.init(Init::PyTorchDefault, &mut init_rng);
        d.init(Init::PyTorchDefault, &mut init_rng);
        TrainState {
            gan: Box::new(Gan::new(
                g,
                d,
                Adam::new(opts.g_adam),
                Adam::new(opts.d_adam),
            )),
            data_rng: rng_stream(opts.seed, Stream::Data),
            noise_rng: rng_stream(opts.seed, Stream::Noise),
            step: 0,
            curves: Curves::default(),
            seconds: 0.0,
            saturations: 0,
            data_crc32: None,
        }
    }
}

/// Sample quality, each beside the same figure for real data (the ceiling).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Quality {
    /// The 2-D mixture protocol.
    Points {
        /// Of 2,500 generated points.
        generated: PointsReport,
        /// Of 2,500 points drawn from the mixture itself.
        real: PointsReport,
    },
    /// Classifier and manifold scores.
    Images {
        /// The classifier's accuracy on the held-out real images.
        classifier_accuracy: f64,
        /// Of generated images, as many as there are held-out ones.
        generated: ImageReport,
        /// Of the held-out real images.
        heldout: ImageReport,
    },
    /// Images without labels: manifold scores only.
    UnlabelledImages {
        /// Precision and recall of generated images against the training images.
        generated: (f64, f64),
        /// The same for held-out real images.
        heldout: (f64, f64),
    },
}

/// What a training run produced.
#[derive(Clone, Debug, Serialize)]
pub struct TrainReport {
    /// Data set name.
    pub dataset: &'static str,
    /// Network pair.
    pub arch: Arch,
    /// Arithmetic of training.
    pub arith: Arith,
    /// Fixed-point results held at a bound over the run (0 in f32).
    pub saturations: u64,
    /// Generator and Discriminator parameter counts.
    pub params: (usize, usize),
    /// Steps taken.
    pub steps: u32,
    /// Minibatch size.
    pub batch: u32,
    /// Seed.
    pub seed: u64,
    /// Discriminator updates per Generator update.
    pub d_steps: u32,
    /// The Generator's objective.
    pub g_loss: GeneratorLoss,
    /// Adam settings of the Generator (the learning rate before the schedule).
    pub g_adam: AdamConfig,
    /// Adam settings of the Discriminator.
    pub d_adam: AdamConfig,
    /// Learning-rate schedule.
    pub schedule: Schedule,
    /// Wall-clock time of the training loop, seconds; for a resumed run, of all its parts.
    pub train_seconds: f64,
    /// Statistics of the last step.
    pub last: StepStats,
    /// Training curves.
    pub history: History,
    /// Sample quality.
    pub quality: Quality,
    /// CRC-32 of the final weights, as the firmware reports them.
    pub weights_crc32: WeightsCrc,
    /// Files written.
    #[serde(skip)]
    pub files: Vec<PathBuf>,
}

/// CRC-32 checksums of the trained networks' parameters (see [`crate::hash`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct WeightsCrc {
    /// Of the Generator.
    pub generator: u32,
    /// Of the Discriminator.
    pub discriminator: u32,
}

/// Real data, loaded.
enum Real {
    Images { train: Images, heldout: Images },
    Points(Mixture),
}

/// Trains, evaluates and (with `opts.out`) writes results, the final checkpoint among them.
///
/// A run holds `opts.out` (see [`crate::OutLock`]) from start to end and first removes what
/// killed runs left half-written there. It refuses a directory another run is writing to,
/// and one whose checkpoint records an unfinished run, which it would replace; a finished
/// run's directory it reuses.
pub fn train(opts: &TrainOptions) -> Result<TrainReport> {
    run_plan(opts, None, None)?.finished()
}

/// Continues the run recorded in `from` up to `opts.steps`, then evaluates and writes
/// results as [`train`] does (and so into a directory whose checkpoint is `from`'s own, or
/// a finished run's). With the checkpoint's own settings (`from.options`), it ends
/// exactly where the uninterrupted run would have, bit for bit.
///
/// Only `steps`, `out`, `checkpoint_every` and `progress` of `opts` may differ from the
/// checkpoint's. More `steps` extend the run; the learning-rate schedule is then that of
/// the longer run from the checkpoint's step on.
pub fn resume(from: &Checkpoint, opts: &TrainOptions) -> Result<TrainReport> {
    run_plan(opts, Some(from), None)?.finished()
}

/// Trains (or continues the run in `from`) through Generator step `at` of `opts.steps` and
/// stops there, as an interrupted run would: only the checkpoint is written to `opts.out`.
/// Returns its path, for [`Checkpoint::read`] and [`resume`].
pub fn train_until(opts: &TrainOptions, from: Option<&Checkpoint>, at: u32) -> Result<PathBuf> {
    let out = opts
        .out
        .as_ref()
        .context("a stopped run needs an output directory")?;
    let done = from.map_or(0, |c| c.step);
    ensure!(
        done < at && at < opts.steps,
        "cannot stop at step {at}: the run is at step {done} of {}",
        opts.steps
    );
    match run_plan(opts, from, Some(at))? {
        Ended::Stopped => Ok(out.join(checkpoint::FILE_NAME)),
        Ended::Finished(_) => bail!("the run did not stop at step {at}"),
    }
}

/// How a run ended.
enum Ended {
    /// At its last step, evaluated, results written.
    Finished(Box<TrainReport>),
    /// Earlier, with only a checkpoint written.
    Stopped,
}

impl Ended {
    fn finished(self) -> Result<TrainReport> {
        match self {
            Ended::Finished(r) => Ok(*r),
            Ended::Stopped => bail!("the run stopped before its last step"),
        }
    }
}

/// Checks the settings, loads the data and runs from the start or from `from` to step
/// `stop` (default: the last).
fn run_plan(opts: &TrainOptions, from: Option<&Checkpoint>, stop: Option<u32>) -> Result<Ended> {
    ensure!(opts.steps > 0, "--steps must be at least 1");
    ensure!(opts.batch > 0, "--batch must be at least 1");
    ensure!(opts.d_steps > 0, "--d-steps must be at least 1");
    for (name, lr) in [("--lr-g", opts.g_adam.lr), ("--lr-d", opts.d_adam.lr)] {
        ensure!(
            lr.is_finite() && lr > 0.0,
            "{name} must be a positive number, got {lr}"
        );
    }
    if let Some(c) = from {
        c.check_continuation(opts)?;
    }
    let _lock = match &opts.out {
        Some(out) => Some(claim_out(out, from)?),
        None => None,
    };
    let mut data_crc32 = None;
    let real = match &opts.dataset {
        Dataset::Digits => {
            let (train, heldout) = data::digits()?.train_heldout(0);
            Real::Images { train, heldout }
        }
        Dataset::Idx(path) => {
            let all = data::idx_images(path)?;
            let crc = crate::hash::crc32_f32(&all.pixels);
            if let Some(want) = from.and_then(|c| c.data_crc32) {
                ensure!(
                    crc == want,
                    "the data in {} changed since the checkpoint (CRC-32 of its images {} \
                     then, {} now): restore the images the run began on, or train afresh",
                    path.display(),
                    crate::hash::show(want),
                    crate::hash::show(crc)
                );
            }
            data_crc32 = Some(crc);
            ensure!(
                (all.rows, all.cols) == (28, 28),
                "{}: {}×{} images; picogan's image models for IDX files are built for 28×28",
                path.display(),
                all.rows,
                all.cols
            );
            ensure!(
                all.len() >= 10,
                "{}: only {} images",
                path.display(),
                all.len()
            );
            let (train, heldout) = all.train_heldout(0);
            Real::Images { train, heldout }
        }
        Dataset::Ring8 => Real::Points(Mixture::ring8()),
        Dataset::Grid25 => Real::Points(Mixture::grid25()),
    };

    let width = match &real {
        Real::Images { train, .. } => train.dim(),
        Real::Points(_) => 2,
    };
    let stop = stop.unwrap_or(opts.steps).min(opts.steps);
    match opts.arith {
        Arith::F32 => crate::with_models!(width, opts.arch, f32, |G, D, X| run::<_, G, D, X>(
            opts, &real, data_crc32, from, stop
        )),
        Arith::Q16 => crate::with_models!(width, opts.arch, Q16, |G, D, X| run::<_, G, D, X>(
            opts, &real, data_crc32, from, stop
        )),
    }
}

/// Checks, before a run, that it may write to `opts.out`, as the run itself does first
/// (see [`train`]); `from` is the checkpoint a resumed run continues.
pub fn check_out(opts: &TrainOptions, from: Option<&Checkpoint>) -> Result<()> {
    match &opts.out {
        Some(out) => claim_out(out, from).map(drop),
        None => Ok(()),
    }
}

/// The files a run may write in its output directory.
const OUTPUT_FILES: [&str; 7] = [
    "generator.safetensors",
    "discriminator.safetensors",
    checkpoint::FILE_NAME,
    "samples.png",
    "samples.csv",
    "training.png",
    "metrics.json",
];

/// Creates and locks `out` for a run that continues `from` (if any), clears the temporary
/// files of killed runs, and refuses to replace the checkpoint of an unfinished run other
/// than `from`.
fn claim_out(out: &Path, from: Option<&Checkpoint>) -> Result<crate::OutLock> {
    // fail before training, not after, when the results cannot be written
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let lock = crate::OutLock::take(out)?;
    lock.remove_partials();
    // every file the run will write can be: fail now, not after the training
    for name in OUTPUT_FILES {
        crate::weights::write_target(&out.join(name))?;
    }

    // a checkpoint that cannot be read records no run that could be resumed
    let path = out.join(checkpoint::FILE_NAME);
    let continued = from
        .and_then(Checkpoint::path)
        .is_some_and(|p| crate::same_file(p, &path));
    if path.exists() && !continued {
        let read = Checkpoint::read(&path);
        if let Err(e) = &read {
            eprintln!(
                "warning: replacing {}, which is no checkpoint to resume: {e:#}",
                path.display()
            );
        }
        if let Ok(c) = read {
            ensure!(
                c.step == c.options.steps,
                "{} holds an unfinished run at step {} of {}: resume it with `picogan train \
                 --resume {}`, or remove that file to start over",
                out.display(),
                c.step,
                c.options.steps,
                path.display()
            );
        }
    }
    Ok(lock)
}

// Not inlined: each model pair's networks are built by value on the stack before they are
// boxed, and inlining every pair into `run_plan` would reserve all their frames at once.
#[inline(never)]
fn run<S, G, D, const X: usize>(
    opts: &TrainOptions,
    real: &Real,
    data_crc32: Option<u32>,
    from: Option<&Checkpoint>,
    stop: u32,
) -> Result<Ended>
where
    S: Scalar,
    G: Layer<Scalar = S, Output = [S; X]>,
    D: Layer<Scalar = S, Input = [S; X], Output = [S; 1]>,
{
    let mut state = match from {
        Some(c) => c.state::<G, D>()?,
        None => TrainState::<G, D>::new(opts),
    };
    state.data_crc32 = data_crc32;
    advance::<S, G, D, X>(&mut state, opts, real, stop)?;
    if stop < opts.steps {
        if let Some(out) = &opts.out {
            checkpoint::save(&out.join(checkpoint::FILE_NAME), opts, &state)?;
        }
        return Ok(Ended::Stopped);
    }

    let gan = &state.gan;
    ensure!(
        gan.g.is_finite() && gan.d.is_finite(),
        "training diverged: it left non-finite weights; no weights were written"
    );
    // Finite weights can still be large enough that the Generator's outputs overflow.
    ensure!(
        generate(&gan.g, 256, opts.seed)
            .iter()
            .all(|v| v.is_finite()),
        "training diverged: the Generator's samples overflow to infinity or NaN; no weights \
         were written: try lower learning rates"
    );

    let mut report = TrainReport {
        dataset: opts.dataset.name(),
        arch: opts.arch,
        arith: opts.arith,
        saturations: state.saturations,
        params: (G::PARAMS, D::PARAMS),
        steps: opts.steps,
        batch: opts.batch,
        seed: opts.seed,
        d_steps: opts.d_steps,
        g_loss: opts.g_loss,
        g_adam: opts.g_adam,
        d_adam: opts.d_adam,
        schedule: opts.schedule,
        train_seconds: state.seconds,
        last: state.curves.last,
        history: state.curves.history.clone(),
        quality: evaluate::<G, X>(&gan.g, real, opts.seed)?,
        weights_crc32: WeightsCrc {
            generator: crate::hash::crc32_layer(&gan.g),
            discriminator: crate::hash::crc32_layer(&gan.d),
        },
        files: Vec::new(),
    };
    if let Some(out) = &opts.out {
        report.files = write_results::<S, G, D, X>(out, opts, &state, real, &report)?;
    }
    Ok(Ended::Finished(Box::new(report)))
}

/// Set, by the `picogan` command when the user presses Ctrl-C, to end a run after the step
/// under way: with `out`, its checkpoint is written first, and the run fails saying how to
/// resume it.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Takes Generator steps from `state.step + 1` through `stop`, writing a checkpoint every
/// `opts.checkpoint_every` steps before `stop`, and when [`INTERRUPTED`]; adds the time it
/// takes to `state.seconds`.
fn advance<S, G, D, const X: usize>(
    state: &mut TrainState<G, D>,
    opts: &TrainOptions,
    real: &Real,
    stop: u32,
) -> Result<()>
where
    S: Scalar,
    G: Layer<Scalar = S, Output = [S; X]>,
    D: Layer<Scalar = S, Input = [S; X], Output = [S; 1]>,
{
    let cfg = StepConfig {
        batch: opts.batch,
        d_steps: opts.d_steps,
        g_loss: opts.g_loss,
    };
    let bar = progress_bar(opts);
    bar.set_position(u64::from(state.step));
    let window = (opts.steps / 400).max(1);
    let (before, started) = (state.seconds, Instant::now());
    while state.step < stop {
        let step = state.step + 1;
        let f = opts.schedule.factor(step, opts.steps);
        let TrainState {
            gan,
            data_rng,
            noise_rng,
            ..
        } = state;
        gan.g_opt.set_lr(opts.g_adam.lr * f);
        gan.d_opt.set_lr(opts.d_adam.lr * f);
        let stats = gan
            .step(
                &cfg,
                |x: &mut [S; X]| draw_real(real, data_rng, x),
                |z: &mut G::Input| S::gaussian(noise_rng, z.as_mut_slice()),
            )
            .context("training step")?;
        if !stats.is_finite() {
            bar.abandon();
            bail!(
                "training diverged at step {step} (D loss {}, G loss {}); no weights were written: \
                 try lower learning rates",
                stats.d_loss,
                stats.g_loss
            );
        }
        state.step = step;
        state.saturations += u64::from(stats.saturations);
        if let Some(mean) = state.curves.record(step, stats, window, opts.steps) {
            bar.set_message(format!(
                "D loss {:.3}  G loss {:.3}  D(x) {:.2}  D(G(z)) {:.2}",
                mean[0], mean[1], mean[2], mean[3]
            ));
        }
        bar.inc(1);

        // no step is a multiple of 0, which so writes none; the checkpoint of `stop` itself
        // is written by the caller
        // after the last step there is nothing to resume: the run finishes its results
        let interrupted = INTERRUPTED.load(Ordering::Relaxed) && step < stop;
        let due = step.is_multiple_of(opts.checkpoint_every) && step < stop;
        if let (Some(out), true) = (&opts.out, due || interrupted) {
            state.seconds = before + started.elapsed().as_secs_f64();
            let saved = checkpoint::save(&out.join(checkpoint::FILE_NAME), opts, state);
            if let Err(e) = saved {
                bar.abandon();
                return Err(e.context(format!("checkpoint at step {step}")));
            }
        }
        if interrupted {
            bar.abandon();
            match &opts.out {
                Some(out) => bail!(
                    "interrupted at step {step} of {}; resume with: picogan train --resume {}",
                    opts.steps,
                    out.join(checkpoint::FILE_NAME).display()
                ),
                None => bail!("interrupted at step {step} of {}", opts.steps),
            }
        }
    }
    state.seconds = before + started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    Ok(())
}

fn progress_bar(opts: &TrainOptions) -> ProgressBar {
    if !opts.progress {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(u64::from(opts.steps));
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} steps  {msg}")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar
}

fn draw_real<S: Scalar, R: Rng, const X: usize>(real: &Real, rng: &mut R, x: &mut [S; X]) {
    match real {
        Real::Images { train, .. } => {
            let i = (rng.next_u64() % train.len() as u64) as usize;
            for (x, &v) in x.iter_mut().zip(train.image(i)) {
                *x = S::from_f32(v);
            }
        }
        Real::Points(mix) => mix.sample(rng, x),
    }
}

/// Draws `n` samples from `g` with noise from the given seed: `[n][X]`, flat, in f32.
pub fn generate<G: Layer>(g: &G, n: usize, seed: u64) -> Vec<f32> {
    let mut rng = rng_stream(seed, Stream::Sample);
    let mut z = G::Input::ZERO;
    let mut y = G::Output::ZERO;
    let mut cache = G::CACHE;
    let mut out = Vec::with_capacity(n * G::Output::LEN);
    for _ in 0..n {
        G::Scalar::gaussian(&mut rng, z.as_mut_slice());
        g.forward(&z, &mut y, &mut cache);
        out.extend(y.as_slice().iter().map(|v| v.to_f32()));
    }
    out
}

fn evaluate<G: Layer, const X: usize>(g: &G, real: &Real, seed: u64) -> Result<Quality> {
    match real {
        Real::Points(mix) => {
            let fake = as_points(&generate(g, metrics::POINTS_EVAL, seed));
            let truth = data::draw(mix, metrics::POINTS_EVAL, rng_stream(seed, Stream::Eval));
            Ok(Quality::Points {
                generated: metrics::points_report(mix, &fake),
                real: metrics::points_report(mix, &truth),
            })
        }
        Real::Images { train, heldout } => {
            // Scores use at most 2,000 training and 2,000 held-out images: the k-NN search
            // is quadratic in their number.
            let reference = subset(train, EVAL_IMAGES);
            let heldout = &subset(heldout, EVAL_IMAGES);
            let fake = generate(g, heldout.len(), seed);
            if train.labels.is_none() {
                let pr = |s: &[f32]| metrics::precision_recall(&reference.pixels, s, X, 3);
                return Ok(Quality::UnlabelledImages {
                    generated: pr(&fake),
                    heldout: pr(&heldout.pixels),
                });
            }
            let clf = Classifier::<X>::train(train, seed)?;
            Ok(Quality::Images {
                classifier_accuracy: clf.accuracy(heldout),
                generated: metrics::image_report(&clf, &reference, &fake),
                heldout: metrics::image_report(&clf, &reference, &heldout.pixels),
            })
        }
    }
}

/// Most images of each kind that the image scores use.
const EVAL_IMAGES: usize = 2_000;

/// About `n` images spread evenly over `images`.
fn subset(images: &Images, n: usize) -> Images {
    let take: Vec<usize> = (0..images.len())
        .step_by(images.len().div_ceil(n).max(1))
        .collect();
    images.split(&take).0
}

/// `[n][2]` flat to points.
pub fn as_points(flat: &[f32]) -> Vec<[f32; 2]> {
    flat.chunks_exact(2).map(|p| [p[0], p[1]]).collect()
}

fn write_results<S, G, D, const X: usize>(
    out: &Path,
    opts: &TrainOptions,
    state: &TrainState<G, D>,
    real: &Real,
    report: &TrainReport,
) -> Result<Vec<PathBuf>>
where
    S: Scalar,
    G: Layer<Scalar = S, Output = [S; X]>,
    D: Layer<Scalar = S, Input = [S; X], Output = [S; 1]>,
{
    let (g, d) = (&state.gan.g, &state.gan.d);
    let mut stage = crate::Staging::new(out)?;
    let info = |role: &str| ModelInfo {
        dataset: opts.dataset.name().into(),
        arch: opts.arch.name().into(),
        role: role.into(),
    };

    let path = stage.file("generator.safetensors");
    write(&path, weights::to_bytes(g, &info("generator"))?)?;
    let path = stage.file("discriminator.safetensors");
    write(&path, weights::to_bytes(d, &info("discriminator"))?)?;

    let path = stage.file("samples.png");
    match real {
        Real::Images { heldout, .. } => {
            let n = 100.min(heldout.len());
            let fake = generate(g, n, opts.seed);
            let panels = [
                plot::Panel {
                    caption: "generated",
                    images: &fake,
                },
                plot::Panel {
                    caption: "real (held out)",
                    images: &heldout.pixels[..n * X],
                },
            ];
            let scale = if heldout.rows <= 8 { 4 } else { 2 };
            plot::image_panels(&path, &panels, heldout.rows, heldout.cols, scale)?;
        }
        Real::Points(mix) => {
            let fake = as_points(&generate(g, metrics::POINTS_EVAL, opts.seed));
            let truth = data::draw(
                mix,
                metrics::POINTS_EVAL,
                rng_stream(opts.seed, Stream::Eval),
            );
            plot::scatter(&path, mix.name, &truth, &fake, mix.means())?;
            crate::write_points_csv(&stage.file("samples.csv"), &fake)?;
        }
    }

    let path = stage.file("training.png");
    let h = &report.history;
    let xs: Vec<f32> = h.step.iter().map(|&s| s as f32).collect();
    let groups = [
        (
            "losses",
            vec![
                plot::Series {
                    label: "D loss",
                    ys: &h.d_loss,
                },
                plot::Series {
                    label: "G loss",
                    ys: &h.g_loss,
                },
            ],
        ),
        (
            "discriminator outputs",
            vec![
                plot::Series {
                    label: "D(x), real",
                    ys: &h.d_real,
                },
                plot::Series {
                    label: "D(G(z)), generated",
                    ys: &h.d_fake,
                },
            ],
        ),
    ];
    plot::curves(&path, &xs, "generator step", &groups)?;

    let path = stage.file("metrics.json");
    write(&path, serde_json::to_string_pretty(report)?)?;

    // on disk before it is renamed over the previous checkpoint
    let path = stage.file(checkpoint::FILE_NAME);
    checkpoint::write_synced(&path, &checkpoint::to_bytes(opts, state)?)?;

    // weights first in the list: they are what a user looks for
    stage.commit()
}

fn write(path: &Path, bytes: impl AsRef<[u8]>) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}
