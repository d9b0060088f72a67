//! The Generator's input noise, from any [`rand_core`] generator.
//!
//! Every word a generator can return maps to a finite value, the all-zero word included.

use crate::init::unit;
use crate::Q16;
use rand_core::Rng;

/// Fills `z` with standard Gaussian values by the Box–Muller transform (Box & Muller 1958):
/// `√(-2 ln u₁)·cos(2π u₂)` and `√(-2 ln u₁)·sin(2π u₂)`.
///
/// `u₁` is drawn from `(0, 1]` (24 bits), so `ln u₁` is finite and `|z| ≤ √(-2 ln 2⁻²⁴)
/// ≈ 5.77`: the tails beyond 5.77σ (probability 8·10⁻⁹) are cut.
pub fn gaussian<R: Rng + ?Sized>(rng: &mut R, z: &mut [f32]) {
    let mut pairs = z.chunks_exact_mut(2);
    for pair in &mut pairs {
        let (c, s) = box_muller(rng);
        pair[0] = c;
        pair[1] = s;
    }
    if let [last] = pairs.into_remainder() {
        *last = box_muller(rng).0;
    }
}

fn box_muller<R: Rng + ?Sized>(rng: &mut R) -> (f32, f32) {
    const TWO_POW_MINUS_24: f32 = 1.0 / 16_777_216.0;
    let u1 = unit(rng) + TWO_POW_MINUS_24; // (0, 1], exact: both terms are multiples of 2⁻²⁴
    let u2 = unit(rng);
    let r = libm::sqrtf(-2.0 * libm::logf(u1));
    let theta = core::f32::consts::TAU * u2;
    (r * libm::cosf(theta), r * libm::sinf(theta))
}

/// Fills `z` with approximately standard Gaussian Q16.16 values, in integer arithmetic
/// only: the Irwin–Hall sum of twelve uniform 16-bit integers, centred.
///
/// Each value draws six `u32` words, two uniforms each. The sum of twelve uniforms on
/// `{0, …, 2¹⁶ − 1}` has mean `12·(2¹⁶ − 1)/2 = 393,210` and variance `2³² − 1`, so the
/// raw sum minus 393,210 is a Q16.16 value of mean 0 and standard deviation
/// `√(2³² − 1)/2¹⁶`, 1 within 10⁻¹⁰. Values lie in `[−6, 6]`; the tails beyond are cut
/// (probability 2·10⁻⁹ for a Gaussian), and the distribution's excess kurtosis is −0.1.
pub fn gaussian_q16<R: Rng + ?Sized>(rng: &mut R, z: &mut [Q16]) {
    const MEAN: i32 = 6 * 0xffff;
    for v in z {
        let mut sum = 0i32;
        for _ in 0..6 {
            let w = rng.next_u32();
            sum += (w >> 16) as i32 + (w & 0xffff) as i32;
        }
        *v = Q16::from_raw(sum - MEAN);
    }
}

/// Fills `z` with values uniform on `[-1, 1)`, 24 random bits each.
pub fn uniform<R: Rng + ?Sized>(rng: &mut R, z: &mut [f32]) {
    for v in z {
        *v = 2.0 * unit(rng) - 1.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::convert::Infallible;
    use rand_core::{SeedableRng, TryRng};
    use rand_xoshiro::Xoshiro128PlusPlus;

    /// A generator stuck at one word, to probe the extremes.
    struct Constant(u32);
    impl TryRng for Constant {
        type Error = Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Infallible> {
            Ok(self.0)
        }
        fn try_next_u64(&mut self) -> Result<u64, Infallible> {
            Ok(u64::from(self.0) << 32 | u64::from(self.0))
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
            dst.fill(self.0 as u8);
            Ok(())
        }
    }

    #[test]
    fn extreme_words_give_finite_noise() {
        for word in [0, 1, 0xff, 0x100, u32::MAX / 2, u32::MAX - 1, u32::MAX] {
            let mut z = [0.0f32; 5];
            gaussian(&mut Constant(word), &mut z);
            assert!(
                z.iter().all(|v| v.is_finite() && v.abs() <= 5.8),
                "{word:#x}: {z:?}"
            );
            uniform(&mut Constant(word), &mut z);
            assert!(
                z.iter().all(|v| (-1.0..1.0).contains(v)),
                "{word:#x}: {z:?}"
            );
        }
    }

    #[test]
    fn extreme_words_give_bounded_integer_noise() {
        // all-zero and all-one words give the two ends, ∓6 exactly
        let mut z = [Q16::ZERO; 3];
        gaussian_q16(&mut Constant(0), &mut z);
        assert_eq!(z, [Q16::from_raw(-6 * 0xffff); 3]);
        gaussian_q16(&mut Constant(u32::MAX), &mut z);
        assert_eq!(z, [Q16::from_raw(6 * 0xffff); 3]);
    }

    #[test]
    fn integer_gaussian_moments() {
        // 20,000 draws: the same five-standard-error bounds as for Box–Muller; the
        // fourth moment is 3 − 0.1 = 2.9 with a standard error of about √(96/20000) ≈ 0.07.
        let mut rng = Xoshiro128PlusPlus::seed_from_u64(7);
        let mut z = [Q16::ZERO; 20_000];
        gaussian_q16(&mut rng, &mut z);
        let x = z.map(|v| f64::from(v.raw()) / 65536.0);
        let n = x.len() as f64;
        let mean = x.iter().sum::<f64>() / n;
        let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        let m4 = x.iter().map(|v| (v - mean).powi(4)).sum::<f64>() / n / (var * var);
        assert!(mean.abs() < 0.035, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "variance {var}");
        assert!((m4 - 2.9).abs() < 0.35, "kurtosis {m4}");
    }

    #[test]
    fn gaussian_moments() {
        // 20,000 draws: the sample mean has standard error 1/√20000 ≈ 0.007 and the
        // sample variance about √(2/20000) ≈ 0.01; the bounds are five standard errors.
        let mut rng = Xoshiro128PlusPlus::seed_from_u64(7);
        let mut z = [0.0f32; 20_000];
        gaussian(&mut rng, &mut z);
        let n = z.len() as f64;
        let mean = z.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let var = z
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n;
        assert!(mean.abs() < 0.035, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "variance {var}");
    }
}
