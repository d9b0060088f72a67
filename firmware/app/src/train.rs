//! The `train` and `train-q16` programs: train a GAN on ring8 from scratch, in f32 or in
//! Q16.16 fixed point, then score its Generator with the PacGAN protocol on the device.
//!
//! The run is [`RING8_DEVICE`](picogan::recipe::RING8_DEVICE) with a pair of 2-D point
//! networks whose hidden width `W` the board chooses to fit its RAM
//! ([`PointsGeneratorW`], [`PointsDiscriminatorW`]): [`TINY_WIDTH`] on parts with 64 KiB
//! or more, [`MICRO_WIDTH`] on 16 KiB ones. It draws from four streams,
//! used as the desktop uses them: `init` for the weights, `data` for the real points,
//! `noise` for the training noise and `sample` for the points that are scored. Seeded
//! like the desktop's streams (`Xoshiro128PlusPlus` from `stream_seed(seed, stream)`), the
//! run ends with the weights `picogan train --device-config --seed` ends with, bit for bit
//! (`--arith q16` for the fixed-point run).
//!
//! The arithmetic is the scalar `S` of the networks: `f32`, in hardware on a Cortex-M4F
//! and in software on a Cortex-M0, or [`Q16`](picogan::Q16), in integers on both. In
//! fixed point a handful of per-step constants (the learning rate of the schedule, Adam's
//! bias corrections) and the logged figures are still computed in floating point, once
//! per step rather than once per weight.

use crate::{hash, Board, Outcome, WorkCounter};
use embedded_hal::delay::DelayNs;
use embedded_hal::digital::OutputPin;
use picogan::mixture::{Mixture, PointsReport, POINTS_EVAL};
use picogan::models::{PointsDiscriminatorW, PointsGeneratorW};
#[cfg(doc)]
use picogan::models::{MICRO_WIDTH, TINY_WIDTH};
use picogan::optim::{Adam, AdamConfig, Optimizer};
use picogan::recipe::Recipe;
use picogan::streams::{stream_seed, Stream};
use picogan::{Gan, Init, Layer, Scalar};
use rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro128PlusPlus;

/// The Generator trained on the device, with hidden layers of `W`, computing in `S`.
pub type TrainG<const W: usize, S> = PointsGeneratorW<W, S>;
/// The Discriminator trained on the device, with hidden layers of `W`, computing in `S`.
pub type TrainD<const W: usize, S> = PointsDiscriminatorW<W, S>;
/// Both networks, their gradients and their Adam moments: the whole training state.
pub type DeviceGan<const W: usize, S> =
    Gan<TrainG<W, S>, TrainD<W, S>, Adam<TrainG<W, S>>, Adam<TrainD<W, S>>>;

/// The pass mark: at least 7 of the 8 modes captured (PacGAN's "modes" figure).
pub const MIN_MODES: usize = 7;

/// Steps between two log lines of training progress.
pub const LOG_EVERY: u32 = 500;

/// Steps between two toggles of the status LED.
const LED_EVERY: u32 = 100;

/// Adam settings of all zeros, for [`new_gan`].
const ZERO_ADAM: AdamConfig = AdamConfig {
    lr: 0.0,
    beta1: 0.0,
    beta2: 0.0,
    eps: 0.0,
    weight_decay: 0.0,
};

/// A [`DeviceGan`] whose every byte is zero, Adam settings included: a constant, so that a
/// `static` can hold it without building it on the stack first, and all zero, so that the
/// linker puts it in `.bss` and it takes no flash. [`run`] sets the recipe's settings.
pub const fn new_gan<const W: usize, S: Scalar>() -> DeviceGan<W, S> {
    Gan::new(
        TrainG::<W, S>::ZEROED,
        TrainD::<W, S>::ZEROED,
        Adam::new(ZERO_ADAM),
        Adam::new(ZERO_ADAM),
    )
}

/// The random streams of one run.
pub struct Streams<R> {
    /// Weight initialisation.
    pub init: R,
    /// Real points.
    pub data: R,
    /// Training noise.
    pub noise: R,
    /// Noise for the scored samples.
    pub sample: R,
}

