//! From an f32 network to an int8 one: the range of every activation tensor observed over
//! samples of the noise (calibration), then every layer quantized for those ranges.
//!
//! As TFLite's post-training quantization does it: weights symmetric per output channel,
//! activations asymmetric per tensor over their observed `[min, max]`, biases in int32.
//! Two refinements fit the ranges to the stage that reads them, since int8 has only 256
//! steps to spend:
//!
//! - before a ReLU, the range is `[0, max]`: the ReLU is then fused (see [`QRelu`]), and
//!   every step goes to values the ReLU lets through;
//! - before a tanh or a sigmoid, the range is cut to where the function's int8 output still
//!   changes (plus a margin of 0.05): past it the table's output is saturated whatever its
//!   input, so steps spent there would be wasted. For tanh onto scale 1/128 that is
//!   `[atanh(−127.5/128), atanh(126.5/128)] ≈ [−3.12, 2.56]`.

use super::network::{
    LeakyReluTable, QLayer, QRelu, QTable, QVector, SigmoidTable, TableFn, TanhTable,
};
use super::{Affine, QLinear, QuantizeError};
use crate::{Chain, LeakyRelu, Linear, Relu, Sigmoid, Tanh};

/// The largest magnitude of [`crate::noise::gaussian`]'s values, rounded up:
/// `√(−2 ln 2⁻²⁴) ≈ 5.7681`.
pub const NOISE_BOUND: f32 = 5.77;

/// The int8 parameters of a Generator's noise input: TFLite's asymmetric parameters for
/// `[−NOISE_BOUND, NOISE_BOUND]`, so that no noise value saturates. Scale `11.54 / 255 ≈
/// 0.0453`.
pub fn noise_input() -> Affine {
    Affine::from_range(-NOISE_BOUND, NOISE_BOUND).unwrap_or(Affine {
        scale: 2.0 * NOISE_BOUND / 255.0,
        zero_point: 0,
    })
}

/// The values an activation tensor took.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    /// The least.
    pub min: f32,
    /// The greatest.
    pub max: f32,
}

impl Range {
    /// No values yet.
    pub const EMPTY: Range = Range {
        min: f32::INFINITY,
        max: f32::NEG_INFINITY,
    };

    /// Widens the range to hold `values`; NaNs are passed over.
    pub fn observe(&mut self, values: &[f32]) {
        for &v in values {
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        }
    }

    /// Both ends moved into `[lo, hi]`.
    fn clamped(self, lo: f32, hi: f32) -> Range {
        Range {
            min: self.min.clamp(lo, hi),
            max: self.max.clamp(lo, hi),
        }
    }

    fn affine(self) -> Result<Affine, QuantizeError> {
        Affine::from_range(self.min, self.max).ok_or(QuantizeError::BadRange)
    }
}

/// An int8 network that can be quantized from an f32 one.
pub trait FromF32: QLayer {
    /// The f32 network of the same shape.
    type F32;
    /// Number of activation tensors whose range calibration records: one per fully
    /// connected layer, its output.
    const RANGES: usize;

    /// Runs the f32 network on `x` into `y` (widths of `Input` and `Output`), widening
    /// `ranges` with the activations it records.
    fn observe(f: &Self::F32, x: &[f32], y: &mut [f32], ranges: &mut [Range]);

    /// The part of an input range this stage tells apart (see the module documentation).
    fn useful(r: Range) -> Range {
        r
    }

    /// The int8 network for inputs with parameters `input`, activations with `ranges`, and
    /// an output read by a stage that tells apart `next` of its range; with the output's
    /// parameters.
    fn from_f32(
        f: &Self::F32,
        input: Affine,
        ranges: &[Range],
        next: fn(Range) -> Range,
    ) -> Result<(Self, Affine), QuantizeError>;
}

/// `f` in int8 for inputs with parameters `input` (for a Generator, [`noise_input`]) and the
/// ranges calibration recorded ([`FromF32::observe`]); [`QuantizeError::BadRange`] when
/// there are not [`FromF32::RANGES`] of them or one is empty.
pub fn quantize<Q: FromF32>(
    f: &Q::F32,
    input: Affine,
    ranges: &[Range],
) -> Result<Q, QuantizeError> {
    if ranges.len() != Q::RANGES {
        return Err(QuantizeError::BadRange);
    }
    Q::from_f32(f, input, ranges, |r| r).map(|(q, _)| q)
}

impl<const IN: usize, const OUT: usize> FromF32 for QLinear<IN, OUT> {
    type F32 = Linear<IN, OUT>;
    const RANGES: usize = 1;

    fn observe(f: &Linear<IN, OUT>, x: &[f32], y: &mut [f32], ranges: &mut [Range]) {
        // y[o] = b[o] + Σ_i w[o][i]·x[i]
        for ((yo, wo), &bo) in y.iter_mut().zip(&f.w).zip(&f.b) {
            *yo = wo.iter().zip(x).fold(bo, |acc, (&w, &xi)| acc + w * xi);
        }
        if let Some(r) = ranges.first_mut() {
            r.observe(&y[..OUT.min(y.len())]);
        }
    }

