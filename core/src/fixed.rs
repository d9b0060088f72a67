//! Q16.16 fixed point for cores without a floating-point unit (Cortex-M0, M0+, M3).
//!
//! [`Q16`] holds a real number as an `i32` count of 2⁻¹⁶: 16 integer bits with the sign,
//! 16 fractional bits, the range `[−32768, 32768 − 2⁻¹⁶]` in steps of 2⁻¹⁶ ≈ 1.5e-5. One
//! step is called an LSB below.
//!
//! - **Rounding.** Wherever a result is not a multiple of 2⁻¹⁶ (products, quotients,
//!   [`dot`], [`Q16::from_f32`], [`Q16::from_ratio`], [`Q16::sqrt`]), it is rounded to
//!   nearest, ties to even. The elementary functions ([`Q16::tanh`], [`Q16::exp`], ...)
//!   approximate and state their error bound instead.
//! - **Saturation.** No operation wraps: a result beyond the range becomes [`Q16::MAX`] or
//!   [`Q16::MIN`], and every such event adds one to a counter read by [`saturations`] and
//!   [`take_saturations`], so that a training loop can tell that its scale is wrong.
//! - **Determinism.** Only integer arithmetic, and no table or branch that depends on the
//!   target: every target computes the same bits, with or without an FPU.
//!
//! # Examples
//!
//! ```
//! use picogan::fixed::{self, Q16};
//!
//! let x = Q16::from_f32(1.5);
//! let y = Q16::from_ratio(1, 3);
//! assert_eq!((x * y).to_f32(), 0.5);
//! assert_eq!(Q16::ONE.tanh(), Q16::from_raw(49912)); // tanh(1)·2¹⁶ = 49911.83
//!
//! fixed::take_saturations();
//! let _ = Q16::MAX + Q16::ONE; // MAX, counted
//! assert_eq!(fixed::take_saturations(), 1);
//! ```

mod elementary;
mod tables;

use core::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

/// A real number in Q16.16: `value = raw / 65536`.
///
/// Arithmetic saturates and counts (see the [module documentation](self)); equality,
/// ordering and hashing are those of the raw integer, which order as the values do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct Q16(i32);

impl Q16 {
    /// Fractional bits: `value = raw / 2^FRAC_BITS`.
    pub const FRAC_BITS: u32 = 16;
    /// 0.
    pub const ZERO: Q16 = Q16(0);
    /// 1, raw `0x0001_0000`.
    pub const ONE: Q16 = Q16(1 << 16);
    /// The largest value, 32768 − 2⁻¹⁶, raw `0x7fff_ffff`.
    pub const MAX: Q16 = Q16(i32::MAX);
    /// The smallest value, −32768, raw `0x8000_0000`.
    pub const MIN: Q16 = Q16(i32::MIN);
    /// The step, 2⁻¹⁶, raw 1.
    pub const LSB: Q16 = Q16(1);

    /// The value `raw / 65536`.
    pub const fn from_raw(raw: i32) -> Q16 {
        Q16(raw)
    }

    /// The integer this value is held as: `value · 65536`.
    pub const fn raw(self) -> i32 {
        self.0
    }

    /// `num / den`, rounded to nearest, ties to even, saturated to `[MIN, MAX]`.
    ///
    /// For constants: `den == 0` gives 0, and neither that nor a saturation is counted (a
    /// `const fn` cannot reach the counter). `from_ratio(n, d)` has the bits of
    /// `Q16::from_raw(n) / Q16::from_raw(d)` wherever `d != 0`.
    ///
    /// ```
    /// # use picogan::fixed::Q16;
    /// const THIRD: Q16 = Q16::from_ratio(1, 3);
    /// assert_eq!(THIRD.raw(), 21845); // 65536 / 3 = 21845.33
    /// assert_eq!(Q16::from_ratio(1, 131072).raw(), 0); // 0.5 LSB: the tie goes to even 0
    /// assert_eq!(Q16::from_ratio(3, 131072).raw(), 2); // 1.5 LSB: to even 2
    /// ```
    pub const fn from_ratio(num: i32, den: i32) -> Q16 {
        if den == 0 {
            return Q16::ZERO;
        }
        let q = div_round((num as i64) << 16, den as i64);
        if q > i32::MAX as i64 {
            Q16::MAX
        } else if q < i32::MIN as i64 {
            Q16::MIN
        } else {
            Q16(q as i32)
        }
    }

    /// The nearest Q16 to `x`, ties to even. Values past the range saturate, ±∞ included,
    /// and NaN gives 0; each of these adds one to the counter. Subnormals and ±0 give 0.
    ///
    /// Computed from the bits of `x` with integers only, so it costs no floating-point
    /// arithmetic on a core without an FPU.
    pub fn from_f32(x: f32) -> Q16 {
        let bits = x.to_bits();
        let negative = bits >> 31 != 0;
        let exponent = (bits >> 23) & 0xff;
        let mantissa = bits & 0x7f_ffff;
        if exponent == 0xff {
            count(1);
            return match (mantissa != 0, negative) {
                (true, _) => Q16::ZERO,
                (false, true) => Q16::MIN,
                (false, false) => Q16::MAX,
            };
        }

        // |x| = significand · 2^(e − 150), so |x|·2¹⁶ = significand · 2^(e − 134)
        let (significand, e) = match exponent {
            0 => (mantissa, 1),
            _ => (mantissa | 1 << 23, exponent),
        };
        let magnitude = if e >= 134 {
            // a shift of 9 or more gives at least 2³², which saturates; capped, it fits u64
            u64::from(significand) << (e - 134).min(9)
        } else {
            // a shift of 26 or more leaves less than one half, which rounds to 0
            round_shr(u64::from(significand), (134 - e).min(26))
        };
        let magnitude = magnitude as i64;
        saturate(if negative { -magnitude } else { magnitude })
    }