impl Streams<Xoshiro128PlusPlus> {
    /// The streams of the run with the given seed, as the desktop seeds them.
    pub fn seeded(seed: u64) -> Self {
        let rng = |s| Xoshiro128PlusPlus::seed_from_u64(stream_seed(seed, s));
        Streams {
            init: rng(Stream::Init),
            data: rng(Stream::Data),
            noise: rng(Stream::Noise),
            sample: rng(Stream::Sample),
        }
    }
}

/// What a run of `train` produced.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainReport {
    /// The protocol's figures for the trained Generator.
    pub quality: PointsReport,
    /// CRC-32 of the Generator's and the Discriminator's final parameters.
    pub crc32: (u32, u32),
    /// Mean work per training step, in the counter's unit.
    pub work_per_step: u32,
    /// Fixed-point results held at a bound over the whole run; 0 in f32.
    pub saturations: u64,
    /// Whether the figures meet the pass mark.
    pub outcome: Outcome,
}

/// Everything a board's `train` program does between start-up and exit: seeds the
/// streams from `recipe.seed`, runs [`run`], and blinks the LED with the outcome (a
/// diverged run fails).
pub fn run_and_signal<LED, DELAY, C, S, const W: usize>(
    board: &mut Board<LED, DELAY, C>,
    gan: &mut DeviceGan<W, S>,
    recipe: &Recipe,
) -> Outcome
where
    LED: OutputPin,
    DELAY: DelayNs,
    C: WorkCounter,
    S: Scalar,
{
    defmt::info!("train: ring8, seed {=u64}, {=str}", recipe.seed, S::NAME);
    let mut streams = Streams::seeded(recipe.seed);
    let outcome = match run(board, gan, &mut streams, recipe) {
        Ok(report) => report.outcome,
        Err(_) => Outcome::Fail,
    };
    board.blink(outcome == Outcome::Pass);
    outcome
}

