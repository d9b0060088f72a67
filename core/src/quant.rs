//! Integer requantization as TensorFlow Lite Micro's reference kernels compute it.
//!
//! An int8 layer accumulates `Σ w·x` in 32 bits and scales the sum back to int8 by a real
//! factor `M = s_w·s_x / s_y`. The factor is held as a 32-bit fixed-point multiplier in
//! `[2³⁰, 2³¹)` (a Q0.31 value in `[0.5, 1)`) and a power-of-two shift, and applied as
//! TFLite does, so that a model quantized here computes, bit for bit, what it computes
//! under TFLite Micro:
//!
//! - [`saturating_rounding_doubling_high_mul`]: the high 32 bits of `2·a·b`, rounded half
//!   up (towards +∞), saturating the one product that overflows;
//! - [`rounding_divide_by_pot`]: `x / 2^e` rounded to nearest, ties away from zero;
//! - [`multiply_by_quantized_multiplier`]: the two in TFLite's order.
//!
//! Every function is total: inputs for which TFLite's C++ is undefined (a left shift that
//! overflows, a shift out of range) saturate or clamp here, and each says how.

/// `M` as TFLite holds it: `multiplier · 2^(shift − 31)`, `multiplier` in `[2³⁰, 2³¹)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuantizedMultiplier {
    /// The Q0.31 mantissa, in `[2³⁰, 2³¹)`; 0 for `M = 0`.
    pub multiplier: i32,
    /// The power of two: positive shifts left, negative right.
    pub shift: i32,
}

impl QuantizedMultiplier {
    /// TFLite's `QuantizeMultiplier`: `m = q·2^shift` with `q` in `[0.5, 1)`, `q` rounded to
    /// 31 fractional bits (half away from zero), and a `q` that rounds up to 1 taken as
    /// 0.5 with the shift one higher. Factors below 2⁻³¹ become 0, as TFLite makes them.
    /// `None` for negative, infinite or NaN `m`, and for `m` of 2³¹ or more, whose shift a
    /// 32-bit accumulator cannot take.
    pub fn new(m: f64) -> Option<Self> {
        if !(0.0..2_147_483_648.0).contains(&m) {
            return None;
        }
        if m == 0.0 {
            return Some(QuantizedMultiplier {
                multiplier: 0,
                shift: 0,
            });
        }
        let (q, mut shift) = libm::frexp(m);
        let mut q_fixed = libm::round(q * 2_147_483_648.0) as i64;
        if q_fixed == 1 << 31 {
            q_fixed /= 2;
            shift += 1;
        }
        if shift < -31 {
            return Some(QuantizedMultiplier {
                multiplier: 0,
                shift: 0,
            });
        }
        Some(QuantizedMultiplier {
            multiplier: q_fixed as i32,
            shift,
        })
    }

    /// `x · M`, rounded as TFLite rounds it (see [`multiply_by_quantized_multiplier`]).
    pub fn apply(self, x: i32) -> i32 {
        multiply_by_quantized_multiplier(x, self.multiplier, self.shift)
    }
}

/// The high 32 bits of `2·a·b`, rounded half up: `⌊(a·b + 2³⁰) / 2³¹⌋`. The one product
/// that does not fit, `i32::MIN · i32::MIN`, saturates to `i32::MAX`.
pub fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let ab = i64::from(a) * i64::from(b);
    // the nudge, then a division that truncates towards zero: half up, in TFLite's words
    let nudge = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    ((ab + nudge) / (1 << 31)) as i32
}