    /// The nearest `f32` (ties to even): exact where `|x| < 256`, whose raw value fits in
    /// the 24-bit significand.
    pub fn to_f32(self) -> f32 {
        // the integer's rounding is the only one: scaling by 2⁻¹⁶ is exact in f32
        self.0 as f32 * (1.0 / 65536.0)
    }

    /// The square root, rounded to nearest (the exact root is never a tie). A negative
    /// input gives 0 and is counted.
    ///
    /// `√(r / 2¹⁶) = √(r · 2¹⁶) / 2¹⁶`, so the raw result is the nearest integer to
    /// `√(r · 2¹⁶)`, from an exact integer square root.
    pub fn sqrt(self) -> Q16 {
        if self.0 < 0 {
            count(1);
            return Q16::ZERO;
        }
        let n = (self.0 as u64) << 16;
        let s = n.isqrt();
        // n ≥ s² + s + 1 > (s + 1/2)² rounds up; (s + 1/2)² is never an integer
        let s = if n - s * s > s { s + 1 } else { s };
        Q16(s as i32)
    }

    /// `|x|`. `MIN.abs()` is `MAX`, counted.
    pub fn abs(self) -> Q16 {
        match self.0.checked_abs() {
            Some(v) => Q16(v),
            None => {
                count(1);
                Q16::MAX
            }
        }
    }
}

/// `v / 2^s` rounded to nearest, ties to even, for `s` in `1..=63`; larger `s` give 0.
const fn round_shr(v: u64, s: u32) -> u64 {
    if s >= 64 {
        // v < 2⁶⁴: v / 2⁶⁴ < 1 rounds up only past one half, and larger s never do
        return (s == 64 && v > 1 << 63) as u64;
    }
    let q = v >> s;
    let r = v & ((1 << s) - 1);
    let half = 1 << (s - 1);
    q + (r > half || (r == half && q & 1 == 1)) as u64
}

/// `v / 2^s` rounded to nearest, ties to even, for `s` in `1..=62`.
const fn round_shr_signed(v: i64, s: u32) -> i64 {
    // the floor and a remainder in [0, 2^s), which is what rounding needs for either sign
    let q = v >> s;
    let r = v & ((1 << s) - 1);
    let half = 1 << (s - 1);
    q + (r > half || (r == half && q & 1 == 1)) as i64
}

/// `n / d` rounded to nearest, ties to even, for `d != 0`.
const fn div_round(n: i64, d: i64) -> i64 {
    let (un, ud) = (n.unsigned_abs(), d.unsigned_abs());
    let (q, r) = (un / ud, un % ud);
    // 2r against d without overflow: r > d − r past the half, r == d − r on it
    let q = q + (r > ud - r || (r == ud - r && q & 1 == 1)) as u64;
    if (n < 0) != (d < 0) {
        -(q as i64)
    } else {
        q as i64
    }
}

/// `v` as a raw Q16, saturated and counted outside `i32`.
fn saturate(v: i64) -> Q16 {
    if v > i64::from(i32::MAX) {
        count(1);
        Q16::MAX
    } else if v < i64::from(i32::MIN) {
        count(1);
        Q16::MIN
    } else {
        Q16(v as i32)
    }
}

impl Add for Q16 {
    type Output = Q16;
    /// `a + b`, exact or saturated (counted).
    fn add(self, rhs: Q16) -> Q16 {
        saturate(i64::from(self.0) + i64::from(rhs.0))
    }
}

impl Sub for Q16 {
    type Output = Q16;
    /// `a − b`, exact or saturated (counted).
    fn sub(self, rhs: Q16) -> Q16 {
        saturate(i64::from(self.0) - i64::from(rhs.0))
    }
}

impl Mul for Q16 {
    type Output = Q16;
    /// `a · b`: the exact 64-bit product of the raw values, rounded to nearest (ties to
    /// even) by 2¹⁶ and saturated (counted).
    fn mul(self, rhs: Q16) -> Q16 {
        saturate(round_shr_signed(wide_mul(self.0, rhs.0), 16))
    }
}

impl Div for Q16 {
    type Output = Q16;
    /// `a / b`: the exact quotient rounded to nearest (ties to even) and saturated
    /// (counted). `x / 0` is `MAX` for `x > 0`, `MIN` for `x < 0` and 0 for `x = 0`, each
    /// counted.
    fn div(self, rhs: Q16) -> Q16 {
        if rhs.0 == 0 {
            count(1);
            return match self.0 {
                0 => Q16::ZERO,
                v if v > 0 => Q16::MAX,
                _ => Q16::MIN,
            };
        }
        saturate(div_round(i64::from(self.0) << 16, i64::from(rhs.0)))
    }
}

impl Neg for Q16 {
    type Output = Q16;
    /// `−a`. `−MIN` is `MAX`, counted.
    fn neg(self) -> Q16 {
        saturate(-i64::from(self.0))
    }
}

impl AddAssign for Q16 {
    fn add_assign(&mut self, rhs: Q16) {
        *self = *self + rhs;
    }
}

