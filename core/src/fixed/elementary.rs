//! tanh, the logistic sigmoid, softplus, exp and ln for [`Q16`], in integers only.
//!
//! Method: range reduction by the functions' symmetries and by powers of two, then tables
//! from `tools/fixed_tables.py` (in `tables.rs`, 1236 bytes): piecewise cubics for
//! `tanh(v/2)` and `ln(1 + t)`, evaluated by Horner's rule in 64-bit integers with Q30
//! coefficients, and `e^(a/64)` with a short Taylor series for `exp`. Each function works
//! in Q30 or finer and rounds once at the end, so its error is the final rounding's half
//! LSB plus a small part from the tables; outside the tables' ranges the result is the
//! asymptote, from where the exact value is within half an LSB of it.
//!
//! Error bounds are absolute, in LSB (2⁻¹⁶), against the exact function at the exact input
//! (computed in f64, whose own error is far below 2⁻¹⁶), and hold for all 2³² inputs:
//! each was measured on every one of them by the ignored test `exhaustive`, which also
//! finds every function non-decreasing from each input to the next; the unit tests check
//! both on every input where the function is not flat, and the bounds on a sample of the
//! rest. A bound under 1 LSB means the result is always one of the two Q16 values around
//! the exact one.

use super::tables::{
    EXP_FRAC, EXP_MAX, EXP_ZERO, INV_LN2_Q16, LN2_Q30, LN2_Q40, LN2_Q48, LN_1P, SIGMOID_ONE,
    SOFTPLUS_ZERO, TANH_HALF, TANH_ONE,
};
use super::{count, round_shr, round_shr_signed, Q16};

/// The piecewise cubic `table` at `t`: piece `t >> bits`, at `τ = (t mod 2^bits) / 2^bits`,
/// in Q30. Each Horner step rounds down, by less than 2⁻³⁰.
fn piecewise<const N: usize>(table: &[[i32; 4]; N], t: u32, bits: u32) -> i64 {
    // callers stay inside the table; clamping only keeps the index provably in bounds
    let c = &table[((t >> bits) as usize).min(N - 1)];
    let tau = i64::from(t & ((1 << bits) - 1));
    let mut acc = i64::from(c[3]);
    acc = i64::from(c[2]) + ((acc * tau) >> bits);
    acc = i64::from(c[1]) + ((acc * tau) >> bits);
    i64::from(c[0]) + ((acc * tau) >> bits)
}

/// `tanh(v/2)` in Q30 for `v` in Q16, `0 ≤ v < 12.5`.
fn tanh_half(v: u32) -> i64 {
    piecewise(&TANH_HALF, v, 14)
}

/// `ln(1 + t)` in Q30 for `t` in Q31, `0 ≤ t < 1`.
///
/// `t` is cut to Q26 first, which costs less than 2⁻²⁶: then each step of `t` raises the
/// cubic by at least 8 units of 2⁻³⁰, more than the Horner steps' rounding (under 3) can
/// take back, so that [`Q16::ln`] never decreases.
fn ln_1p(t: u32) -> i64 {
    piecewise(&LN_1P, t >> 5, 22)
}

/// A Q30 value in `[0, 2]` rounded to the nearest raw Q16, ties to even.
fn q30_to_raw(v: i64) -> i32 {
    round_shr_signed(v, 14) as i32
}

/// `e^y − 1` in Q40 for `y` in Q40, `0 ≤ y < 2⁻⁶`, within 2⁻³⁷.
///
/// `y + y²·(1/2 + y·(1/6 + y·(1/24 + y/120)))`: the next term, `y⁶/720`, is below 2⁻⁴⁵.
/// The cubic factor needs only 32 bits of `y`, which keeps every product in 64 bits.
fn exp_m1_small(y: u64) -> u64 {
    const C2: u64 = 1 << 31; // 1/2 in Q32
    const C3: u64 = ((1 << 32) + 3) / 6; // 1/6, rounded
    const C4: u64 = ((1 << 32) + 12) / 24;
    const C5: u64 = ((1 << 32) + 60) / 120;
    let y32 = y >> 8; // Q32, < 2²⁶
    let mut p = C5;
    p = C4 + ((p * y32) >> 32);
    p = C3 + ((p * y32) >> 32);
    p = C2 + ((p * y32) >> 32);
    let y2 = (y32 * y32) >> 24; // Q40, < 2²⁸
    y + ((y2 * p) >> 32)
}