/// `x / 2^exponent`, rounded to nearest with ties away from zero. `exponent` is clamped to
/// `0..=31`, the range TFLite allows.
pub fn rounding_divide_by_pot(x: i32, exponent: i32) -> i32 {
    let e = exponent.clamp(0, 31);
    let mask = ((1i64 << e) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i32::from(x < 0);
    (x >> e) + i32::from(remainder > threshold)
}

/// `x · multiplier · 2^(shift − 31)`, rounded as TFLite's reference kernels round it: a
/// left shift by `max(shift, 0)`, [`saturating_rounding_doubling_high_mul`] by
/// `multiplier`, then [`rounding_divide_by_pot`] by `max(−shift, 0)`. The left shift
/// saturates where TFLite's would overflow; `shift` is clamped to `−31..=30`.
pub fn multiply_by_quantized_multiplier(x: i32, multiplier: i32, shift: i32) -> i32 {
    let shift = shift.clamp(-31, 30);
    let left = shift.max(0);
    let right = (-shift).max(0);
    let shifted = x.saturating_mul(1 << left);
    rounding_divide_by_pot(
        saturating_rounding_doubling_high_mul(shifted, multiplier),
        right,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro128PlusPlus;

    // The published formulas, written again in exact 128-bit arithmetic, as the reference
    // the fixed-width versions above must equal everywhere.

    fn srdhm_ref(a: i32, b: i32) -> i32 {
        let exact = i128::from(a) * i128::from(b) + (1 << 30);
        exact.div_euclid(1 << 31).min(i128::from(i32::MAX)) as i32
    }

    fn rdbp_ref(x: i32, e: i32) -> i32 {
        let (x, d) = (i128::from(x), 1i128 << e.clamp(0, 31));
        let away = (x.abs() + d / 2).div_euclid(d);
        (if x < 0 { -away } else { away }) as i32
    }

    /// Edge cases, with the values the formulas give worked out by hand.
    #[test]
    fn srdhm_table() {
        let cases: [(i32, i32, i32); 9] = [
            (i32::MIN, i32::MIN, i32::MAX),     // the one overflow, saturated
            (i32::MAX, i32::MAX, i32::MAX - 1), // (2³¹−1)²/2³¹ = 2³¹ − 2 + a fraction
            (i32::MIN, i32::MAX, i32::MIN + 1), // −2³¹·(2³¹−1)/2³¹ exactly
            (1 << 30, 1, 1),                    // 2³⁰/2³¹ = 0.5: half up to 1
            (-(1 << 30), 1, 0),                 // −0.5: half up to 0
            ((1 << 30) - 1, 1, 0),              // just under 0.5
            (-(1 << 30) - 1, 1, -1),            // just past −0.5
            (1 << 30, 1 << 30, 1 << 29),        // 0.5 · 0.5 in Q0.31
            (0, i32::MIN, 0),
        ];
        for (a, b, want) in cases {
            assert_eq!(
                saturating_rounding_doubling_high_mul(a, b),
                want,
                "{a} · {b}"
            );
            assert_eq!(srdhm_ref(a, b), want, "reference, {a} · {b}");
        }
    }

    #[test]
    fn rounding_divide_table() {
        let cases: [(i32, i32, i32); 10] = [
            (3, 1, 2),   // 1.5: away from zero
            (-3, 1, -2), // −1.5: away from zero
            (5, 2, 1),   // 1.25
            (-5, 2, -1),
            (6, 2, 2), // 1.5
            (-6, 2, -2),
            (i32::MAX, 31, 1), // just under 1
            (i32::MIN, 31, -1),
            (i32::MIN, 0, i32::MIN),
            (7, -4, 7), // a negative exponent is clamped to 0
        ];
        for (x, e, want) in cases {
            assert_eq!(rounding_divide_by_pot(x, e), want, "{x} / 2^{e}");
            assert_eq!(rdbp_ref(x, e), want, "reference, {x} / 2^{e}");
        }
    }

    #[test]
    fn requantization_table() {
        // (x, multiplier, shift, want)
        let cases: [(i32, i32, i32, i32); 8] = [
            // M = 0.5 (2³⁰ · 2⁻³¹): 3·0.5 = 1.5 → SRDHM rounds half up to 2
            (3, 1 << 30, 0, 2),
            (-3, 1 << 30, 0, -1),
            // M = 0.5 · 2⁻¹ = 0.25: 6·0.5 = 3, then 3/2 = 1.5 away from zero → 2
            (6, 1 << 30, -1, 2),
            (-6, 1 << 30, -1, -2),
            // the largest multiplier, shifted right by 31: 2³¹−1 · ~1 / 2³¹ → 1
            (i32::MAX, i32::MAX, -31, 1),
            // left shifts: 100 · 0.5 · 2⁴ = 800
            (100, 1 << 30, 4, 800),
            // a left shift that overflows saturates before the multiply
            (i32::MAX, i32::MAX, 30, i32::MAX - 1),
            (i32::MIN, i32::MAX, 30, i32::MIN + 1),
        ];
        for (x, m, s, want) in cases {
            assert_eq!(
                multiply_by_quantized_multiplier(x, m, s),
                want,
                "{x} · {m} · 2^({s} − 31)"
            );
        }
    }

    #[test]
    fn quantize_multiplier_table() {
        let q = |m| QuantizedMultiplier::new(m).map(|q| (q.multiplier, q.shift));
        assert_eq!(q(0.5), Some((1 << 30, 0)));
        assert_eq!(q(1.0), Some((1 << 30, 1)));
        assert_eq!(q(0.75), Some((3 << 29, 0)));
        assert_eq!(q(2.0f64.powi(-31)), Some((1 << 30, -30)));
        assert_eq!(q(2.0f64.powi(-33)), Some((0, 0))); // below TFLite's range: zero
        assert_eq!(q(0.0), Some((0, 0)));
        // just under 1: the mantissa rounds up to 2³¹ and is halved, the shift raised
        assert_eq!(q(1.0 - 2.0f64.powi(-40)), Some((1 << 30, 1)));
        assert_eq!(q(-0.5), None);
        assert_eq!(q(f64::NAN), None);
        assert_eq!(q(f64::INFINITY), None);
        assert_eq!(q(2_147_483_648.0), None);
    }

    /// Millions of random and edge-weighted inputs against the 128-bit references.
    #[test]
    fn agrees_with_the_exact_formulas() {
        let mut rng = Xoshiro128PlusPlus::seed_from_u64(5);
        let edges = [
            0,
            1,
            -1,
            2,
            -2,
            i32::MAX,
            i32::MIN,
            1 << 30,
            -(1 << 30),
            i32::MAX - 1,
        ];
        let draw = |rng: &mut Xoshiro128PlusPlus| {
            let r = rng.next_u32();
            if r.is_multiple_of(4) {
                edges[(r >> 8) as usize % edges.len()]
            } else {
                rng.next_u32() as i32
            }
        };
        for _ in 0..1_000_000 {
            let (a, b) = (draw(&mut rng), draw(&mut rng));
            assert_eq!(saturating_rounding_doubling_high_mul(a, b), srdhm_ref(a, b));
            let e = (rng.next_u32() % 32) as i32;
            assert_eq!(rounding_divide_by_pot(a, e), rdbp_ref(a, e), "{a} / 2^{e}");
            // the composition, for right shifts (TFLite's usual case: M < 1)
            let want = rdbp_ref(srdhm_ref(a, b), e);
            assert_eq!(multiply_by_quantized_multiplier(a, b, -e), want);
        }
    }

    /// The quantized multiplier applied to integers is the real factor, within half a unit
    /// of the result's last place plus the mantissa's rounding.
    #[test]
    fn quantized_multipliers_scale_as_their_real_factor() {
        let mut rng = Xoshiro128PlusPlus::seed_from_u64(6);
        for _ in 0..100_000 {
            // factors as int8 layers have them, 2⁻²⁰ to 2⁴
            let m = libm::exp2(f64::from(rng.next_u32() % 24_000) / 1000.0 - 20.0);
            let x = (rng.next_u32() % 2_000_001) as i32 - 1_000_000;
            let q = QuantizedMultiplier::new(m).unwrap();
            let got = f64::from(q.apply(x));
            let exact = f64::from(x) * m;
            // rounding of the product (≤ 0.5 twice, SRDHM then the shift) and of the
            // mantissa (relative 2⁻³¹ of |x·M|)
            assert!(
                (got - exact).abs() <= 1.0 + exact.abs() * 2f64.powi(-30),
                "{x} · {m}: {got} against {exact}"
            );
        }
    }
}
