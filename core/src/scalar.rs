//! The number type a network computes in.
//!
//! Every layer, loss, optimizer and the training step is written once, against
//! [`Scalar`]. Two implementations exist: `f32`, for parts with a floating-point unit and
//! for the desktop, and [`Q16`], the Q16.16 fixed-point number of [`fixed`](crate::fixed),
//! for parts without one. A network's type names its scalar: `Linear<2, 16>` is f32,
//! `Linear<2, 16, Q16>` fixed point.
//!
//! Operations that a number type carries out in its own way are methods here: the
//! kernels of the fully connected layer, the activation functions and Adam's second
//! moment. Everything else is ordinary arithmetic through the operator traits, so the f32
//! implementation computes the same bits as it did before it was made generic.

use crate::fixed::{self, Q16};
use core::fmt::Debug;
use core::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};
use rand_core::Rng;

/// A number type the networks compute in: `f32` or [`Q16`].
pub trait Scalar:
    Copy
    + Default
    + Debug
    + PartialEq
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + 'static
{
    /// Zero.
    const ZERO: Self;
    /// One.
    const ONE: Self;
    /// Name in reports and file metadata: `f32` or `q16.16`.
    const NAME: &'static str;
    /// Magnitudes from this one up are out of range (f32: infinity).
    const LIMIT: f32;

    /// The nearest value to `x` (f32: `x` itself).
    fn from_f32(x: f32) -> Self;
    /// The nearest f32 to `self`.
    fn to_f32(self) -> f32;
    /// The nearest value to `num / den`; f32 divides `num as f32` by `den as f32`.
    fn ratio(num: i32, den: i32) -> Self;
    /// False for NaN and infinities; fixed-point values are always finite.
    fn is_finite(self) -> bool;
    /// The value's bits, for checksums that compare targets: f32's IEEE bits, Q16.16's
    /// two's-complement integer.
    fn to_bits(self) -> u32;

    /// `Σ a[i]·b[i]` over the shorter length, in the order the type defines.
    fn dot(a: &[Self], b: &[Self]) -> Self;
    /// `y[i] += alpha·x[i]`.
    fn axpy(alpha: Self, x: &[Self], y: &mut [Self]);

    /// The hyperbolic tangent.
    fn tanh(self) -> Self;
    /// The logistic function `1 / (1 + e^-x)`.
    fn sigmoid(self) -> Self;
    /// `ln(1 + e^x)`, finite for every finite input.
    fn softplus(self) -> Self;

    /// The weight of one sample's loss in a minibatch of `batch` samples' gradient.
    fn batch_weight(batch: u32) -> Self;

    /// Standard Gaussian noise into `z`, from `rng`.
    fn gaussian<R: Rng + ?Sized>(rng: &mut R, z: &mut [Self]);

    /// Adam's second-moment update for one parameter with gradient `g`:
    /// `v ← β₂v + (1 − β₂)g²`, in the type's representation of `v` (see
    /// [`Scalar::adam_rms`]); `one_minus_beta2` is `1 − β₂` rounded once.
    fn adam_second_moment(v: Self, g: Self, beta2: Self, one_minus_beta2: Self) -> Self;
    /// `√v` from the stored second moment.
    fn adam_rms(v: Self) -> Self;
    /// Adam's ε as this type uses it: at least the smallest positive value, so that a
    /// denominator is never zero.
    fn adam_eps(eps: f32) -> Self;

    /// Saturations since the last call, which resets the count; always 0 for f32.
    fn take_saturations() -> u32;
}

/// `√x`, correctly rounded as IEEE 754 requires, so every implementation gives the same
/// bits. With the `std` feature it is the processor's square-root instruction, which the
/// compiler vectorises across Adam's loop (about 4× faster there on x86_64); without it,
/// libm's, which it cannot.
#[inline]
pub(crate) fn sqrt(x: f32) -> f32 {
    #[cfg(feature = "std")]
    return x.sqrt();
    #[cfg(not(feature = "std"))]
    return libm::sqrtf(x);
}

impl Scalar for f32 {
    const ZERO: f32 = 0.0;
    const ONE: f32 = 1.0;
    const NAME: &'static str = "f32";
    const LIMIT: f32 = f32::INFINITY;