impl Q16 {
    /// The hyperbolic tangent.
    ///
    /// Error: at most 0.55 LSB (8.4e-6) for every input. Measured on all 2³² inputs:
    /// 0.5420 LSB; the exact value correctly rounded for all but 2342 of the 817669
    /// inputs where tanh is not flat; never decreasing. `tanh(−x) = −tanh(x)` holds
    /// exactly, and `|x| ≥ 6.2383` (raw 408835), where `1 − tanh |x| < 2⁻¹⁷`, gives ±1.
    ///
    /// Method: `tanh(x) = tanh(2|x| / 2)` from the table of `tanh(v/2)` that
    /// [`sigmoid`](Q16::sigmoid) shares, with the sign put back.
    pub fn tanh(self) -> Q16 {
        let ax = self.0.unsigned_abs();
        let r = if ax >= TANH_ONE as u32 {
            Q16::ONE.0
        } else {
            q30_to_raw(tanh_half(2 * ax))
        };
        Q16(if self.0 < 0 { -r } else { r })
    }

    /// The logistic sigmoid `σ(x) = 1 / (1 + e^−x)`.
    ///
    /// Error: at most 0.53 LSB (8.1e-6) for every input. Measured on all 2³² inputs:
    /// 0.5205 LSB; correctly rounded for all but 2474 of the 1544487 inputs where σ is not
    /// flat; never decreasing. `σ(−x) = 1 − σ(x)` holds exactly, and `|x| ≥ 11.7835` (raw
    /// 772244), where `σ` is within 2⁻¹⁷ of 0 or 1, gives 0 or 1.
    ///
    /// Method: `σ(|x|) = (1 + tanh(|x|/2)) / 2` from the table of `tanh(v/2)`, then
    /// `σ(x) = 1 − σ(|x|)` for `x < 0`.
    pub fn sigmoid(self) -> Q16 {
        let ax = self.0.unsigned_abs();
        let r = if ax >= SIGMOID_ONE as u32 {
            Q16::ONE.0
        } else {
            // (1 + t)/2 in Q31 is 2³⁰ + t in Q30
            round_shr_signed((1 << 30) + tanh_half(ax), 15) as i32
        };
        Q16(if self.0 < 0 { Q16::ONE.0 - r } else { r })
    }

    /// Softplus, `ln(1 + e^x)`, computed as `max(x, 0) + ln(1 + e^−|x|)`: no overflow and no
    /// saturation for any input.
    ///
    /// Error: at most 0.54 LSB (8.2e-6) for every input. Measured on all 2³² inputs:
    /// 0.5310 LSB; correctly rounded for all but 3334 of the 1544487 inputs with
    /// `|x| < 11.7835`; never decreasing. From `|x| ≥ 11.7835` (raw 772244), where
    /// `ln(1 + e^−|x|) < 2⁻¹⁷`, it gives `max(x, 0)` exactly.
    ///
    /// Method: `ln(1 + e^−u) = −ln σ(u) = ln 2 − ln(1 + tanh(u/2))`, from the tables of
    /// `tanh(v/2)` and `ln(1 + t)`; the first is accurate to 6.5e-7 and the second's slope
    /// is below 1, so their errors add.
    pub fn softplus(self) -> Q16 {
        let u = self.0.unsigned_abs();
        let tail = if u >= SOFTPLUS_ZERO as u32 {
            0
        } else {
            let t = tanh_half(u).clamp(0, (1 << 30) - 1);
            q30_to_raw(i64::from(LN2_Q30) - ln_1p((t as u32) << 1))
        };
        // max(x, 0) + tail: the tail is 0 wherever x could overflow
        Q16(self.0.max(0) + tail)
    }

