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
//!
//! On these, [`QLinear`] is a fully connected layer in TFLite Micro's int8 scheme, with
//! [`Affine`] parameters for its activations, and [`Lut`] an element-wise activation as a
//! 256-entry table (ReLU, LeakyReLU, Tanh and Sigmoid). [`network`] joins them into whole
//! int8 networks that run from their own weights or in place from a file, and [`calibrate`]
//! quantizes f32 networks into them.

pub mod calibrate;
pub mod network;

pub use calibrate::{noise_input, quantize, FromF32, Range, NOISE_BOUND};
pub use network::{
    Fault, QKind, QLayer, QLeakyRelu, QNet, QPointsGenerator, QRelu, QSeedGenerator,
    QSeedShapedGenerator, QSigmoid, QSmallGenerator, QTable, QTanh, QTensorInfo,
    QTinyPointsGenerator,
};

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

/// How an int8 tensor stands for real values: `real = scale · (q − zero_point)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Affine {
    /// Real value of one step.
    pub scale: f32,
    /// The int8 value standing for 0.0.
    pub zero_point: i32,
}

impl Affine {
    /// TFLite's asymmetric int8 parameters for activations observed in `[min, max]`: the
    /// range is widened to hold 0.0, which must be exact; `scale = (max − min) / 255` and
    /// `zero_point = round(−128 − min / scale)`, clamped to int8. A range of one point gets
    /// scale 1. `None` for a range with a non-finite end or `min > max`.
    pub fn from_range(min: f32, max: f32) -> Option<Self> {
        if !(min.is_finite() && max.is_finite() && min <= max) {
            return None;
        }
        let (min, max) = (min.min(0.0), max.max(0.0));
        let scale = if max > min { (max - min) / 255.0 } else { 1.0 };
        let zero_point = libm::roundf(-128.0 - min / scale).clamp(-128.0, 127.0) as i32;
        Some(Affine { scale, zero_point })
    }

    /// `x` as int8: rounded to nearest (half away from zero) and saturated.
    pub fn quantize(self, x: f32) -> i8 {
        let q = libm::roundf(x / self.scale) + self.zero_point as f32;
        q.clamp(-128.0, 127.0) as i8
    }

    /// The real value `q` stands for.
    pub fn dequantize(self, q: i8) -> f32 {
        self.scale * (i32::from(q) - self.zero_point) as f32
    }
}

/// A fully connected layer in TFLite Micro's int8 scheme: weights symmetric per output
/// channel (zero point 0, `[−127, 127]`), int32 biases in units of `input scale · weight
/// scale`, and one [`QuantizedMultiplier`] per output taking the int32 sum to the output's
/// int8 scale.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QLinear<const IN: usize, const OUT: usize> {
    /// `[OUT][IN]`, as [`crate::Linear::w`].
    pub w: [[i8; IN]; OUT],
    /// Per output, in units of `input.scale · weight scale[o]`.
    pub b: [i32; OUT],
    /// Per output: `input.scale · weight scale[o] / output.scale`.
    pub m: [QuantizedMultiplier; OUT],
    /// The input's parameters.
    pub input: Affine,
    /// The output's parameters.
    pub output: Affine,
}

/// Why a layer cannot be quantized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum QuantizeError {
    /// A weight or bias is NaN or infinite.
    NonFinite,
    /// A scale factor falls outside what a [`QuantizedMultiplier`] holds, or a bias outside
    /// int32.
    OutOfRange,
    /// A calibration range is missing, empty or not finite.
    BadRange,
}

impl core::fmt::Display for QuantizeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            QuantizeError::NonFinite => "a weight or bias is NaN or infinite",
            QuantizeError::OutOfRange => {
                "a requantization factor or a bias falls outside what int32 holds"
            }
            QuantizeError::BadRange => "an activation's calibrated range is empty or not finite",
        })
    }
}

impl core::error::Error for QuantizeError {}