    #[inline]
    fn from_f32(x: f32) -> f32 {
        x
    }
    #[inline]
    fn to_f32(self) -> f32 {
        self
    }
    #[inline]
    fn ratio(num: i32, den: i32) -> f32 {
        num as f32 / den as f32
    }
    #[inline]
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }
    #[inline]
    fn to_bits(self) -> u32 {
        f32::to_bits(self)
    }
    #[inline]
    fn dot(a: &[f32], b: &[f32]) -> f32 {
        crate::kernels::dot(a, b)
    }
    #[inline]
    fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
        crate::kernels::axpy(alpha, x, y)
    }
    #[inline]
    fn tanh(self) -> f32 {
        libm::tanhf(self)
    }
    #[inline]
    fn sigmoid(self) -> f32 {
        crate::loss::sigmoid(self)
    }
    #[inline]
    fn softplus(self) -> f32 {
        crate::loss::softplus(self)
    }
    /// `1 / batch`: the gradient is the batch's mean, as in PyTorch.
    fn batch_weight(batch: u32) -> f32 {
        1.0 / batch as f32
    }
    fn gaussian<R: Rng + ?Sized>(rng: &mut R, z: &mut [f32]) {
        crate::noise::gaussian(rng, z)
    }
    /// `v` is the second moment itself, as in PyTorch.
    #[inline]
    fn adam_second_moment(v: f32, g: f32, beta2: f32, one_minus_beta2: f32) -> f32 {
        v * beta2 + one_minus_beta2 * g * g
    }
    #[inline]
    fn adam_rms(v: f32) -> f32 {
        sqrt(v)
    }
    /// ε itself: IEEE division by zero is well defined where `v` and `m` are both zero.
    fn adam_eps(eps: f32) -> f32 {
        eps
    }
    fn take_saturations() -> u32 {
        0
    }
}

impl Scalar for Q16 {
    const ZERO: Q16 = Q16::ZERO;
    const ONE: Q16 = Q16::ONE;
    const NAME: &'static str = "q16.16";
    /// 2¹⁵: Q16.16's largest value, 2¹⁵ − 2⁻¹⁶, is below it and every f32 below it
    /// rounds into range.
    const LIMIT: f32 = 32_768.0;

    #[inline]
    fn from_f32(x: f32) -> Q16 {
        Q16::from_f32(x)
    }
    #[inline]
    fn to_f32(self) -> f32 {
        Q16::to_f32(self)
    }
    #[inline]
    fn ratio(num: i32, den: i32) -> Q16 {
        Q16::from_ratio(num, den)
    }
    #[inline]
    fn is_finite(self) -> bool {
        true
    }
    #[inline]
    fn to_bits(self) -> u32 {
        self.raw() as u32
    }
    #[inline]
    fn dot(a: &[Q16], b: &[Q16]) -> Q16 {
        fixed::dot(a, b)
    }
    #[inline]
    fn axpy(alpha: Q16, x: &[Q16], y: &mut [Q16]) {
        fixed::axpy(alpha, x, y)
    }
    #[inline]
    fn tanh(self) -> Q16 {
        Q16::tanh(self)
    }
    #[inline]
    fn sigmoid(self) -> Q16 {
        Q16::sigmoid(self)
    }
    #[inline]
    fn softplus(self) -> Q16 {
        Q16::softplus(self)
    }
    /// One: the gradient is the batch's sum. A sample's share of the mean is often below
    /// Q16.16's step; Adam's update does not depend on the gradient's scale (but for ε);
    /// SGD's learning rate applies to the sum.
    fn batch_weight(_: u32) -> Q16 {
        Q16::ONE
    }
    fn gaussian<R: Rng + ?Sized>(rng: &mut R, z: &mut [Q16]) {
        crate::noise::gaussian_q16(rng, z)
    }
    /// Here `v` holds `√v`, the root mean square of the gradient, not `v`: a gradient of
    /// 10⁻³ has a square of 10⁻⁶, a fifteenth of Q16.16's step, but a root mean square of
    /// 66 steps. The update `√(β₂·r² + (1 − β₂)·g²)` is computed from exact integer
    /// squares in 64 bits and rounded once, to nearest.
    fn adam_second_moment(r: Q16, g: Q16, beta2: Q16, one_minus_beta2: Q16) -> Q16 {
        rms_update(r, g, beta2, one_minus_beta2)
    }
    #[inline]
    fn adam_rms(r: Q16) -> Q16 {
        r
    }
    /// ε rounded, but at least one step (2⁻¹⁶): the default 10⁻⁸ would round to zero.
    fn adam_eps(eps: f32) -> Q16 {
        Q16::from_f32(eps).max(Q16::LSB)
    }
    fn take_saturations() -> u32 {
        fixed::take_saturations()
    }
}

