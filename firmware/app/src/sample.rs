//! The `sample` and `sample-int8` programs: draw samples from an embedded Generator (f32
//! or int8, see [`crate::model`]), show them in the log, and report checksums of their
//! bits and the work each one took.
//!
//! The noise comes from the generator the board passes in. Seeded as the desktop seeds its
//! sample stream (`Xoshiro128PlusPlus` from `stream_seed(seed, Stream::Sample)`), it gives
//! the same samples, bit for bit, as `picogan sample --seed` on the same file: f32 noise
//! drawn the same way for both formats, which an int8 Generator quantizes on the way in.
//! The checksum lines read as `picogan sample --hash` prints them.

use crate::model::{Embedded, Info, Sampler};
use crate::{hash, show, Board, Outcome, WorkCounter};
use embedded_hal::delay::DelayNs;
use embedded_hal::digital::OutputPin;
use picogan::noise;
use picogan::quant::network::QVector;
use picogan::streams::{stream_seed, Stream};
use rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro128PlusPlus;

/// Samples drawn when the command line does not say: one line of digits.
pub const DEFAULT_N: u32 = 8;

/// What a run of `sample` produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, defmt::Format)]
pub struct SampleReport {
    /// Samples drawn.
    pub n: u32,
    /// CRC-32 of all the samples' real values, little-endian f32, in order (for an int8
    /// Generator, its outputs dequantized).
    pub crc32: u32,
    /// CRC-32 of an int8 Generator's own outputs, one byte each, in order; `None` for f32.
    pub int8_crc32: Option<u32>,
    /// Work per sample (noise and forward pass), in the counter's unit.
    pub work_per_sample: u32,
}

/// Everything a board's `sample` or `sample-int8` program does between start-up and exit:
/// draws `n` samples from the Generator `model` names ([`model::F32`] or [`model::Int8`])
/// with noise from the sample stream of `seed`, seeded as the desktop seeds it, and blinks
/// the LED with the outcome (a refused weights file fails).
///
/// [`model::F32`]: crate::model::F32
/// [`model::Int8`]: crate::model::Int8
pub fn run_and_signal<M, LED, DELAY, C, const X: usize, const PER_ROW: usize>(
    board: &mut Board<LED, DELAY, C>,
    model: M,
    n: u32,
    seed: u64,
) -> Outcome
where
    M: Embedded<X, PER_ROW>,
    LED: OutputPin,
    DELAY: DelayNs,
    C: WorkCounter,
{
    defmt::info!("sample: {=u32} samples, seed {=u64}", n, seed);
    let mut rng = Xoshiro128PlusPlus::seed_from_u64(stream_seed(seed, Stream::Sample));
    let outcome = match run(board, model, &mut rng, n) {
        Some(_) => Outcome::Pass,
        None => Outcome::Fail,
    };
    board.blink(outcome == Outcome::Pass);
    outcome
}

/// Checks the embedded weights file of `model`, then draws `n` samples from its Generator
/// with noise from `rng`, shows each, and logs the checksums and cost. `None` when the file
/// is refused (a corrupted flash image): the reason is logged and nothing is drawn.
pub fn run<M, LED, DELAY, C, R, const X: usize, const PER_ROW: usize>(
    board: &mut Board<LED, DELAY, C>,
    _model: M,
    rng: &mut R,
    n: u32,
) -> Option<SampleReport>
where
    M: Embedded<X, PER_ROW>,
    LED: OutputPin,
    DELAY: DelayNs,
    C: WorkCounter,
    R: Rng,
{
    let info = M::INFO;
    let (g, weights_crc) = match M::open(M::image()) {
        Ok(opened) => opened,
        Err(e) => {
            defmt::error!(
                "model {=str} refused: {}",
                info.file,
                defmt::Display2Format(&e)
            );
            return None;
        }
    };
    defmt::info!(
        "model {=str}: {=str} {=str} Generator for {=str}, {=usize} parameters, {=usize} B of \
         flash, file checksum {=u32:#010x} verified",
        info.file,
        info.format,
        info.arch,
        info.dataset,
        info.params,
        M::image().len(),
        weights_crc
    );
    let report = draw::<_, _, _, _, _, X, PER_ROW>(&g, &info, board, rng, n);
    defmt::info!(
        "samples: {=u32} × {=usize} values, crc32 {=u32:#010x}",
        n,
        X,
        report.crc32
    );
    if let Some(crc) = report.int8_crc32 {
        let values = u64::from(n) * X as u64;
        defmt::info!(
            "int8 outputs: {=u64} values, crc32 {=u32:#010x}",
            values,
            crc
        );
    }
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

/// The sampling loop, one for both formats: `n` samples of `g`, each shown and added to
/// the checksums, the noise and forward pass of each measured.
fn draw<S, LED, DELAY, C, R, const X: usize, const PER_ROW: usize>(
    g: &S,
    info: &Info,
    board: &mut Board<LED, DELAY, C>,
    rng: &mut R,
    n: u32,
) -> SampleReport
where
    S: Sampler<X>,
    LED: OutputPin,
    DELAY: DelayNs,
    C: WorkCounter,
    R: Rng,
{
    let mut z = S::NOISE;
    let mut raw = S::Raw::ZERO;
    let mut scratch = S::SCRATCH;
    let mut group = [[0.0f32; X]; PER_ROW];
    let mut digest = hash::CRC32.digest();
    let mut int8_digest = hash::CRC32.digest();
    let mut work = 0u64;

    for i in 0..n {
        let slot = i as usize % PER_ROW;

        // the measured part: noise and one forward pass (for int8, with the noise's
        // quantization and the output's dequantization)
        let ((), w) = board.counter.measure(|| {
            noise::gaussian(rng, z.as_mut());
            g.sample(&z, &mut raw, &mut group[slot], &mut scratch);
        });
        work += u64::from(w);
        hash::update(&mut digest, &group[slot]);
        hash::update_i8(&mut int8_digest, raw.as_slice());
        board.progress(i + 1);

        if slot + 1 == PER_ROW || i + 1 == n {
            show_group(&group[..=slot], info.image_side, i + 1 - slot as u32, i + 1);
        }
    }

    SampleReport {
        n,
        crc32: digest.finalize(),
        int8_crc32: (S::Raw::LEN > 0).then(|| int8_digest.finalize()),
        work_per_sample: (work / u64::from(n.max(1))) as u32,
    }
}

/// Logs samples `first..=last` (1-based): images `side` pixels wide as shaded text, points
/// (`side` 0) as coordinates.
fn show_group<const X: usize>(group: &[[f32; X]], side: usize, first: u32, last: u32) {
    if side == 0 {
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
    let mut images = [&[][..]; show::MOST_PER_LINE];
    for (dst, src) in images.iter_mut().zip(group) {
        *dst = &src[..];
    }
    let shown = group.len().min(show::MOST_PER_LINE);
    let mut line = [0u8; show::LINE];
    for r in 0..side {
        defmt::info!("  {=str}", show::row(&images[..shown], side, r, &mut line));
    }
}