impl SubAssign for Q16 {
    fn sub_assign(&mut self, rhs: Q16) {
        *self = *self - rhs;
    }
}

impl MulAssign for Q16 {
    fn mul_assign(&mut self, rhs: Q16) {
        *self = *self * rhs;
    }
}

impl DivAssign for Q16 {
    fn div_assign(&mut self, rhs: Q16) {
        *self = *self / rhs;
    }
}

/// `Σ a[i]·b[i]` over the first `min(a.len(), b.len())` elements: the fully connected
/// layer's kernel.
///
/// Every product is exact (the 64-bit product of the raw values, in Q32) and summed in an
/// `i64` in order; an add that would leave `i64` saturates instead and is counted. The sum
/// is rounded once, to nearest with ties to even, and saturated to Q16 (counted). So the
/// result is the exact dot product, correctly rounded, whenever the partial sums stay
/// within `±2⁶³` (`±2³¹` in value), which takes more than two billion products of `±1`.
///
/// The loop is one widening multiply-accumulate per element: while `|sum| < 2⁶²` no product
/// (at most 2⁶² in magnitude) can overflow the add, so the loop only tests the sum's high
/// word; once the sum passes 2⁶² (2³⁰ in value), a second loop does the saturating adds.
/// Counted in the release build's code, per element: on Cortex-M4
/// (`thumbv7em-none-eabihf`) 9 instructions, one `smlal`; on Cortex-M0
/// (`thumbv6m-none-eabi`), which has no 32×32→64 multiply, one call to `__aeabi_lmul` (37
/// instructions) and 19 others.
pub fn dot(a: &[Q16], b: &[Q16]) -> Q16 {
    // while |acc| < 2⁶² no product (|p| ≤ 2⁶²) can take it out of i64: a plain add
    let mut acc = 0i64;
    let mut done = 0;
    for (x, y) in a.iter().zip(b) {
        if !(-(1 << 62)..1 << 62).contains(&acc) {
            break;
        }
        acc += wide_mul(x.0, y.0);
        done += 1;
    }
    if done < a.len().min(b.len()) {
        let (a, b) = (a.get(done..).unwrap_or(&[]), b.get(done..).unwrap_or(&[]));
        acc = dot_saturating(acc, a, b);
    }
    saturate(round_shr_signed(acc, 16))
}

/// The rest of [`dot`] from a sum near the ends of `i64`: every add saturating, counted.
#[cold]
#[inline(never)]
fn dot_saturating(mut acc: i64, a: &[Q16], b: &[Q16]) -> i64 {
    let mut overflows = 0u32;
    for (x, y) in a.iter().zip(b) {
        let p = wide_mul(x.0, y.0);
        match acc.checked_add(p) {
            Some(s) => acc = s,
            None => {
                // both have the sign of p, or the add could not have overflowed
                acc = if p < 0 { i64::MIN } else { i64::MAX };
                overflows = overflows.saturating_add(1);
            }
        }
    }
    count(overflows);
    acc
}

/// `y[i] += alpha·x[i]` over the first `min(x.len(), y.len())` elements, each product
/// rounded as [`Mul`] rounds it (to nearest, ties to even) and each add saturating; every
/// saturation is counted.
pub fn axpy(alpha: Q16, x: &[Q16], y: &mut [Q16]) {
    // The backward pass spends most of its time here. The usual case, a product and a sum
    // that both fit, costs one comparison of the product's high word and one overflow
    // flag; the rest goes out of line.
    for (yi, &xi) in y.iter_mut().zip(x) {
        let product = round_half_even_16(wide_mul(alpha.0, xi.0));
        let p = product as i32;
        match yi.0.checked_add(p) {
            Some(sum) if i64::from(p) == product => yi.0 = sum,
            _ => yi.0 = add_saturating(yi.0, product),
        }
    }
}

/// `y + product` held within `i32`, the product first: each bound reached is counted.
#[cold]
#[inline(never)]
fn add_saturating(y: i32, product: i64) -> i32 {
    (Q16(y) + saturate(product)).0
}

/// `a·b`, exact. Where the processor multiplies into 64 bits (x86-64, ARMv7-M's `smull`)
/// the compiler's own product; on cores that multiply only into 32 bits (the build sets
/// `picogan_mul32` for them), [`wide_mul_by_halves`], measured on the Cortex-M0 against the
/// compiler's call to its 64-by-64-bit routine in `firmware/README.md`.
#[inline(always)]
fn wide_mul(a: i32, b: i32) -> i64 {
    #[cfg(picogan_mul32)]
    return wide_mul_by_halves(a, b);
    #[cfg(not(picogan_mul32))]
    return i64::from(a) * i64::from(b);
}

/// `a·b`, exact, from four products of 16-bit halves, each exact in 32 bits: with
/// `a = aₕ·2¹⁶ + aₗ` (`aₕ` signed, `aₗ` unsigned, both within 16 bits) and `b` alike,
/// `a·b = aₕbₕ·2³² + (aₕbₗ + aₗbₕ)·2¹⁶ + aₗbₗ`, where `|aₕbₕ| ≤ 2³⁰`, each middle product
/// lies in `(−2³¹, 2³¹)` and `aₗbₗ < 2³²` unsigned.
#[cfg_attr(not(any(test, picogan_mul32)), allow(dead_code))]
#[inline(always)]
fn wide_mul_by_halves(a: i32, b: i32) -> i64 {
    let (ah, al) = (a >> 16, a & 0xffff);
    let (bh, bl) = (b >> 16, b & 0xffff);
    let high = i64::from(ah * bh) << 32;
    let middle = (i64::from(ah * bl) + i64::from(al * bh)) << 16;
    let low = i64::from((al as u32) * (bl as u32));
    high + middle + low
}