    /// `e^x`, saturating to `MAX` (counted) from `x ≥ 10.3972` (raw 681392), where the
    /// nearest Q16 is past `MAX`; 0 for `x ≤ −11.7835` (raw −772244), where `e^x ≤ 2⁻¹⁷`.
    ///
    /// Error: at most 0.8 LSB (1.2e-5) absolute for every input that does not saturate.
    /// Relative to `e^x`, that is at most 1.2e-5 for results of at least 1 (`x ≥ 0`) and
    /// at most 1.2e-8 for results of at least 2¹⁰ (`x ≥ 6.93`). Measured on all 2³²
    /// inputs: 0.7650 LSB, at `x = 9.995` where `e^x = 21915`, so relative 5.3e-10;
    /// correctly rounded for all but 8668 of the 1453635 inputs between the two ends;
    /// never decreasing.
    ///
    /// Method: `x = k·ln 2 + r` with `r` in `[0, ln 2)` held in Q48, `r = a/64 + y` with
    /// `y < 1/64`, and `e^x = 2^k · e^(a/64) · e^y`: `e^(a/64)` from a 45-entry table in
    /// Q31, `e^y − 1` from five Taylor terms in Q40, the product in Q63, and one rounding
    /// by `2^(47 − k)`.
    pub fn exp(self) -> Q16 {
        let x = self.0;
        if x >= EXP_MAX {
            count(1);
            return Q16::MAX;
        }
        if x <= EXP_ZERO {
            return Q16::ZERO;
        }

        // x = k·ln 2 + r: k from x / ln 2 to within one, then r in [0, ln 2) fixes it
        let mut k = (i64::from(x) * INV_LN2_Q16) >> 32;
        let mut r = (i64::from(x) << 32) - k * LN2_Q48;
        if r < 0 {
            k -= 1;
            r += LN2_Q48;
        } else if r >= LN2_Q48 {
            k += 1;
            r -= LN2_Q48;
        }

        // e^r = e^(a/64) · (1 + (e^y − 1)), in Q63; e^r < 2, so it fits in 64 bits
        let a = (r >> 42) as usize;
        let y = ((r & ((1 << 42) - 1)) >> 8) as u64;
        let m = u64::from(EXP_FRAC[a.min(EXP_FRAC.len() - 1)]);
        let d = exp_m1_small(y) >> 4; // Q36, < 2³⁰
        let e = (m << 32).saturating_add((m * d) >> 4);

        // e^x · 2¹⁶ = e^r · 2^(k + 16) = e / 2^(47 − k), with k in −17..=14
        let raw = round_shr(e, (47 - k) as u32);
        Q16(raw.min(i32::MAX as u64) as i32)
    }