    fn from_f32(
        f: &Linear<IN, OUT>,
        input: Affine,
        ranges: &[Range],
        next: fn(Range) -> Range,
    ) -> Result<(Self, Affine), QuantizeError> {
        let range = ranges.first().ok_or(QuantizeError::BadRange)?;
        let output = next(*range).affine()?;
        Ok((QLinear::quantize(f, input, output)?, output))
    }
}

impl<const N: usize> FromF32 for QRelu<N> {
    type F32 = Relu<N>;
    const RANGES: usize = 0;

    fn observe(_: &Relu<N>, x: &[f32], y: &mut [f32], _: &mut [Range]) {
        for (yi, &xi) in y.iter_mut().zip(x) {
            *yi = xi.max(0.0);
        }
    }

    fn useful(r: Range) -> Range {
        r.clamped(0.0, f32::MAX)
    }

    fn from_f32(
        _: &Relu<N>,
        input: Affine,
        _: &[Range],
        _: fn(Range) -> Range,
    ) -> Result<(Self, Affine), QuantizeError> {
        Ok((QRelu, input))
    }
}

/// The inputs on which `f`'s int8 output onto `out` is not saturated, widened by a margin
/// of 0.05: from where `f` crosses half a step above the lowest output to where it crosses
/// half a step below the highest; `inverse` is `f`'s inverse.
fn unsaturated(out: Affine, inverse: fn(f64) -> f64) -> (f32, f32) {
    let (scale, zp) = (f64::from(out.scale), f64::from(out.zero_point));
    let lo = inverse(scale * (-127.5 - zp)) - 0.05;
    let hi = inverse(scale * (126.5 - zp)) + 0.05;
    (lo as f32, hi as f32)
}

/// Shared by the table stages: `F` on each value.
fn observe_table<F: TableFn>(x: &[f32], y: &mut [f32]) {
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi = F::f(f64::from(xi)) as f32;
    }
}

fn table_from_f32<F: TableFn, const N: usize>(input: Affine) -> (QTable<F, N>, Affine) {
    (QTable::for_input(input), F::output(input))
}

impl<const N: usize> FromF32 for QTable<TanhTable, N> {
    type F32 = Tanh<N>;
    const RANGES: usize = 0;

    fn observe(_: &Tanh<N>, x: &[f32], y: &mut [f32], _: &mut [Range]) {
        observe_table::<TanhTable>(x, y);
    }

    fn useful(r: Range) -> Range {
        let (lo, hi) = unsaturated(Affine::TANH_OUTPUT, libm::atanh);
        r.clamped(lo, hi)
    }

    fn from_f32(
        _: &Tanh<N>,
        input: Affine,
        _: &[Range],
        _: fn(Range) -> Range,
    ) -> Result<(Self, Affine), QuantizeError> {
        Ok(table_from_f32(input))
    }
}

impl<const N: usize> FromF32 for QTable<SigmoidTable, N> {
    type F32 = Sigmoid<N>;
    const RANGES: usize = 0;

    fn observe(_: &Sigmoid<N>, x: &[f32], y: &mut [f32], _: &mut [Range]) {
        observe_table::<SigmoidTable>(x, y);
    }

    fn useful(r: Range) -> Range {
        let (lo, hi) = unsaturated(Affine::SIGMOID_OUTPUT, |p| libm::log(p / (1.0 - p)));
        r.clamped(lo, hi)
    }

    fn from_f32(
        _: &Sigmoid<N>,
        input: Affine,
        _: &[Range],
        _: fn(Range) -> Range,
    ) -> Result<(Self, Affine), QuantizeError> {
        Ok(table_from_f32(input))
    }
}

impl<const N: usize, const SLOPE_PERMILLE: i32> FromF32
    for QTable<LeakyReluTable<SLOPE_PERMILLE>, N>
{
    type F32 = LeakyRelu<N, SLOPE_PERMILLE>;
    const RANGES: usize = 0;

    fn observe(_: &Self::F32, x: &[f32], y: &mut [f32], _: &mut [Range]) {
        observe_table::<LeakyReluTable<SLOPE_PERMILLE>>(x, y);
    }

    fn from_f32(
        _: &Self::F32,
        input: Affine,
        _: &[Range],
        _: fn(Range) -> Range,
    ) -> Result<(Self, Affine), QuantizeError> {
        Ok(table_from_f32(input))
    }
}