impl<const IN: usize, const OUT: usize> QLinear<IN, OUT> {
    /// Quantizes `layer` for inputs and outputs with the given parameters. A weight row
    /// that is all zeros gets weight scale 1.
    pub fn quantize(
        layer: &crate::Linear<IN, OUT>,
        input: Affine,
        output: Affine,
    ) -> Result<Self, QuantizeError> {
        let mut q = QLinear {
            w: [[0; IN]; OUT],
            b: [0; OUT],
            m: [QuantizedMultiplier {
                multiplier: 0,
                shift: 0,
            }; OUT],
            input,
            output,
        };
        for o in 0..OUT {
            let row = &layer.w[o];
            if !(row.iter().all(|w| w.is_finite()) && layer.b[o].is_finite()) {
                return Err(QuantizeError::NonFinite);
            }
            let max = row.iter().fold(0.0f32, |m, w| m.max(w.abs()));
            let w_scale = if max > 0.0 { max / 127.0 } else { 1.0 };
            for (qw, &w) in q.w[o].iter_mut().zip(row) {
                *qw = libm::roundf(w / w_scale).clamp(-127.0, 127.0) as i8;
            }
            let acc_scale = f64::from(input.scale) * f64::from(w_scale);
            let b = libm::round(f64::from(layer.b[o]) / acc_scale);
            if !(f64::from(i32::MIN)..=f64::from(i32::MAX)).contains(&b) {
                return Err(QuantizeError::OutOfRange);
            }
            q.b[o] = b as i32;
            q.m[o] = QuantizedMultiplier::new(acc_scale / f64::from(output.scale))
                .ok_or(QuantizeError::OutOfRange)?;
        }
        Ok(q)
    }

    /// `y = requantize(b + Σ w·(x − input zero point)) + output zero point`, saturated to
    /// int8, as TFLite Micro's reference `FullyConnected` computes it. The sum saturates to
    /// int32 where TFLite's 32-bit sum would overflow; zero points outside int8 are clamped
    /// into it. The same arithmetic as the layer run from a file
    /// ([`network::QLinearView`]).
    pub fn forward(&self, x: &[i8; IN], y: &mut [i8; OUT]) {
        network::fully_connected(&QLayer::as_view(self), x, y);
    }
}

/// An element-wise int8 activation as a table of its 256 outputs, one per int8 input:
/// `table[q + 128] = output.quantize(f(input.dequantize(q)))`, `f` evaluated in f64 and
/// rounded to nearest (half away from zero), so each entry is within half an output step
/// of the exact value (or saturated at the ends of the output's range).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lut {
    /// Outputs, indexed by input + 128.
    pub table: [i8; 256],
}

impl Lut {
    /// The table of `f` from `input`'s parameters to `output`'s.
    pub fn new(f: impl Fn(f64) -> f64, input: Affine, output: Affine) -> Self {
        let mut table = [0i8; 256];
        for (k, t) in table.iter_mut().enumerate() {
            let x = f64::from(input.scale) * (k as f64 - 128.0 - f64::from(input.zero_point));
            let q = libm::round(f(x) / f64::from(output.scale)) + f64::from(output.zero_point);
            *t = q.clamp(-128.0, 127.0) as i8;
        }
        Lut { table }
    }

    /// Tanh, onto TFLite's fixed tanh output: scale 1/128, zero point 0.
    pub fn tanh(input: Affine) -> Self {
        Lut::new(libm::tanh, input, Affine::TANH_OUTPUT)
    }

    /// The logistic sigmoid, onto TFLite's fixed output: scale 1/256, zero point −128.
    pub fn sigmoid(input: Affine) -> Self {
        Lut::new(
            |x| 1.0 / (1.0 + libm::exp(-x)),
            input,
            Affine::SIGMOID_OUTPUT,
        )
    }

    /// ReLU, keeping the input's parameters.
    pub fn relu(input: Affine) -> Self {
        Lut::new(|x| x.max(0.0), input, input)
    }

    /// LeakyReLU with `slope` on negative inputs, keeping the input's parameters.
    pub fn leaky_relu(input: Affine, slope: f64) -> Self {
        Lut::new(move |x| if x < 0.0 { slope * x } else { x }, input, input)
    }

    /// Applies the table to every element of `x`.
    pub fn apply(&self, x: &mut [i8]) {
        for v in x {
            *v = self.table[(i16::from(*v) + 128) as usize];
        }
    }
}

impl Affine {
    /// TFLite's output parameters for int8 tanh.
    pub const TANH_OUTPUT: Affine = Affine {
        scale: 1.0 / 128.0,
        zero_point: 0,
    };
    /// TFLite's output parameters for int8 logistic.
    pub const SIGMOID_OUTPUT: Affine = Affine {
        scale: 1.0 / 256.0,
        zero_point: -128,
    };
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

    #[test]
    fn affine_parameters_hold_zero_exactly() {
        let a = Affine::from_range(-1.0, 1.0).unwrap();
        assert_eq!(a.scale, 2.0 / 255.0);
        assert_eq!(a.dequantize(a.quantize(0.0)), 0.0);
        // the ends come back within a step (1/scale is not exact in f32)
        for x in [-1.0, 1.0] {
            assert!((a.dequantize(a.quantize(x)) - x).abs() <= a.scale, "{x}");
        }
        assert_eq!(a.quantize(50.0), 127); // saturated
                                           // a range without 0 is widened to hold it
        let b = Affine::from_range(0.5, 2.0).unwrap();
        assert_eq!((b.zero_point, b.dequantize(-128)), (-128, 0.0));
        assert_eq!(Affine::from_range(1.0, 0.0), None);
        assert_eq!(Affine::from_range(f32::NAN, 0.0), None);
    }