    /// The natural logarithm. `x ≤ 0` gives `MIN`, counted.
    ///
    /// Error: at most 0.51 LSB (7.8e-6) absolute for every positive input. Measured on all
    /// 2³¹ − 1 of them: 0.5034 LSB; correctly rounded for all but 1353581 (0.06 %); never
    /// decreasing. The results span `ln 2⁻¹⁶ = −11.09` to `ln 32768 = 10.40`.
    ///
    /// Method: `x = 2^e · (1 + t)` with `t` in `[0, 1)` in Q31, exact from the raw value's
    /// leading zeros, and `ln x = e·ln 2 + ln(1 + t)`, the latter from the table of
    /// `ln(1 + t)`; the sum in Q40, rounded once.
    pub fn ln(self) -> Q16 {
        if self.0 <= 0 {
            count(1);
            return Q16::MIN;
        }
        // r = 2^(31 − lz) · (1 + t) with lz in 1..=31, and x = r / 2¹⁶
        let r = self.0 as u32;
        let lz = r.leading_zeros();
        let t = (r << lz) & 0x7fff_ffff;
        let e = 15 - i64::from(lz);
        Q16(round_shr_signed(e * LN2_Q40 + (ln_1p(t) << 10), 24) as i32)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::fixed::take_saturations;
    use std::vec::Vec;

    /// A function under test: its name, itself, its exact value in f64, the inputs on
    /// which it is not flat, its stated bound in LSB, and whether it rises with `x`.
    struct Case {
        name: &'static str,
        f: fn(Q16) -> Q16,
        exact: fn(f64) -> f64,
        active: (i32, i32),
        bound: f64,
    }

    fn sigmoid_f64(x: f64) -> f64 {
        1.0 / (1.0 + (-x).exp())
    }

    fn softplus_f64(x: f64) -> f64 {
        x.max(0.0) + (-x.abs()).exp().ln_1p()
    }

    const CASES: [Case; 5] = [
        Case {
            name: "tanh",
            f: Q16::tanh,
            exact: f64::tanh,
            active: (-TANH_ONE, TANH_ONE),
            bound: 0.55,
        },
        Case {
            name: "sigmoid",
            f: Q16::sigmoid,
            exact: sigmoid_f64,
            active: (-SIGMOID_ONE, SIGMOID_ONE),
            bound: 0.53,
        },
        Case {
            name: "softplus",
            f: Q16::softplus,
            exact: softplus_f64,
            active: (-SOFTPLUS_ZERO, SOFTPLUS_ZERO),
            bound: 0.54,
        },
        Case {
            name: "exp",
            f: Q16::exp,
            exact: f64::exp,
            active: (EXP_ZERO, EXP_MAX),
            bound: 0.8,
        },
        Case {
            name: "ln",
            f: Q16::ln,
            exact: f64::ln,
            active: (1, 1 << 21),
            bound: 0.51,
        },
    ];

    /// Error of `f(x)` in LSB; `None` where the function leaves the range on purpose
    /// (exp past `MAX`, ln of `x ≤ 0`), which other tests check.
    fn error(case: &Case, x: i32) -> Option<f64> {
        if (case.name == "exp" && x >= EXP_MAX) || (case.name == "ln" && x <= 0) {
            return None;
        }
        let exact = (case.exact)(f64::from(x) / 65536.0) * 65536.0;
        Some((f64::from((case.f)(Q16(x)).0) - exact).abs())
    }

    /// Every input in the active range, every 7th from there to 2²⁴ for ln (which is never
    /// flat), every 4099th over all of `i32`, and the edges.
    fn inputs(case: &Case) -> Vec<i32> {
        let (lo, hi) = case.active;
        let mut v: Vec<i32> = (lo..=hi).collect();
        if case.name == "ln" {
            v.extend((hi..1 << 24).step_by(7));
        }
        v.extend((i32::MIN..=i32::MAX).step_by(4099));
        for t in [
            TANH_ONE,
            SIGMOID_ONE,
            SOFTPLUS_ZERO,
            EXP_MAX,
            EXP_ZERO,
            i32::MAX,
        ] {
            v.extend([t - 1, t, t.saturating_add(1), -t, 1 - t, -1 - t]);
        }
        v.extend([i32::MIN, i32::MIN + 1, -1, 0, 1]);
        v
    }

    /// Each function within its stated bound on every input where it is not flat and a
    /// sample of the rest, the worst input named on failure; and never decreasing from one
    /// input to the next where it is not flat.
    fn within_bound(case: &Case) {
        let (lo, hi) = case.active;
        let mut prev = (case.f)(Q16(lo));
        for x in lo..=hi {
            let y = (case.f)(Q16(x));
            assert!(
                y >= prev,
                "{}: falls at raw {x}, {prev:?} to {y:?}",
                case.name
            );
            prev = y;
        }
        let mut worst = (0.0f64, 0);
        for x in inputs(case) {
            if let Some(e) = error(case, x) {
                if e > worst.0 {
                    worst = (e, x);
                }
            }
        }
        let (e, x) = worst;
        assert!(
            e <= case.bound,
            "{}: error {e:.4} LSB at raw {x} ({}) against the stated {} LSB",
            case.name,
            f64::from(x) / 65536.0,
            case.bound
        );
        // the bound is not loose either: the final rounding alone costs half an LSB
        assert!(e > 0.49, "{}: largest error {e}", case.name);
    }

    #[test]
    fn tanh_bound() {
        within_bound(&CASES[0]);
    }

    #[test]
    fn sigmoid_bound() {
        within_bound(&CASES[1]);
    }

    #[test]
    fn softplus_bound() {
        within_bound(&CASES[2]);
    }

    #[test]
    fn exp_bound() {
        within_bound(&CASES[3]);
    }

    #[test]
    fn ln_bound() {
        within_bound(&CASES[4]);
    }

    /// All 2³² inputs of each function: the largest error, how many results are not the
    /// exact value correctly rounded, and how many steps go down where the function rises.
    /// About a quarter of an hour on one core:
    /// `cargo test -p picogan --release --lib exhaustive -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn exhaustive() {
        for case in &CASES {
            let (mut worst, mut at, mut misrounded, mut falls) = (0.0f64, 0, 0u64, 0u64);
            let mut prev = (case.f)(Q16::MIN);
            for x in i32::MIN..=i32::MAX {
                let y = (case.f)(Q16(x));
                falls += u64::from(y < prev);
                prev = y;
                let Some(e) = error(case, x) else { continue };
                if e > worst {
                    (worst, at) = (e, x);
                }
                let exact = (case.exact)(f64::from(x) / 65536.0) * 65536.0;
                misrounded += u64::from(f64::from(y.0) != exact.round_ties_even());
            }
            std::println!(
                "{:8}: largest error {worst:.4} LSB at raw {at}; {misrounded} results not \
                 correctly rounded; {falls} steps down",
                case.name
            );
            assert!(worst <= case.bound && falls == 0, "{}", case.name);
        }
    }