/// Trains `gan` with `recipe` from scratch and scores it; logs progress, figures and
/// cost. `Err` holds the step at which training diverged (a loss became NaN or infinite).
pub fn run<LED, DELAY, C, R, S, const W: usize>(
    board: &mut Board<LED, DELAY, C>,
    gan: &mut DeviceGan<W, S>,
    streams: &mut Streams<R>,
    recipe: &Recipe,
) -> Result<TrainReport, u32>
where
    LED: OutputPin,
    DELAY: DelayNs,
    C: WorkCounter,
    R: Rng,
    S: Scalar,
{
    let mix = Mixture::ring8();
    defmt::info!(
        "training on ring8 in {=str}: hidden width {=usize}, G {=usize} and D {=usize} \
         parameters, {=usize} B of training state",
        S::NAME,
        W,
        TrainG::<W, S>::PARAMS,
        TrainD::<W, S>::PARAMS,
        core::mem::size_of::<DeviceGan<W, S>>()
    );
    defmt::info!(
        "{=u32} steps of batch {=u32}, Adam lr {=f32} beta1 {=f32}, half-linear decay",
        recipe.steps,
        recipe.step.batch,
        recipe.g_adam.lr,
        recipe.g_adam.beta1
    );

    // fresh weights, as the desktop draws them: G first, then D, from one stream; fresh
    // optimizers with the recipe's settings
    gan.g.init(Init::PyTorchDefault, &mut streams.init);
    gan.d.init(Init::PyTorchDefault, &mut streams.init);
    reset(&mut gan.g_opt, recipe.g_adam);
    reset(&mut gan.d_opt, recipe.d_adam);

    let mut work = 0u64;
    let mut saturations = 0u64;
    let mut window = [0.0f32; 4];
    for step in 1..=recipe.steps {
        let (lr_g, lr_d) = recipe.learning_rates(step);
        gan.g_opt.set_lr(lr_g);
        gan.d_opt.set_lr(lr_d);

        // the measured part: one adversarial step
        let (stats, w) = board.counter.measure(|| {
            gan.step(
                &recipe.step,
                |x: &mut [S; 2]| mix.sample(&mut streams.data, x),
                |z: &mut [S; 2]| S::gaussian(&mut streams.noise, z),
            )
        });
        work += u64::from(w);
        let stats = match stats {
            Ok(s) if s.is_finite() => s,
            _ => {
                defmt::error!("training diverged at step {=u32}", step);
                return Err(step);
            }
        };
        saturations += u64::from(stats.saturations);

        // progress: window means of the step statistics
        let inv = 1.0 / LOG_EVERY as f32;
        for (a, v) in
            window
                .iter_mut()
                .zip([stats.d_loss, stats.g_loss, stats.d_real, stats.d_fake])
        {
            *a += v * inv;
        }
        if step % LOG_EVERY == 0 {
            defmt::info!(
                "step {=u32}/{=u32}: D loss {=f32}, G loss {=f32}, D(x) {=f32}, \
                 D(G(z)) {=f32}, lr {=f32}, {=u64} saturated",
                step,
                recipe.steps,
                window[0],
                window[1],
                window[2],
                window[3],
                lr_g,
                saturations
            );
            window = [0.0; 4];
        }
        if step % LED_EVERY == 0 {
            board.progress(step / LED_EVERY);
        }
    }
    let work_per_step = (work / u64::from(recipe.steps.max(1))) as u32;
    let crc32 = (hash::crc32_layer(&gan.g), hash::crc32_layer(&gan.d));
    defmt::info!(
        "weights crc32: generator {=u32:#010x}, discriminator {=u32:#010x}",
        crc32.0,
        crc32.1
    );

    // score POINTS_EVAL generated points, drawn as the desktop's evaluation draws them
    let (quality, eval_work) = board
        .counter
        .measure(|| score(&gan.g, &mix, &mut streams.sample));
    defmt::info!(
        "ring8 protocol on {=usize} samples: modes {=usize}/{=usize}, \
         high quality {=f64} %, reverse KL {=f64}",
        quality.samples,
        quality.modes_captured,
        quality.modes,
        quality.high_quality_pct,
        quality.reverse_kl
    );
    defmt::info!(
        "cost: {=u32} {=str} per training step, {=u32} {=str} per scored sample",
        work_per_step,
        C::UNIT,
        eval_work / POINTS_EVAL as u32,
        C::UNIT
    );
    defmt::info!("measured per_step {=u32} {=str}", work_per_step, C::UNIT);
    defmt::info!("saturated results: {=u64}", saturations);

    let outcome = if quality.modes_captured >= MIN_MODES {
        defmt::info!(
            "pass: {=usize} of 8 modes captured (pass mark {=usize})",
            quality.modes_captured,
            MIN_MODES
        );
        Outcome::Pass
    } else {
        defmt::error!(
            "fail: {=usize} of 8 modes captured, below the pass mark of {=usize}",
            quality.modes_captured,
            MIN_MODES
        );
        Outcome::Fail
    };
    Ok(TrainReport {
        quality,
        crc32,
        work_per_step,
        saturations,
        outcome,
    })
}

/// Puts `opt` in the state `Adam::new(config)` has, in place.
fn reset<L: Layer>(opt: &mut Adam<L>, config: AdamConfig) {
    opt.config = config;
    opt.m.zero();
    opt.v.zero();
    opt.t = 0;
}

/// Scores [`POINTS_EVAL`] points from `g` with noise from `rng`.
/// The points are drawn in `S` and scored in f32, as the desktop scores them.
fn score<R: Rng, S: Scalar, const W: usize>(
    g: &TrainG<W, S>,
    mix: &Mixture,
    rng: &mut R,
) -> PointsReport {
    let mut protocol = mix.protocol();
    let mut cache = TrainG::<W, S>::CACHE;
    let (mut z, mut p) = ([S::ZERO; 2], [S::ZERO; 2]);
    for _ in 0..POINTS_EVAL {
        S::gaussian(rng, &mut z);
        g.forward(&z, &mut p, &mut cache);
        protocol.add(p.map(S::to_f32));
    }
    protocol.report()
}