/// `v / 2¹⁶` rounded to nearest, ties to even, as [`round_shr_signed`] by 16, without
/// branches: adding `2¹⁵ − 1` plus the quotient's lowest bit carries into the quotient
/// exactly when the remainder is above one half, or one half with an odd quotient. For
/// `|v| < 2⁶³ − 2¹⁶`, which every product of two `i32` is.
#[inline]
fn round_half_even_16(v: i64) -> i64 {
    (v + 0x7fff + ((v >> 16) & 1)) >> 16
}

// The saturation counter. Host tests run in parallel threads, each of which must see only
// its own saturations, so with `std` (and in tests) the count is per thread.
#[cfg(test)]
extern crate std;

#[cfg(any(test, feature = "std"))]
std::thread_local! {
    static SATURATIONS: core::cell::Cell<u32> = const { core::cell::Cell::new(0) };
}

// Without `std` the count is one static for the one thread of execution a microcontroller
// runs. Cortex-M0 has no atomic read-modify-write, so the count is a load and a store: an
// interrupt handler that saturates between the two loses its counts to the main loop's.
#[cfg(not(any(test, feature = "std")))]
static SATURATIONS: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);

/// Adds `n` saturations to the counter, which stops at `u32::MAX`.
pub(crate) fn count(n: u32) {
    #[cfg(any(test, feature = "std"))]
    SATURATIONS.with(|c| c.set(c.get().saturating_add(n)));
    #[cfg(not(any(test, feature = "std")))]
    {
        use core::sync::atomic::Ordering::Relaxed;
        SATURATIONS.store(SATURATIONS.load(Relaxed).saturating_add(n), Relaxed);
    }
}

/// How many times an operation of this module has saturated since the count was last
/// taken, up to `u32::MAX`, where the count stays.
///
/// With the `std` feature the count is per thread. Without it there is one count, kept
/// with a load and a store (Cortex-M0 has no atomic add): meant for the one thread of
/// execution of a microcontroller's main loop, not for saturations in interrupt handlers.
pub fn saturations() -> u32 {
    #[cfg(any(test, feature = "std"))]
    return SATURATIONS.with(core::cell::Cell::get);
    #[cfg(not(any(test, feature = "std")))]
    return SATURATIONS.load(core::sync::atomic::Ordering::Relaxed);
}