    #[test]
    fn exact_values() {
        let q = Q16::from_raw;
        assert_eq!(Q16::ZERO.tanh(), Q16::ZERO);
        assert_eq!(Q16::ZERO.sigmoid(), q(1 << 15));
        assert_eq!(Q16::ZERO.exp(), Q16::ONE);
        assert_eq!(Q16::ONE.ln(), Q16::ZERO);
        // ln 2 · 2¹⁶ = 45426.09
        assert_eq!(Q16::ZERO.softplus(), q(45426));
        assert_eq!(q(2 << 16).ln(), q(45426));
        // the asymptotes, past the thresholds and at the ends of the range
        for x in [TANH_ONE, i32::MAX] {
            assert_eq!((q(x).tanh(), q(-x).tanh()), (Q16::ONE, -Q16::ONE));
        }
        for x in [SIGMOID_ONE, i32::MAX] {
            assert_eq!((q(x).sigmoid(), q(-x).sigmoid()), (Q16::ONE, Q16::ZERO));
        }
        assert_eq!(Q16::MIN.sigmoid(), Q16::ZERO);
        assert_eq!(Q16::MIN.tanh(), -Q16::ONE);
        assert_eq!(Q16::MAX.softplus(), Q16::MAX);
        assert_eq!(Q16::MIN.softplus(), Q16::ZERO);
        assert_eq!(q(EXP_ZERO).exp(), Q16::ZERO);
        assert_eq!(q(EXP_ZERO + 1).exp(), Q16::LSB);
        assert_eq!(Q16::MIN.exp(), Q16::ZERO);
        // one step below the threshold: a step of x moves e^x by 2⁻¹⁶ of itself, half a unit
        // here, so e^x·2¹⁶ = 2147470397.39, far below MAX
        assert_eq!(q(EXP_MAX - 1).exp(), q(2147470397));
        // the smallest and largest logarithms: ln 2⁻¹⁶ = −11.09, ln 32768 = 10.40
        assert_eq!(Q16::LSB.ln(), q(-726817));
        assert_eq!(Q16::MAX.ln(), q(681391));
        assert_eq!(take_saturations(), 0);
    }

    #[test]
    fn saturations_are_counted() {
        take_saturations();
        assert_eq!(Q16::from_raw(EXP_MAX).exp(), Q16::MAX);
        assert_eq!(Q16::MAX.exp(), Q16::MAX);
        assert_eq!(take_saturations(), 2);
        assert_eq!(Q16::ZERO.ln(), Q16::MIN);
        assert_eq!((-Q16::LSB).ln(), Q16::MIN);
        assert_eq!(Q16::MIN.ln(), Q16::MIN);
        assert_eq!(take_saturations(), 3);
        // the asymptotes are roundings, not saturations
        let _ = (
            Q16::MAX.tanh(),
            Q16::MIN.sigmoid(),
            Q16::MIN.exp(),
            Q16::MAX.softplus(),
        );
        assert_eq!(take_saturations(), 0);
    }

    /// The symmetries hold bit for bit, on a stride through the whole range.
    #[test]
    fn symmetries() {
        for x in (i32::MIN + 1..=i32::MAX).step_by(97) {
            let q = Q16(x);
            assert_eq!((-q).tanh(), -q.tanh(), "tanh at raw {x}");
            assert_eq!((-q).sigmoid(), Q16::ONE - q.sigmoid(), "sigmoid at raw {x}");
            // softplus(x) − softplus(−x) = x, to within the two roundings
            let d = q.softplus().0 - (-q).softplus().0 - x;
            assert!(d.abs() <= 1, "softplus at raw {x}");
        }
    }
}