    /// The int8 layer against the f32 layer it was quantized from, and against its own
    /// formula in exact arithmetic.
    #[test]
    fn int8_linear_follows_the_f32_layer_and_the_formula() {
        use crate::{Init, Layer, Linear};
        let mut rng = Xoshiro128PlusPlus::seed_from_u64(7);
        let mut layer = Linear::<16, 8>::ZEROED;
        layer.init(Init::PyTorchDefault, &mut rng);
        let input = Affine::from_range(-1.0, 1.0).unwrap();
        // the outputs' range, observed on the inputs' extremes
        let output = Affine::from_range(-2.0, 2.0).unwrap();
        let q = QLinear::quantize(&layer, input, output).unwrap();
        let mut worst = 0.0f32;
        for _ in 0..2_000 {
            let xq: [i8; 16] = core::array::from_fn(|_| rng.next_u32() as i8);
            let x: [f32; 16] = core::array::from_fn(|i| input.dequantize(xq[i]));
            let mut y = [0.0f32; 8];
            layer.infer(&x, &mut y);
            let mut yq = [0i8; 8];
            q.forward(&xq, &mut yq);
            for o in 0..8 {
                // exact: the formula in 64-bit integers, requantized by the reference
                let mut acc = i64::from(q.b[o]);
                for (&w, &xi) in q.w[o].iter().zip(&xq) {
                    acc += i64::from(w) * i64::from(i32::from(xi) - input.zero_point);
                }
                let r = rdbp_ref(
                    srdhm_ref(acc as i32, q.m[o].multiplier),
                    -q.m[o].shift.min(0),
                );
                let want = (r + output.zero_point).clamp(-128, 127) as i8;
                assert_eq!(yq[o], want);
                if y[o].abs() < 1.9 {
                    worst = worst.max((output.dequantize(yq[o]) - y[o]).abs());
                }
            }
        }
        // within the output's step, plus the weights' rounding: 16 inputs of at most 1,
        // each weight off by at most half its row's step (max |w| / 254)
        let max_w = layer.w.iter().flatten().fold(0.0f32, |m, w| m.max(w.abs()));
        let bound = output.scale + 16.0 * max_w / 254.0 + input.scale;
        assert!(worst <= bound, "largest error {worst} against {bound}");
        assert!(worst > 0.0);
    }

    /// Every one of the 256 entries of each table against the exact function: within half
    /// an output step, or saturated where the exact value lies past the output's range.
    #[test]
    fn activation_tables_are_within_half_a_step() {
        let input = Affine::from_range(-4.0, 4.0).unwrap();
        // a table, the function it stands for, and its output's parameters
        type Case = (Lut, fn(f64) -> f64, Affine);
        let cases: [Case; 4] = [
            (Lut::tanh(input), libm::tanh, Affine::TANH_OUTPUT),
            (
                Lut::sigmoid(input),
                |x| 1.0 / (1.0 + libm::exp(-x)),
                Affine::SIGMOID_OUTPUT,
            ),
            (Lut::relu(input), |x| x.max(0.0), input),
            (
                Lut::leaky_relu(input, 0.2),
                |x| if x < 0.0 { 0.2 * x } else { x },
                input,
            ),
        ];
        for (lut, f, out) in cases {
            for q in -128i16..=127 {
                let mut v = [q as i8];
                lut.apply(&mut v);
                let x = f64::from(input.scale) * f64::from(q as i32 - input.zero_point);
                let exact = f(x);
                let got = f64::from(out.scale) * f64::from(i32::from(v[0]) - out.zero_point);
                let lo = f64::from(out.scale) * f64::from(-128 - out.zero_point);
                let hi = f64::from(out.scale) * f64::from(127 - out.zero_point);
                let err = (got - exact.clamp(lo, hi)).abs();
                assert!(
                    err <= f64::from(out.scale) / 2.0 + 1e-12,
                    "f({x}) = {exact}, got {got}"
                );
            }
        }
        // tanh(0) is exactly 0, sigmoid(0) exactly one half: the fixed points TFLite keeps
        let zero = input.quantize(0.0);
        let (mut t, mut s) = ([zero], [zero]);
        Lut::tanh(input).apply(&mut t);
        Lut::sigmoid(input).apply(&mut s);
        assert_eq!((t[0], s[0]), (0, 0));
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