/// `√(β₂·r² + (1 − β₂)·g²)` for Q16.16 values: each weighted square `w·x²` is formed
/// exactly (in `u128`) and rounded once to Q32.32 (to nearest, ties away from zero), and the
/// root is rounded once, to nearest. Rounding `w·x` first would lose small gradients
/// altogether: with `1 − β₂` = 66·2⁻¹⁶, every gradient below 497·2⁻¹⁶ would leave `√v` at
/// zero and Adam's step at `lr·g/ε`. `r` and the weights are non-negative in Adam;
/// negative inputs are taken by magnitude. A root beyond Q16.16's range saturates, counted.
fn rms_update(r: Q16, g: Q16, beta2: Q16, one_minus_beta2: Q16) -> Q16 {
    // w < 2¹⁷ and x < 2³¹: w·x² < 2⁷⁹, and the rounded Q32.32 value below 2⁶³
    let weighted = |w: Q16, x: Q16| -> u64 {
        let (w, x) = (
            u128::from(w.raw().unsigned_abs()),
            u128::from(x.raw().unsigned_abs()),
        );
        ((w * x * x + (1 << 15)) >> 16) as u64
    };
    let sum = weighted(beta2, r).saturating_add(weighted(one_minus_beta2, g));
    // √ of a Q32.32 value is the Q16.16 value with the square root of its raw integer
    match i32::try_from(isqrt_rounded(sum)) {
        Ok(raw) => Q16::from_raw(raw),
        Err(_) => {
            fixed::count(1);
            Q16::MAX
        }
    }
}

/// `√n` rounded to nearest (the root's fraction is never exactly one half).
fn isqrt_rounded(n: u64) -> u64 {
    // floor(√n) bit by bit, most significant first
    let mut root = 0u64;
    let mut rem = n;
    let mut bit = 1u64 << 62;
    while bit > n {
        bit >>= 2;
    }
    while bit != 0 {
        if rem >= root + bit {
            rem -= root + bit;
            root = (root >> 1) + bit;
        } else {
            root >>= 1;
        }
        bit >>= 2;
    }
    // round up when n − root² > root, that is when √n > root + ½
    if rem > root {
        root + 1
    } else {
        root
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isqrt_rounds_to_nearest() {
        for n in (0..200_000u64).chain([u64::MAX, u64::MAX - 1, 1 << 62, (1 << 62) - 1]) {
            let r = isqrt_rounded(n);
            // |√n − r| ≤ ½: (r − ½)² ≤ n for r ≥ 1, and n < (r + ½)²; times four, in
            // integers: 4n ≥ 4r² − 4r + 1 and 4n < 4r² + 4r + 1
            let n4 = 4 * u128::from(n);
            let r = u128::from(r);
            assert!(r == 0 || n4 + 4 * r > 4 * r * r, "√{n} → {r}");
            assert!(n4 < 4 * r * r + 4 * r + 1, "√{n} → {r}");
        }
    }

    #[test]
    fn rms_update_matches_the_exact_value() {
        // β₂ = 0.999 in Q16.16: 65470/65536; 1 − β₂: 66/65536. Exact in f64 to well
        // within the tolerance below.
        let (b, ob) = (Q16::from_raw(65470), Q16::from_raw(66));
        for (r, g) in [
            (0, 0),
            (0, 1),
            (1, 0),
            (0, 400), // (1 − β₂)·g rounds to zero, (1 − β₂)·g² does not
            (0, 496),
            (0, -3000),
            (7, 0),    // decays: β₂·7² = 48.96, so √ is 7.00 rounded, and so on
            (1000, 0), // 999.5 exactly: β₂ applied, not rounded away
            (100, -3000),
            (65536, 65536),
            (i32::MAX - 1, 0),
            (i32::MAX, i32::MIN),
            (i32::MAX, i32::MAX),
        ] {
            let (r, g) = (Q16::from_raw(r), Q16::from_raw(g));
            let (got, saturated) = {
                fixed::take_saturations();
                let v = rms_update(r, g, b, ob).raw();
                (v, fixed::take_saturations())
            };
            let exact = (65470.0 / 65536.0 * f64::from(r.raw()).powi(2)
                + 66.0 / 65536.0 * f64::from(g.raw()).powi(2))
            .sqrt();
            let want = exact.min(f64::from(i32::MAX));
            // the final rounding, plus what rounding the two weighted squares (half a
            // Q32.32 step each) moves the root
            let tolerance = 0.5 + 1.0 / (2.0 * want.max(0.5));
            assert!(
                (f64::from(got) - want).abs() <= tolerance,
                "{r:?} {g:?}: {got} vs {want}"
            );
            // saturated, and counted, only when the root rounds beyond i32 (which even
            // r = MAX, g = MIN, at 2147483647.001, does not)
            let beyond = exact > f64::from(i32::MAX) + 0.5;
            assert_eq!(saturated, u32::from(beyond), "{r:?} {g:?}: {exact}");
        }
    }
}