/// The count [`saturations`] returns, resetting it to 0.
pub fn take_saturations() -> u32 {
    #[cfg(any(test, feature = "std"))]
    return SATURATIONS.with(|c| c.replace(0));
    #[cfg(not(any(test, feature = "std")))]
    {
        use core::sync::atomic::Ordering::Relaxed;
        let n = SATURATIONS.load(Relaxed);
        SATURATIONS.store(0, Relaxed);
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro128PlusPlus;
    use std::vec::Vec;

    const fn q(raw: i32) -> Q16 {
        Q16(raw)
    }

    // Exact references in i128: the rational result, rounded to nearest with ties to even,
    // then saturated, with the number of saturations it takes.

    fn round_ref(n: i128, d: i128) -> i128 {
        let (n, d) = if d < 0 { (-n, -d) } else { (n, d) };
        let (fl, r) = (n.div_euclid(d), n.rem_euclid(d));
        if 2 * r > d || (2 * r == d && fl & 1 == 1) {
            fl + 1
        } else {
            fl
        }
    }

    fn clamp_ref(v: i128) -> (Q16, u32) {
        if v > i128::from(i32::MAX) {
            (Q16::MAX, 1)
        } else if v < i128::from(i32::MIN) {
            (Q16::MIN, 1)
        } else {
            (q(v as i32), 0)
        }
    }

    fn mul_ref(a: Q16, b: Q16) -> (Q16, u32) {
        clamp_ref(round_ref(i128::from(a.0) * i128::from(b.0), 1 << 16))
    }

    fn div_ref(a: Q16, b: Q16) -> (Q16, u32) {
        clamp_ref(round_ref(i128::from(a.0) << 16, i128::from(b.0)))
    }

    /// In order, each add saturating to i64 and counted, as `dot` documents.
    fn dot_ref(a: &[Q16], b: &[Q16]) -> (Q16, u32) {
        let (mut acc, mut n) = (0i128, 0);
        for (x, y) in a.iter().zip(b) {
            acc += i128::from(x.0) * i128::from(y.0);
            if acc > i128::from(i64::MAX) || acc < i128::from(i64::MIN) {
                acc = acc.clamp(i128::from(i64::MIN), i128::from(i64::MAX));
                n += 1;
            }
        }
        let (r, m) = clamp_ref(round_ref(acc, 1 << 16));
        (r, n + m)
    }

    /// `f()` and the saturations it counted.
    fn counted<T>(f: impl FnOnce() -> T) -> (T, u32) {
        take_saturations();
        let v = f();
        (v, take_saturations())
    }

    /// Raw values weighted to the edges of the range, to ties and to small numbers.
    fn draw(rng: &mut Xoshiro128PlusPlus) -> Q16 {
        let r = rng.next_u32();
        let raw = match r % 8 {
            0 => [
                0,
                1,
                -1,
                i32::MAX,
                i32::MIN,
                i32::MAX - 1,
                i32::MIN + 1,
                1 << 16,
                -(1 << 16),
            ][(r >> 8) as usize % 9],
            1 => (rng.next_u32() as i32) >> 12,         // |x| < 8
            2 => (rng.next_u32() as i32) >> 20,         // |x| < 2⁻⁴
            3 => ((rng.next_u32() as i32) >> 16) << 15, // multiples of one half
            _ => rng.next_u32() as i32,
        };
        q(raw)
    }

    #[test]
    fn mul_table() {
        // (a, b, a·b) in raw units; 32768 is one half
        let cases: [(i32, i32, i32); 14] = [
            (1, 32768, 0),  // 0.5 LSB: the tie goes to even 0
            (3, 32768, 2),  // 1.5 → 2
            (5, 32768, 2),  // 2.5 → 2
            (7, 32768, 4),  // 3.5 → 4
            (-1, 32768, 0), // −0.5 → 0
            (-3, 32768, -2),
            (-5, 32768, -2),
            (3, -32768, -2),
            (-3, -32768, 2),
            (1, 32769, 1),                  // just past the tie
            (-1, 32769, -1),                // just past the tie, below zero
            (1, 32767, 0),                  // just short of it
            (0x1_8000, 0x1_8000, 0x2_4000), // 1.5 · 1.5 = 2.25
            (i32::MAX, 1 << 16, i32::MAX),  // 1 leaves any value alone
        ];
        for (a, b, want) in cases {
            assert_eq!(counted(|| q(a) * q(b)), (q(want), 0), "{a} · {b}");
            assert_eq!(mul_ref(q(a), q(b)), (q(want), 0), "reference, {a} · {b}");
        }
    }

    #[test]
    fn div_table() {
        // (a, b, a/b) in raw units: the quotient a·2¹⁶/b rounded
        let cases: [(i32, i32, i32); 13] = [
            (1, 131072, 0), // 0.5 LSB → 0
            (3, 131072, 2), // 1.5 → 2
            (5, 131072, 2), // 2.5 → 2
            (-1, 131072, 0),
            (1, -131072, 0),
            (-3, 131072, -2),
            (3, -131072, -2),
            (-5, -131072, 2),
            (65536, 196608, 21845),   // 1/3 = 21845.33
            (-65536, 196608, -21845), // −1/3
            (131072, 196608, 43691),  // 2/3 = 43690.67
            (131072, -196608, -43691),
            (i32::MIN, 1 << 16, i32::MIN), // /1, exact at the end of the range
        ];
        for (a, b, want) in cases {
            assert_eq!(counted(|| q(a) / q(b)), (q(want), 0), "{a} / {b}");
            assert_eq!(div_ref(q(a), q(b)), (q(want), 0), "reference, {a} / {b}");
            // from_ratio divides raw values the same way
            assert_eq!(Q16::from_ratio(a, b), q(want), "from_ratio({a}, {b})");
        }
        assert_eq!(Q16::from_ratio(7, 0), Q16::ZERO);
        assert_eq!(Q16::from_ratio(1 << 16, 1), Q16::MAX); // 65536: saturated
        assert_eq!(Q16::from_ratio(-(1 << 15), 1), Q16::MIN); // −32768: exact
        assert_eq!(Q16::from_ratio(i32::MIN, -1), Q16::MAX);
        assert_eq!(take_saturations(), 0); // a const fn counts nothing
    }

    #[test]
    fn round_shr_table() {
        let cases: [(u64, u32, u64); 8] = [
            (1, 1, 0), // 0.5 → 0
            (3, 1, 2), // 1.5 → 2
            (5, 1, 2), // 2.5 → 2
            (u64::MAX, 63, 2),
            (1 << 63, 64, 0), // one half → 0
            ((1 << 63) + 1, 64, 1),
            (u64::MAX, 65, 0),
            (0x2_8000, 16, 2), // 2.5 → 2
        ];
        for (v, s, want) in cases {
            assert_eq!(round_shr(v, s), want, "{v} / 2^{s}");
        }
        assert_eq!(round_shr_signed(-0x1_8000, 16), -2); // −1.5 → −2
        assert_eq!(round_shr_signed(-0x2_8000, 16), -2); // −2.5 → −2
        assert_eq!(round_shr_signed(-0x2_8001, 16), -3);
    }

    /// Each operation at each end of the range: the saturated value, counted once; and
    /// the last results before the ends, not counted.
    #[test]
    fn saturation_is_counted_once() {
        type Case = (&'static str, fn() -> Q16, Q16, u32);
        let cases: [Case; 36] = [
            ("MAX + LSB", || Q16::MAX + Q16::LSB, Q16::MAX, 1),
            ("MIN + −LSB", || Q16::MIN + q(-1), Q16::MIN, 1),
            (
                "MAX − LSB + LSB",
                || q(i32::MAX - 1) + Q16::LSB,
                Q16::MAX,
                0,
            ),
            ("MIN − LSB", || Q16::MIN - Q16::LSB, Q16::MIN, 1),
            ("MAX − −LSB", || Q16::MAX - q(-1), Q16::MAX, 1),
            ("0 − MAX", || Q16::ZERO - Q16::MAX, q(i32::MIN + 1), 0),
            ("MAX · 2", || Q16::MAX * q(2 << 16), Q16::MAX, 1),
            ("MIN · 2", || Q16::MIN * q(2 << 16), Q16::MIN, 1),
            ("MAX · −2", || Q16::MAX * q(-2 << 16), Q16::MIN, 1),
            ("MIN · −1", || Q16::MIN * -Q16::ONE, Q16::MAX, 1),
            ("MIN · MIN", || Q16::MIN * Q16::MIN, Q16::MAX, 1),
            ("256 · 256", || q(256 << 16) * q(256 << 16), Q16::MAX, 1),
            ("−256 · 128", || q(-256 << 16) * q(128 << 16), Q16::MIN, 0),
            ("MAX / ½", || Q16::MAX / q(1 << 15), Q16::MAX, 1),
            ("MIN / ½", || Q16::MIN / q(1 << 15), Q16::MIN, 1),
            ("MAX / −½", || Q16::MAX / -q(1 << 15), Q16::MIN, 1),
            ("MIN / −1", || Q16::MIN / -Q16::ONE, Q16::MAX, 1),
            ("MIN / 1", || Q16::MIN / Q16::ONE, Q16::MIN, 0),
            ("1 / 0", || Q16::ONE / Q16::ZERO, Q16::MAX, 1),
            ("−LSB / 0", || q(-1) / Q16::ZERO, Q16::MIN, 1),
            ("0 / 0", || Q16::ZERO / Q16::ZERO, Q16::ZERO, 1),
            ("−MIN", || -Q16::MIN, Q16::MAX, 1),
            ("−MAX", || -Q16::MAX, q(i32::MIN + 1), 0),
            ("|MIN|", || Q16::MIN.abs(), Q16::MAX, 1),
            ("|MIN + LSB|", || q(i32::MIN + 1).abs(), Q16::MAX, 0),
            (
                "MAX += LSB",
                || assign(Q16::MAX, Q16::LSB, Q16::add_assign),
                Q16::MAX,
                1,
            ),
            (
                "MIN −= LSB",
                || assign(Q16::MIN, Q16::LSB, Q16::sub_assign),
                Q16::MIN,
                1,
            ),
            (
                "MIN *= MIN",
                || assign(Q16::MIN, Q16::MIN, Q16::mul_assign),
                Q16::MAX,
                1,
            ),
            (
                "−1 /= 0",
                || assign(-Q16::ONE, Q16::ZERO, Q16::div_assign),
                Q16::MIN,
                1,
            ),
            ("f32 32768", || Q16::from_f32(32768.0), Q16::MAX, 1),
            ("f32 −32768", || Q16::from_f32(-32768.0), Q16::MIN, 0),
            (
                "f32 next below −32768",
                || Q16::from_f32(-32768.004),
                Q16::MIN,
                1,
            ),
            ("f32 +∞", || Q16::from_f32(f32::INFINITY), Q16::MAX, 1),
            ("f32 −∞", || Q16::from_f32(f32::NEG_INFINITY), Q16::MIN, 1),
            ("f32 NaN", || Q16::from_f32(f32::NAN), Q16::ZERO, 1),
            ("√−LSB", || q(-1).sqrt(), Q16::ZERO, 1),
        ];
        for (name, f, want, n) in cases {
            assert_eq!(counted(f), (want, n), "{name}");
        }
    }

    fn assign(mut a: Q16, b: Q16, op: fn(&mut Q16, Q16)) -> Q16 {
        op(&mut a, b);
        a
    }

    #[test]
    fn counter_stops_at_u32_max_and_resets() {
        take_saturations();
        count(u32::MAX - 1);
        let _ = Q16::MAX + Q16::ONE;
        let _ = Q16::MIN - Q16::ONE;
        assert_eq!(saturations(), u32::MAX);
        assert_eq!(take_saturations(), u32::MAX);
        assert_eq!(saturations(), 0);
    }

    #[test]
    fn counter_is_per_thread() {
        take_saturations();
        let other = std::thread::spawn(|| {
            let _ = Q16::MAX + Q16::ONE;
            saturations()
        });
        assert_eq!(other.join().unwrap(), 1);
        assert_eq!(saturations(), 0);
    }

    /// Add, Sub, Neg, Mul and Div on millions of edge-weighted pairs against the exact
    /// references, results and counts.
    #[test]
    fn ops_match_exact_references() {
        let mut rng = Xoshiro128PlusPlus::seed_from_u64(11);
        for _ in 0..1_000_000 {
            let (a, b) = (draw(&mut rng), draw(&mut rng));
            let (x, y) = (i128::from(a.0), i128::from(b.0));
            assert_eq!(counted(|| a + b), clamp_ref(x + y), "{a:?} + {b:?}");
            assert_eq!(counted(|| a - b), clamp_ref(x - y), "{a:?} − {b:?}");
            assert_eq!(counted(|| -a), clamp_ref(-x), "−{a:?}");
            assert_eq!(counted(|| a * b), mul_ref(a, b), "{a:?} · {b:?}");
            if b.0 != 0 {
                assert_eq!(counted(|| a / b), div_ref(a, b), "{a:?} / {b:?}");
            }
        }
    }

    /// Random vectors of every length up to 70, some with values small enough never to
    /// overflow, some over the whole range, whose partial sums overflow i64 and saturate.
    #[test]
    fn dot_matches_exact_reference() {
        let mut rng = Xoshiro128PlusPlus::seed_from_u64(12);
        let mut overflowed = 0;
        for trial in 0..20_000 {
            let n = trial % 71;
            let (a, b): (Vec<Q16>, Vec<Q16>) = match trial % 3 {
                0 => (0..n)
                    .map(|_| {
                        (
                            q((rng.next_u32() as i32) >> 8),
                            q((rng.next_u32() as i32) >> 8),
                        )
                    })
                    .unzip(),
                1 => (0..n).map(|_| (draw(&mut rng), draw(&mut rng))).unzip(),
                // the same sign throughout: the sum runs into the end of i64 and stays
                _ => (0..n)
                    .map(|_| {
                        (
                            q((rng.next_u32() | 1 << 31) as i32),
                            q(-((rng.next_u32() >> 1) as i32)),
                        )
                    })
                    .unzip(),
            };
            let (want, n_sat) = dot_ref(&a, &b);
            assert_eq!(counted(|| dot(&a, &b)), (want, n_sat), "trial {trial}");
            // the shorter slice sets the length
            assert_eq!(dot(&a, &b[..n / 2]), dot_ref(&a[..n / 2], &b[..n / 2]).0);
            overflowed += usize::from(n_sat > 1);
        }
        assert!(overflowed > 1000, "{overflowed} trials overflowed i64");

        // a sum that saturates at the top of i64 and then comes down from there
        let a = [Q16::MAX, Q16::MAX, Q16::MAX, Q16::MIN, Q16::MIN];
        let b = [Q16::MAX, Q16::MAX, Q16::MAX, Q16::MAX, Q16::MAX];
        let (want, n) = dot_ref(&a, &b);
        assert_eq!(counted(|| dot(&a, &b)), (want, n));
        // three products of about 2⁶² pass 2⁶³ and stop there, once; two of −2⁶² + 2³¹ take
        // it to 2³² − 1 in Q32, 1 − 2⁻³², which rounds to 1 (the exact sum is past MAX)
        assert_eq!((want, n), (Q16::ONE, 1));
        assert_eq!(dot(&[], &[Q16::ONE]), Q16::ZERO);
    }

    #[test]
    fn dot_rounds_once() {
        // three products of 1/3 LSB: each would round to 0, their sum is exactly 1 LSB
        let third = q(21845); // 1/3 − 1/196608
        let lsb3 = [third, third, third];
        let small = [q(3), q(3), q(3)];
        // 21845·3 = 65535 per product in Q32, 196605 in all: 2.99998 LSB → 3
        assert_eq!(dot(&lsb3, &small), q(3));
        // ties to even at the end: 1.5 and 2.5 LSB
        assert_eq!(dot(&[q(3)], &[q(1 << 15)]), q(2));
        assert_eq!(dot(&[q(5), q(-5)], &[q(1 << 15), q(1 << 15)]), q(0));
        assert_eq!(dot(&[q(5)], &[q(-(1 << 15))]), q(-2));
    }

    #[test]
    fn branch_free_rounding_is_round_shr_by_16() {
        let mut r = Xoshiro128PlusPlus::seed_from_u64(17);
        let edges = [
            0i64, 1, -1, 0x8000, -0x8000, 0x18000, -0x18000, 0x7fff, -0x8001,
        ];
        let products =
            (0..100_000).map(|_| i64::from(r.next_u32() as i32) * i64::from(r.next_u32() as i32));
        for v in edges
            .into_iter()
            .chain(products)
            .chain([i64::from(i32::MIN).pow(2)])
        {
            assert_eq!(round_half_even_16(v), round_shr_signed(v, 16), "{v}");
        }
    }

    #[test]
    fn products_by_halves_are_exact() {
        let edges = [
            0,
            1,
            -1,
            0xffff,
            0x1_0000,
            -0x1_0000,
            0x7fff_ffff,
            i32::MIN,
            -0x8000,
        ];
        for &a in &edges {
            for &b in &edges {
                assert_eq!(
                    wide_mul_by_halves(a, b),
                    i64::from(a) * i64::from(b),
                    "{a}·{b}"
                );
            }
        }
        let mut r = Xoshiro128PlusPlus::seed_from_u64(17);
        for _ in 0..1_000_000 {
            let (a, b) = (r.next_u32() as i32, r.next_u32() as i32);
            assert_eq!(
                wide_mul_by_halves(a, b),
                i64::from(a) * i64::from(b),
                "{a}·{b}"
            );
        }
    }

    #[test]
    fn axpy_is_mul_then_add() {
        let mut rng = Xoshiro128PlusPlus::seed_from_u64(13);
        let mut saturated = 0;
        for _ in 0..2_000 {
            let alpha = draw(&mut rng);
            let x: [Q16; 7] = core::array::from_fn(|_| draw(&mut rng));
            let y0: [Q16; 9] = core::array::from_fn(|_| draw(&mut rng));
            let mut want = y0;
            let (_, n_want) = counted(|| {
                for (w, &xi) in want.iter_mut().zip(&x) {
                    *w += alpha * xi;
                }
            });
            let mut y = y0;
            let (_, n) = counted(|| axpy(alpha, &x, &mut y));
            // the shorter slice sets the length: y[7..] is left alone
            assert_eq!((y, n), (want, n_want));
            saturated += n;
        }
        assert!(saturated > 100, "{saturated} saturations");
    }

    #[test]
    fn f32_edges() {
        let tie = 2.0f32.powi(-17); // half an LSB
        let cases: [(f32, i32); 18] = [
            (0.0, 0),
            (-0.0, 0),
            (f32::from_bits(1), 0),          // the smallest subnormal
            (-f32::from_bits(0x7f_ffff), 0), // the largest subnormal
            (f32::MIN_POSITIVE, 0),
            (tie, 0),       // 0.5 LSB → 0
            (3.0 * tie, 2), // 1.5 → 2
            (5.0 * tie, 2), // 2.5 → 2
            (-3.0 * tie, -2),
            (-5.0 * tie, -2),
            (tie * (1.0 + f32::EPSILON), 1), // just past the tie
            (-tie * (1.0 + f32::EPSILON), -1),
            (1.0, 1 << 16),
            (-1.5, -0x1_8000),
            (32767.998, 2147483520), // the f32 just below 32768
            (-32768.0, i32::MIN),
            (f32::MAX, i32::MAX),
            (f32::MIN, i32::MIN),
        ];
        for (x, want) in cases {
            assert_eq!(Q16::from_f32(x), q(want), "{x:e}");
        }
        assert_eq!(Q16::MAX.to_f32(), 32768.0); // 2³¹ − 1 rounds to 2³¹ in f32
        assert_eq!(Q16::MIN.to_f32(), -32768.0);
        assert_eq!(Q16::LSB.to_f32(), 2.0f32.powi(-16));
        assert_eq!(q(-1).to_f32(), -(2.0f32.powi(-16)));
        assert_eq!(q((1 << 24) - 1).to_f32(), 256.0 - 2.0f32.powi(-16));
        assert_eq!(Q16::ZERO.to_f32().to_bits(), 0); // +0, never −0
    }

    /// from_f32 against f64, in which `x·2¹⁶` is exact, over random bit patterns; to_f32
    /// against f64's single rounding; and the round trip.
    #[test]
    fn f32_conversions_match_f64() {
        let mut rng = Xoshiro128PlusPlus::seed_from_u64(14);
        for i in 0..2_000_000u32 {
            let bits = rng.next_u32();
            // every other pattern near Q16's range, where the work is
            let bits = if i % 2 == 0 {
                (bits & 0x8fff_ffff) | 0x3000_0000
            } else {
                bits
            };
            let x = f32::from_bits(bits);
            if x.is_nan() {
                continue;
            }
            let exact = (f64::from(x) * 65536.0).round_ties_even();
            let want = clamp_ref(exact.clamp(-2f64.powi(40), 2f64.powi(40)) as i128);
            assert_eq!(counted(|| Q16::from_f32(x)), want, "{x:e}");

            let r = q(rng.next_u32() as i32);
            assert_eq!(r.to_f32(), (f64::from(r.0) / 65536.0) as f32, "{r:?}");
            // back: exact below 256, within f32's half step above
            let back = Q16::from_f32(r.to_f32()).0;
            let step = 1i64 << (32 - r.0.unsigned_abs().leading_zeros()).saturating_sub(24);
            assert!(
                (i64::from(back) - i64::from(r.0)).abs() <= step / 2,
                "{r:?}"
            );
        }
        for raw in -(1 << 24) + 1..1 << 24 {
            assert_eq!(Q16::from_f32(q(raw).to_f32()), q(raw));
        }
    }

    /// The nearest integer to √n, by a method of its own: the floor by bisection, then up
    /// when n > (s + ½)², that is 4n > (2s + 1)².
    fn sqrt_ref(x: Q16) -> Q16 {
        let n = u128::from(x.0 as u32) << 16;
        let (mut lo, mut hi) = (0u128, 1 << 24);
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            if mid * mid <= n {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let s = if 4 * n > (2 * lo + 1) * (2 * lo + 1) {
            lo + 1
        } else {
            lo
        };
        q(s as i32)
    }

    #[test]
    fn sqrt_is_nearest() {
        let mut rng = Xoshiro128PlusPlus::seed_from_u64(15);
        let small = 0..1 << 18;
        let random = (0..300_000).map(|_| (rng.next_u32() >> 1) as i32);
        // perfect squares and their neighbours, where n − s² is 0 or at its largest
        let squares = (1..46341i32).flat_map(|s| {
            let n = s * s;
            [n - 1, n, n + 1, n + s, n + s + 1]
        });
        for raw in small
            .chain(random)
            .chain(squares)
            .chain([i32::MAX, i32::MAX - 1])
        {
            assert_eq!(q(raw).sqrt(), sqrt_ref(q(raw)), "√ raw {raw}");
        }
        assert_eq!(q(4 << 16).sqrt(), q(2 << 16));
        assert_eq!(q(2 << 16).sqrt(), q(92682)); // √2·2¹⁶ = 92681.9
        assert_eq!(Q16::MAX.sqrt(), q(11863283)); // √32768·2¹⁶ = 11863283.2
        assert_eq!(take_saturations(), 0);
    }

    #[test]
    fn constants() {
        assert_eq!(Q16::ONE.to_f32(), 1.0);
        assert_eq!(Q16::from_raw(-7).raw(), -7);
        assert_eq!(Q16::default(), Q16::ZERO);
        assert_eq!(Q16::LSB.raw(), 1);
        assert_eq!(1i64 << Q16::FRAC_BITS, i64::from(Q16::ONE.raw()));
        assert!(Q16::MIN < -Q16::ONE && -Q16::ONE < Q16::ZERO && Q16::ONE < Q16::MAX);
    }
}
