//! The `sample` program: draws samples from the embedded Generator, shows them in the log,
//! and reports a checksum of their bits and the work each one took.
//!
//! The noise comes from the generator the board passes in. Seeded as the desktop seeds its
//! sample stream (`Xoshiro128PlusPlus` from `stream_seed(seed, Stream::Sample)`), it gives
//! the same samples, bit for bit, as `picogan sample --seed`.

use crate::model::{self, Generator, ARCH, DATASET, FILE, IMAGE_SIDE};
use crate::{hash, show, Board, Outcome, WorkCounter};
use embedded_hal::delay::DelayNs;
use embedded_hal::digital::OutputPin;
use picogan::streams::{stream_seed, Stream};
use picogan::{noise, Layer, Vector};
use rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro128PlusPlus;

/// Samples drawn when the command line does not say: one line of digits.
pub const DEFAULT_N: u32 = 8;

/// Samples shown side by side: eight 8×8 digits fit on a line; larger images go one by one.
const PER_ROW: usize = if IMAGE_SIDE == 8 { 8 } else { 1 };

/// Values per sample, `X`.
const X: usize = <<Generator as Layer>::Output as Vector>::LEN;

/// What a run of `sample` produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, defmt::Format)]
pub struct SampleReport {
    /// Samples drawn.
    pub n: u32,
    /// CRC-32 of all the samples' values, little-endian, in order.
    pub crc32: u32,
    /// Work per sample (noise and forward pass), in the counter's unit.
    pub work_per_sample: u32,
}

/// Everything a board's `sample` program does between start-up and exit: draws `n`
/// samples with noise from the sample stream of `seed`, seeded as the desktop seeds it,
/// and blinks the LED with the outcome (a refused weights file fails).
pub fn run_and_signal<LED, DELAY, C>(board: &mut Board<LED, DELAY, C>, n: u32, seed: u64) -> Outcome
where
    LED: OutputPin,
    DELAY: DelayNs,
    C: WorkCounter,
{
    defmt::info!("sample: {=u32} samples, seed {=u64}", n, seed);
    let mut rng = Xoshiro128PlusPlus::seed_from_u64(stream_seed(seed, Stream::Sample));
    let outcome = match run(board, &mut rng, n) {
        Some(_) => Outcome::Pass,
        None => Outcome::Fail,
    };
    board.blink(outcome == Outcome::Pass);
    outcome
}

/// Checks the embedded weights file, then draws `n` samples from its Generator with noise
/// from `rng`, shows each, and logs the checksum and cost. `None` when the file is refused
/// (a corrupted flash image): the reason is logged and nothing is drawn.
pub fn run<LED, DELAY, C, R>(
    board: &mut Board<LED, DELAY, C>,
    rng: &mut R,
    n: u32,
) -> Option<SampleReport>
where
    LED: OutputPin,
    DELAY: DelayNs,
    C: WorkCounter,
    R: Rng,
{
    let (g, weights_crc) = match model::open(model::image()) {
        Ok(opened) => opened,
        Err(e) => {
            defmt::error!("model {=str} refused: {}", FILE, defmt::Display2Format(&e));
            return None;
        }
    };
    defmt::info!(
        "model {=str}: {=str} Generator for {=str}, {=usize} parameters, {=usize} B of flash, \
         file checksum {=u32:#010x} verified",
        FILE,
        ARCH,
        DATASET,
        Generator::PARAMS,
        model::image().len(),
        weights_crc
    );
    let mut z = <Generator as Layer>::Input::ZERO;
    let mut cache = Generator::CACHE;
    let mut group = [[0.0f32; X]; PER_ROW];
    let mut digest = hash::CRC32.digest();
    let mut work = 0u64;

    for i in 0..n {
        let slot = i as usize % PER_ROW;

        // the measured part: noise and one forward pass
        let ((), w) = board.counter.measure(|| {
            noise::gaussian(rng, z.as_mut_slice());
            g.forward(&z, &mut group[slot], &mut cache);
        });
        work += u64::from(w);
        hash::update(&mut digest, &group[slot]);
        board.progress(i + 1);

        if slot + 1 == PER_ROW || i + 1 == n {
            show_group(&group[..=slot], i + 1 - slot as u32, i + 1);
        }
    }

    let report = SampleReport {
        n,
        crc32: digest.finalize(),
        work_per_sample: (work / u64::from(n.max(1))) as u32,
    };
    defmt::info!(
        "samples: {=u32} × {=usize} values, crc32 {=u32:#010x}",
        n,
        X,
        report.crc32
    );
    defmt::info!(
        "cost: {=u32} {=str} per sample (noise and forward pass)",
        report.work_per_sample,
        C::UNIT
    );
    defmt::info!(
        "measured per_sample {=u32} {=str}",
        report.work_per_sample,
        C::UNIT
    );
    Some(report)
}

/// Logs samples `first..=last` (1-based): images as shaded text, points as coordinates.
fn show_group(group: &[[f32; X]], first: u32, last: u32) {
    if IMAGE_SIDE == 0 {
        for (k, p) in group.iter().enumerate() {
            defmt::info!(
                "sample {=u32}: ({=f32}, {=f32})",
                first + k as u32,
                p[0],
                p[1]
            );
        }
        return;
    }
    defmt::info!("samples {=u32} to {=u32}:", first, last);
    let mut images = [&[][..]; PER_ROW];
    for (dst, src) in images.iter_mut().zip(group) {
        *dst = &src[..];
    }
    let mut line = [0u8; show::LINE];
    for r in 0..IMAGE_SIDE {
        defmt::info!(
            "  {=str}",
            show::row(&images[..group.len()], IMAGE_SIDE, r, &mut line)
        );
    }
}