impl<A, B> FromF32 for Chain<A, B>
where
    A: FromF32,
    B: FromF32<Input = A::Output>,
{
    type F32 = Chain<A::F32, B::F32>;
    const RANGES: usize = A::RANGES + B::RANGES;

    fn observe(f: &Self::F32, x: &[f32], y: &mut [f32], ranges: &mut [Range]) {
        let mut mid = <A::Output as QVector>::REAL_ZERO;
        let Some((ra, rb)) = ranges.split_at_mut_checked(A::RANGES) else {
            return;
        };
        A::observe(&f.0, x, mid.as_mut(), ra);
        B::observe(&f.1, mid.as_ref(), y, rb);
    }

    fn useful(r: Range) -> Range {
        A::useful(r)
    }

    fn from_f32(
        f: &Self::F32,
        input: Affine,
        ranges: &[Range],
        next: fn(Range) -> Range,
    ) -> Result<(Self, Affine), QuantizeError> {
        let (ra, rb) = ranges
            .split_at_checked(A::RANGES)
            .ok_or(QuantizeError::BadRange)?;
        let (a, mid) = A::from_f32(&f.0, input, ra, B::useful)?;
        let (b, output) = B::from_f32(&f.1, mid, rb, next)?;
        Ok((Chain(a, b), output))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::network::{QNet, QTanh, RELU_ZERO_POINT};
    use crate::{seq, Init, Layer};
    use rand_core::SeedableRng;
    use rand_xoshiro::Xoshiro128PlusPlus;

    type F = seq![Linear<4, 16>, Relu<16>, Linear<16, 8>, Tanh<8>];
    type Q = seq![QLinear<4, 16>, QRelu<16>, QLinear<16, 8>, QTanh<8>];

    fn calibrated(f: &F, rng: &mut Xoshiro128PlusPlus) -> [Range; 2] {
        let mut ranges = [Range::EMPTY; 2];
        let mut y = [0.0f32; 8];
        for _ in 0..500 {
            let mut z = [0.0f32; 4];
            crate::noise::gaussian(rng, &mut z);
            Q::observe(f, &z, &mut y, &mut ranges);
        }
        ranges
    }

    #[test]
    fn ranges_fit_the_stage_that_reads_them() {
        let mut rng = Xoshiro128PlusPlus::seed_from_u64(3);
        let mut f = F::ZEROED;
        f.init(Init::PyTorchDefault, &mut rng);
        // wide pre-activations of the tanh, so that the cut shows
        f.1 .1 .0.w.iter_mut().flatten().for_each(|w| *w *= 20.0);
        let ranges = calibrated(&f, &mut rng);
        assert!(ranges[0].min < 0.0 && ranges[1].min < -4.0 && ranges[1].max > 4.0);
        let q: Q = quantize(&f, noise_input(), &ranges).unwrap();
        // before the ReLU: [0, max], zero point −128
        let hidden = q.0.output;
        assert_eq!(hidden.zero_point, RELU_ZERO_POINT);
        assert_eq!(hidden.scale, ranges[0].max / 255.0);
        // before the tanh: cut to where its int8 output is not saturated
        let pre = q.1 .1 .0.output;
        let lo = pre.dequantize(-128);
        let hi = pre.dequantize(127);
        assert!(
            (-3.2..-3.12).contains(&lo) && (2.57..2.65).contains(&hi),
            "{lo} {hi}"
        );
        // and the ends of the table are the ends of tanh's int8 range
        let table = &q.1 .1 .1.lut.table;
        assert_eq!((table[0], table[255]), (-128, 127));
        assert_eq!(QNet::of(&q).unwrap().output(), Affine::TANH_OUTPUT);
    }

    #[test]
    fn int8_follows_f32_within_a_few_steps() {
        let mut rng = Xoshiro128PlusPlus::seed_from_u64(4);
        let mut f = F::ZEROED;
        f.init(Init::PyTorchDefault, &mut rng);
        let ranges = calibrated(&f, &mut rng);
        let q: Q = quantize(&f, noise_input(), &ranges).unwrap();
        let net = QNet::of(&q).unwrap();
        let (mut worst, mut sum) = (0.0f32, 0.0f32);
        let mut s = Q::SCRATCH;
        for _ in 0..1000 {
            let mut z = [0.0f32; 4];
            crate::noise::gaussian(&mut rng, &mut z);
            let mut want = [0.0f32; 8];
            f.infer(&z, &mut want);
            let (mut y, mut got) = ([0i8; 8], [0.0f32; 8]);
            net.sample(&z, &mut y, &mut got, &mut s);
            for (g, w) in got.iter().zip(&want) {
                worst = worst.max((g - w).abs());
                sum += (g - w).abs();
            }
        }
        // four noise values each within half an input step (0.023), through weights of at
        // most 0.5 and a layer of 16 of at most 0.25: a few output steps (1/128) at worst
        let mean = sum / 8000.0;
        assert!(worst < 0.05 && mean < 0.01, "worst {worst}, mean {mean}");
    }

    #[test]
    fn empty_and_missing_ranges_are_refused() {
        let f = F::ZEROED;
        let err = quantize::<Q>(&f, noise_input(), &[Range::EMPTY; 2]);
        assert_eq!(err.err(), Some(QuantizeError::BadRange));
        let err = quantize::<Q>(&f, noise_input(), &[Range { min: 0.0, max: 1.0 }]);
        assert_eq!(err.err(), Some(QuantizeError::BadRange));
    }
}
