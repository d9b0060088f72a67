//! int8 networks: [`QLinear`] and element-wise stages joined as the f32 layers are, with
//! [`seq!`](crate::seq), run from weights of their own or straight from a weights file.
//!
//! Dimensions: `IN`, `OUT` and `N` as for the f32 layers; `Z` and `X` for a Generator's
//! noise and output.
//!
//! The stages are TFLite Micro's int8 operators:
//!
//! - [`QLinear`]: `FullyConnected`, per-channel weights, int32 biases;
//! - [`QRelu`]: a ReLU fused into the layer before it, whose outputs are quantized over
//!   `[0, max]` (zero point −128), so that the saturation of its requantization to int8 is
//!   the ReLU; the stage checks that it is so and passes its values on;
//! - [`QTable`]: an element-wise function as a 256-entry table ([`QTanh`], [`QSigmoid`],
//!   [`QLeakyRelu`]), each onto TFLite's output parameters for it.
//!
//! Everything between the int8 input and the int8 output is integer arithmetic: the same
//! bits on every target. [`QNet`] adds the edges, f32 noise quantized on the way in and
//! int8 outputs dequantized on the way out.
//!
//! A network runs on a [`QLayer::View`]: references to its weights, taken from a network of
//! its own ([`QLayer::as_view`]) or from a file ([`File::view_quantized`]), so that a
//! Generator in flash takes no RAM for its weights. Both run one forward pass.
//!
//! [`File::view_quantized`]: crate::safetensors::File::view_quantized

use super::{multiply_by_quantized_multiplier, Affine, Lut, QLinear, QuantizedMultiplier};
use crate::safetensors::{Dtype, Tensor};
use core::fmt;
use core::marker::PhantomData;

/// A fixed-width vector of int8 activations: `[i8; N]`.
pub trait QVector: Copy {
    /// Number of elements.
    const LEN: usize;
    /// All zeros.
    const ZERO: Self;
    /// The same width in f32, for the real values the int8 ones stand for.
    type Real: Copy + AsRef<[f32]> + AsMut<[f32]>;
    /// All zeros, in f32.
    const REAL_ZERO: Self::Real;
    /// The elements as a slice.
    fn as_slice(&self) -> &[i8];
    /// The elements as a mutable slice.
    fn as_mut_slice(&mut self) -> &mut [i8];
}

impl<const N: usize> QVector for [i8; N] {
    const LEN: usize = N;
    const ZERO: Self = [0; N];
    type Real = [f32; N];
    const REAL_ZERO: [f32; N] = [0.0; N];
    fn as_slice(&self) -> &[i8] {
        self
    }
    fn as_mut_slice(&mut self) -> &mut [i8] {
        self
    }
}

/// What a tensor of an int8 network holds. Its name in a file is `fc.{layer}.{kind}`, the
/// layer numbered as in the f32 network's `nn.Sequential`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QKind {
    /// `[OUT, IN]` int8 weights, symmetric per output channel.
    Weight,
    /// `[OUT]` int32 biases, in units of input scale · weight scale.
    Bias,
    /// `[OUT]` int32 mantissas of the [`QuantizedMultiplier`]s.
    Multiplier,
    /// `[OUT]` int8 shifts of the [`QuantizedMultiplier`]s, in `[−31, 30]`.
    Shift,
    /// `[2]` f32: the scales of a layer's input and output.
    Scales,
    /// `[2]` int32: the zero points of a layer's input and output, in int8's range.
    ZeroPoints,
    /// `[256]` int8: an activation's outputs, indexed by input + 128.
    Table,
}

impl QKind {
    /// The last part of the tensor's name.
    pub fn name(self) -> &'static str {
        match self {
            QKind::Weight => "weight",
            QKind::Bias => "bias",
            QKind::Multiplier => "multiplier",
            QKind::Shift => "shift",
            QKind::Scales => "scales",
            QKind::ZeroPoints => "zero_points",
            QKind::Table => "table",
        }
    }

    /// The dtype the tensor is stored in.
    pub fn dtype(self) -> Dtype {
        match self {
            QKind::Weight | QKind::Shift | QKind::Table => Dtype::I8,
            QKind::Bias | QKind::Multiplier | QKind::ZeroPoints => Dtype::I32,
            QKind::Scales => Dtype::F32,
        }
    }
}

/// Where a tensor sits in an int8 network, what it holds and its shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QTensorInfo {
    /// Index of the owning layer, counted as [`crate::TensorInfo::layer`] counts it.
    pub layer: usize,
    /// What it holds, which fixes its dtype.
    pub kind: QKind,
    /// `[OUT, IN]` for weights, `[n, 1]` for the vectors; see [`QTensorInfo::shape`].
    pub dims: [usize; 2],
}

impl QTensorInfo {
    /// The shape in the file: `[OUT, IN]` for weights, `[n]` for the others.
    pub fn shape(&self) -> &[usize] {
        match self.kind {
            QKind::Weight => &self.dims,
            _ => &self.dims[..1],
        }
    }

    fn shifted(self, offset: usize) -> Self {
        QTensorInfo {
            layer: self.layer + offset,
            ..self
        }
    }
}

/// Where and why an int8 network's parameters cannot be run: a value out of range, or a
/// layer whose input parameters differ from the output parameters of the layer before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    /// The layer, counted as [`QTensorInfo::layer`] counts it.
    pub layer: usize,
    /// The tensor at fault; `None` for a stage without tensors ([`QRelu`]).
    pub kind: Option<QKind>,
    /// The element at fault.
    pub index: usize,
    /// What is wrong.
    pub reason: &'static str,
}

impl Fault {
    fn shifted(self, offset: usize) -> Self {
        Fault {
            layer: self.layer + offset,
            ..self
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fc.{}", self.layer)?;
        if let Some(kind) = self.kind {
            write!(f, ".{}", kind.name())?;
        }
        write!(f, "[{}]: {}", self.index, self.reason)
    }
}

impl core::error::Error for Fault {}

/// An int8 network or stage.
///
/// The type holds the parameters; [`QLayer::View`] borrows them, from the type or from a
/// file, and [`QLayer::forward_view`] runs on a view, so that a network computes the same
/// bits wherever its weights live.
pub trait QLayer: Sized {
    /// Input activations, `[i8; IN]`.
    type Input: QVector;
    /// Output activations, `[i8; OUT]`.
    type Output: QVector;
    /// The activations between stages, held by the caller.
    type Scratch;
    /// Scratch to start from.
    const SCRATCH: Self::Scratch;
    /// The parameters, borrowed.
    type View<'a>: Copy;
    /// Number of layers, as the f32 network counts them.
    const LAYERS: usize;
    /// Number of tensors.
    const TENSORS: usize;

    /// Name, dtype and shape of tensor `i`; `None` for `i >= TENSORS`.
    fn tensor_info(i: usize) -> Option<QTensorInfo>;

    /// Borrows this network's parameters.
    fn as_view(&self) -> Self::View<'_>;

    /// Borrows one tensor after another from `tensors`, in [`QLayer::tensor_info`] order;
    /// `None` when one is missing or of the wrong dtype or length. Only dtypes and lengths
    /// are checked here: [`QLayer::check`] checks the values.
    fn view<'a>(tensors: &mut dyn Iterator<Item = Tensor<'a>>) -> Option<Self::View<'a>>;

    /// A copy of the parameters of `view`.
    fn from_view(view: &Self::View<'_>) -> Self;

    /// Hands tensor `i` of `view` to `out` as little-endian bytes, in pieces.
    fn tensor_bytes(view: &Self::View<'_>, i: usize, out: &mut dyn FnMut(&[u8]));

    /// The parameters of the input, when the first stage records them.
    fn input(view: &Self::View<'_>) -> Option<Affine>;

    /// Checks every value against its range and each stage's input parameters against
    /// `input`, the parameters its input arrives with; returns the output's parameters.
    fn check(view: &Self::View<'_>, input: Affine) -> Result<Affine, Fault>;

    /// `y` from `x`, in integers only.
    fn forward_view(
        view: &Self::View<'_>,
        x: &Self::Input,
        y: &mut Self::Output,
        scratch: &mut Self::Scratch,
    );
}

// --- fully connected ----------------------------------------------------------------------

/// How a [`QLinearView`] holds its requantization factors: as a network of its own keeps
/// them, or as a file stores them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Requant<'a, const OUT: usize> {
    /// Mantissa and shift together, as [`QLinear::m`].
    Pairs(&'a [QuantizedMultiplier; OUT]),
    /// Mantissas and shifts in two tensors, as a file stores them.
    Split {
        /// `[OUT]` mantissas.
        multiplier: &'a [i32; OUT],
        /// `[OUT]` shifts.
        shift: &'a [i8; OUT],
    },
}

impl<const OUT: usize> Requant<'_, OUT> {
    /// Mantissa and shift of output `o` (zeros past the end).
    pub fn get(&self, o: usize) -> (i32, i32) {
        match self {
            Requant::Pairs(m) => m.get(o).map_or((0, 0), |m| (m.multiplier, m.shift)),
            Requant::Split { multiplier, shift } => (
                multiplier.get(o).copied().unwrap_or(0),
                shift.get(o).copied().map_or(0, i32::from),
            ),
        }
    }
}

/// A [`QLinear`]'s parameters, borrowed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QLinearView<'a, const IN: usize, const OUT: usize> {
    /// `[OUT][IN]`, as [`QLinear::w`].
    pub w: &'a [[i8; IN]; OUT],
    /// `[OUT]`, as [`QLinear::b`].
    pub b: &'a [i32; OUT],
    /// `[OUT]` requantization factors.
    pub requant: Requant<'a, OUT>,
    /// The input's parameters.
    pub input: Affine,
    /// The output's parameters.
    pub output: Affine,
}

/// Largest `IN` whose sum of `IN` products `w·(x − zero point)` fits in 32 bits:
/// `|w| ≤ 128`, `|x − zero point| ≤ 255`, and `65,793 · 128 · 255 < 2³¹`.
const MAX_IN_32: usize = 65_793;

/// `y = requantize(b + Σ w·(x − input zero point)) + output zero point`, saturated to
/// int8: TFLite Micro's reference `FullyConnected`. The products are summed in 32 bits
/// (in 64 for layers wider than [`MAX_IN_32`]), the bias added saturating, which equals
/// the exact sum saturated to int32. Zero points outside int8 are clamped into it.
pub(super) fn fully_connected<const IN: usize, const OUT: usize>(
    v: &QLinearView<'_, IN, OUT>,
    x: &[i8; IN],
    y: &mut [i8; OUT],
) {
    let x_offset = -v.input.zero_point.clamp(-128, 127);
    let y_offset = v.output.zero_point.clamp(-128, 127);
    for (o, ((yo, wo), &bo)) in y.iter_mut().zip(v.w).zip(v.b).enumerate() {
        let sum = if IN <= MAX_IN_32 {
            let mut s = 0i32;
            for (&w, &xi) in wo.iter().zip(x) {
                s += i32::from(w) * (i32::from(xi) + x_offset);
            }
            s
        } else {
            let mut s = 0i64;
            for (&w, &xi) in wo.iter().zip(x) {
                s += i64::from(w) * i64::from(i32::from(xi) + x_offset);
            }
            s.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
        };
        let (multiplier, shift) = v.requant.get(o);
        let acc = bo.saturating_add(sum);
        let out = multiply_by_quantized_multiplier(acc, multiplier, shift).saturating_add(y_offset);
        *yo = out.clamp(-128, 127) as i8;
    }
}

fn affine_ok(a: Affine) -> Result<(), (QKind, &'static str)> {
    if !(a.scale.is_finite() && a.scale > 0.0) {
        return Err((QKind::Scales, "a scale is not a positive finite number"));
    }
    if !(-128..=127).contains(&a.zero_point) {
        return Err((QKind::ZeroPoints, "a zero point lies outside int8"));
    }
    Ok(())
}

/// True when `a` and `b` are the same parameters, bit for bit.
fn same(a: Affine, b: Affine) -> bool {
    a.scale.to_bits() == b.scale.to_bits() && a.zero_point == b.zero_point
}

fn le_bytes<const N: usize, T: Copy>(
    values: &[T],
    to_le: fn(T) -> [u8; N],
    out: &mut dyn FnMut(&[u8]),
) {
    for &v in values {
        out(&to_le(v));
    }
}

impl<const IN: usize, const OUT: usize> QLayer for QLinear<IN, OUT> {
    type Input = [i8; IN];
    type Output = [i8; OUT];
    type Scratch = ();
    const SCRATCH: () = ();
    type View<'a> = QLinearView<'a, IN, OUT>;
    const LAYERS: usize = 1;
    const TENSORS: usize = 6;

    fn tensor_info(i: usize) -> Option<QTensorInfo> {
        let (kind, dims) = match i {
            0 => (QKind::Weight, [OUT, IN]),
            1 => (QKind::Bias, [OUT, 1]),
            2 => (QKind::Multiplier, [OUT, 1]),
            3 => (QKind::Shift, [OUT, 1]),
            4 => (QKind::Scales, [2, 1]),
            5 => (QKind::ZeroPoints, [2, 1]),
            _ => return None,
        };
        Some(QTensorInfo {
            layer: 0,
            kind,
            dims,
        })
    }

    fn as_view(&self) -> QLinearView<'_, IN, OUT> {
        QLinearView {
            w: &self.w,
            b: &self.b,
            requant: Requant::Pairs(&self.m),
            input: self.input,
            output: self.output,
        }
    }

    fn view<'a>(tensors: &mut dyn Iterator<Item = Tensor<'a>>) -> Option<Self::View<'a>> {
        let w = tensors.next()?.as_i8()?;
        let b = tensors.next()?.as_i32()?;
        let multiplier = tensors.next()?.as_i32()?;
        let shift = tensors.next()?.as_i8()?;
        let scales = tensors.next()?;
        let zero_points = tensors.next()?.as_i32()?;
        if IN == 0 {
            return None; // `as_chunks` takes no empty rows
        }
        let (rows, rest) = w.as_chunks::<IN>();
        let &[z_in, z_out] = zero_points else {
            return None;
        };
        if scales.dtype != Dtype::F32 || scales.len() != 2 {
            return None;
        }
        let (s_in, s_out) = (scales.value(0)?, scales.value(1)?);
        if !rest.is_empty() {
            return None;
        }
        Some(QLinearView {
            w: rows.try_into().ok()?,
            b: b.try_into().ok()?,
            requant: Requant::Split {
                multiplier: multiplier.try_into().ok()?,
                shift: shift.try_into().ok()?,
            },
            input: Affine {
                scale: s_in,
                zero_point: z_in,
            },
            output: Affine {
                scale: s_out,
                zero_point: z_out,
            },
        })
    }

    fn from_view(v: &Self::View<'_>) -> Self {
        QLinear {
            w: *v.w,
            b: *v.b,
            m: core::array::from_fn(|o| {
                let (multiplier, shift) = v.requant.get(o);
                QuantizedMultiplier { multiplier, shift }
            }),
            input: v.input,
            output: v.output,
        }
    }

    fn tensor_bytes(v: &Self::View<'_>, i: usize, out: &mut dyn FnMut(&[u8])) {
        let requant = |f: fn((i32, i32)) -> i32| (0..OUT).map(move |o| f(v.requant.get(o)));
        match i {
            0 => le_bytes(v.w.as_flattened(), i8::to_le_bytes, out),
            1 => le_bytes(v.b, i32::to_le_bytes, out),
            2 => requant(|(m, _)| m).for_each(|m| out(&m.to_le_bytes())),
            // a shift outside int8 is out of range anyway; stored saturated
            3 => requant(|(_, s)| s).for_each(|s| out(&[s.clamp(-128, 127) as i8 as u8])),
            4 => le_bytes(&[v.input.scale, v.output.scale], f32::to_le_bytes, out),
            5 => le_bytes(
                &[v.input.zero_point, v.output.zero_point],
                i32::to_le_bytes,
                out,
            ),
            _ => {}
        }
    }

    fn input(v: &Self::View<'_>) -> Option<Affine> {
        Some(v.input)
    }

    fn check(v: &Self::View<'_>, input: Affine) -> Result<Affine, Fault> {
        let fault = |kind, index, reason| Fault {
            layer: 0,
            kind: Some(kind),
            index,
            reason,
        };
        for (k, a) in [v.input, v.output].into_iter().enumerate() {
            affine_ok(a).map_err(|(kind, reason)| fault(kind, k, reason))?;
        }
        if !same(v.input, input) {
            return Err(fault(
                QKind::Scales,
                0,
                "the input's parameters differ from those of the output before it",
            ));
        }
        for o in 0..OUT {
            let (m, s) = v.requant.get(o);
            if !(m == 0 || m >= 1 << 30) {
                return Err(fault(
                    QKind::Multiplier,
                    o,
                    "a multiplier is neither 0 nor in [2^30, 2^31)",
                ));
            }
            if !(-31..=30).contains(&s) {
                return Err(fault(QKind::Shift, o, "a shift lies outside [-31, 30]"));
            }
        }
        Ok(v.output)
    }

    fn forward_view(v: &Self::View<'_>, x: &[i8; IN], y: &mut [i8; OUT], _: &mut ()) {
        fully_connected(v, x, y);
    }
}

// --- element-wise stages ------------------------------------------------------------------

/// ReLU over `N` int8 values, fused into the layer before it (see the
/// [module documentation](self)): that layer's outputs must have zero point −128, the int8
/// value of 0.0, so that every negative output already saturated to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct QRelu<const N: usize>;

/// The zero point of a ReLU's input: the lowest int8 value stands for 0.0.
pub const RELU_ZERO_POINT: i32 = -128;

impl<const N: usize> QLayer for QRelu<N> {
    type Input = [i8; N];
    type Output = [i8; N];
    type Scratch = ();
    const SCRATCH: () = ();
    type View<'a> = ();
    const LAYERS: usize = 1;
    const TENSORS: usize = 0;

    fn tensor_info(_: usize) -> Option<QTensorInfo> {
        None
    }
    fn as_view(&self) {}
    fn view<'a>(_: &mut dyn Iterator<Item = Tensor<'a>>) -> Option<()> {
        Some(())
    }
    fn from_view(_: &()) -> Self {
        QRelu
    }
    fn tensor_bytes(_: &(), _: usize, _: &mut dyn FnMut(&[u8])) {}
    fn input(_: &()) -> Option<Affine> {
        None
    }

    fn check(_: &(), input: Affine) -> Result<Affine, Fault> {
        if input.zero_point != RELU_ZERO_POINT {
            return Err(Fault {
                layer: 0,
                kind: None,
                index: 0,
                reason: "a ReLU needs the layer before it to output over [0, max], zero point \
                         -128",
            });
        }
        Ok(input)
    }

    fn forward_view(_: &(), x: &[i8; N], y: &mut [i8; N], _: &mut ()) {
        // max(x, zero point) is x: the zero point is the lowest int8 value
        y.copy_from_slice(x);
    }
}

/// A function a [`QTable`] applies.
pub trait TableFn {
    /// The function, in f64, as the table is built from it.
    fn f(x: f64) -> f64;
    /// The output's parameters for an input's: TFLite's fixed ones for tanh and sigmoid,
    /// the input's own for piecewise-linear functions.
    fn output(input: Affine) -> Affine;
}

/// `tanh`, onto [`Affine::TANH_OUTPUT`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TanhTable {}
/// The logistic sigmoid, onto [`Affine::SIGMOID_OUTPUT`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigmoidTable {}
/// LeakyReLU with slope `SLOPE_PERMILLE / 1000` as [`crate::LeakyRelu`] has it, keeping
/// the input's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeakyReluTable<const SLOPE_PERMILLE: i32> {}

impl TableFn for TanhTable {
    fn f(x: f64) -> f64 {
        libm::tanh(x)
    }
    fn output(_: Affine) -> Affine {
        Affine::TANH_OUTPUT
    }
}

impl TableFn for SigmoidTable {
    fn f(x: f64) -> f64 {
        1.0 / (1.0 + libm::exp(-x))
    }
    fn output(_: Affine) -> Affine {
        Affine::SIGMOID_OUTPUT
    }
}

impl<const SLOPE_PERMILLE: i32> TableFn for LeakyReluTable<SLOPE_PERMILLE> {
    fn f(x: f64) -> f64 {
        let slope = f64::from(crate::activation::LeakyReluFn::<SLOPE_PERMILLE>::SLOPE);
        if x > 0.0 {
            x
        } else {
            slope * x
        }
    }
    fn output(input: Affine) -> Affine {
        input
    }
}

/// `F` over `N` int8 values, as a table of its 256 outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QTable<F, const N: usize> {
    /// The outputs.
    pub lut: Lut,
    _f: PhantomData<F>,
}

/// Tanh over `N` int8 values.
pub type QTanh<const N: usize> = QTable<TanhTable, N>;
/// Sigmoid over `N` int8 values.
pub type QSigmoid<const N: usize> = QTable<SigmoidTable, N>;
/// LeakyReLU over `N` int8 values (slope as [`crate::LeakyRelu`]'s).
pub type QLeakyRelu<const N: usize, const SLOPE_PERMILLE: i32 = 10> =
    QTable<LeakyReluTable<SLOPE_PERMILLE>, N>;

impl<F: TableFn, const N: usize> QTable<F, N> {
    /// The table of `F` for inputs with parameters `input`.
    pub fn for_input(input: Affine) -> Self {
        Self::new(Lut::new(F::f, input, F::output(input)))
    }

    /// The stage applying `lut`.
    pub fn new(lut: Lut) -> Self {
        QTable {
            lut,
            _f: PhantomData,
        }
    }
}

impl<F: TableFn, const N: usize> QLayer for QTable<F, N> {
    type Input = [i8; N];
    type Output = [i8; N];
    type Scratch = ();
    const SCRATCH: () = ();
    type View<'a> = &'a [i8; 256];
    const LAYERS: usize = 1;
    const TENSORS: usize = 1;

    fn tensor_info(i: usize) -> Option<QTensorInfo> {
        (i == 0).then_some(QTensorInfo {
            layer: 0,
            kind: QKind::Table,
            dims: [256, 1],
        })
    }
    fn as_view(&self) -> &[i8; 256] {
        &self.lut.table
    }
    fn view<'a>(tensors: &mut dyn Iterator<Item = Tensor<'a>>) -> Option<&'a [i8; 256]> {
        tensors.next()?.as_i8()?.try_into().ok()
    }
    fn from_view(v: &&[i8; 256]) -> Self {
        Self::new(Lut { table: **v })
    }
    fn tensor_bytes(v: &&[i8; 256], i: usize, out: &mut dyn FnMut(&[u8])) {
        if i == 0 {
            le_bytes(*v, i8::to_le_bytes, out);
        }
    }
    fn input(_: &&[i8; 256]) -> Option<Affine> {
        None
    }
    fn check(_: &&[i8; 256], input: Affine) -> Result<Affine, Fault> {
        Ok(F::output(input))
    }
    fn forward_view(v: &&[i8; 256], x: &[i8; N], y: &mut [i8; N], _: &mut ()) {
        for (yi, &xi) in y.iter_mut().zip(x) {
            *yi = v[(i16::from(xi) + 128) as usize];
        }
    }
}

// --- composition --------------------------------------------------------------------------

/// The activations between the two halves of a [`Chain`](crate::Chain) of int8 stages.
pub struct QChainScratch<A: QLayer, B: QLayer> {
    /// `A`'s output, `B`'s input.
    mid: A::Output,
    a: A::Scratch,
    b: B::Scratch,
}

impl<A, B> QLayer for crate::Chain<A, B>
where
    A: QLayer,
    B: QLayer<Input = A::Output>,
{
    type Input = A::Input;
    type Output = B::Output;
    type Scratch = QChainScratch<A, B>;
    const SCRATCH: Self::Scratch = QChainScratch {
        mid: A::Output::ZERO,
        a: A::SCRATCH,
        b: B::SCRATCH,
    };
    type View<'a> = crate::Chain<A::View<'a>, B::View<'a>>;
    const LAYERS: usize = A::LAYERS + B::LAYERS;
    const TENSORS: usize = A::TENSORS + B::TENSORS;

    fn tensor_info(i: usize) -> Option<QTensorInfo> {
        match i.checked_sub(A::TENSORS) {
            None => A::tensor_info(i),
            Some(j) => B::tensor_info(j).map(|t| t.shifted(A::LAYERS)),
        }
    }

    fn as_view(&self) -> Self::View<'_> {
        crate::Chain(self.0.as_view(), self.1.as_view())
    }

    fn view<'a>(tensors: &mut dyn Iterator<Item = Tensor<'a>>) -> Option<Self::View<'a>> {
        Some(crate::Chain(A::view(tensors)?, B::view(tensors)?))
    }

    fn from_view(v: &Self::View<'_>) -> Self {
        crate::Chain(A::from_view(&v.0), B::from_view(&v.1))
    }

    fn tensor_bytes(v: &Self::View<'_>, i: usize, out: &mut dyn FnMut(&[u8])) {
        match i.checked_sub(A::TENSORS) {
            None => A::tensor_bytes(&v.0, i, out),
            Some(j) => B::tensor_bytes(&v.1, j, out),
        }
    }

    fn input(v: &Self::View<'_>) -> Option<Affine> {
        A::input(&v.0)
    }

    fn check(v: &Self::View<'_>, input: Affine) -> Result<Affine, Fault> {
        let mid = A::check(&v.0, input)?;
        B::check(&v.1, mid).map_err(|f| f.shifted(A::LAYERS))
    }

    fn forward_view(
        v: &Self::View<'_>,
        x: &Self::Input,
        y: &mut Self::Output,
        s: &mut Self::Scratch,
    ) {
        A::forward_view(&v.0, x, &mut s.mid, &mut s.a);
        B::forward_view(&v.1, &s.mid, y, &mut s.b);
    }
}

// --- a network ready to run ---------------------------------------------------------------

/// An int8 network whose parameters were checked ([`QLayer::check`]), with the real-valued
/// parameters of its input and output: what a Generator runs on, from its own weights
/// ([`QNet::of`]) or from a file ([`File::view_quantized`](crate::safetensors::File::view_quantized)).
pub struct QNet<'a, Q: QLayer> {
    view: Q::View<'a>,
    input: Affine,
    output: Affine,
}

impl<Q: QLayer> Clone for QNet<'_, Q> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<Q: QLayer> Copy for QNet<'_, Q> {}

impl<'a, Q: QLayer> QNet<'a, Q> {
    /// Checks `view`, whose first stage must record its input's parameters.
    pub fn new(view: Q::View<'a>) -> Result<Self, Fault> {
        let input = Q::input(&view).ok_or(Fault {
            layer: 0,
            kind: None,
            index: 0,
            reason: "the first stage must be a fully connected layer, which records its \
                     input's parameters",
        })?;
        let output = Q::check(&view, input)?;
        Ok(QNet {
            view,
            input,
            output,
        })
    }

    /// The network `q`, run from its own weights.
    pub fn of(q: &'a Q) -> Result<Self, Fault> {
        Self::new(q.as_view())
    }

    /// The parameters.
    pub fn view(&self) -> &Q::View<'a> {
        &self.view
    }

    /// How the int8 input stands for real values.
    pub fn input(&self) -> Affine {
        self.input
    }

    /// How the int8 output stands for real values.
    pub fn output(&self) -> Affine {
        self.output
    }

    /// `y` from `x`, integers only.
    pub fn forward(&self, x: &Q::Input, y: &mut Q::Output, scratch: &mut Q::Scratch) {
        Q::forward_view(&self.view, x, y, scratch);
    }

    /// `x` from real values `z` (f32 noise, say), element by element: `round(z / scale) +
    /// zero point`, saturated to int8 ([`Affine::quantize`]). IEEE division and rounding,
    /// so the same bits on every target. Elements past the shorter of the two are left.
    pub fn quantize_input(&self, z: &[f32], x: &mut Q::Input) {
        for (xi, &zi) in x.as_mut_slice().iter_mut().zip(z) {
            *xi = self.input.quantize(zi);
        }
    }

    /// The real values `y` stands for: `scale · (y − zero point)`, into `out`.
    pub fn dequantize_output(&self, y: &Q::Output, out: &mut [f32]) {
        for (o, &yi) in out.iter_mut().zip(y.as_slice()) {
            *o = self.output.dequantize(yi);
        }
    }

    /// One sample: `z` quantized, the network run, its int8 output in `y` and the real
    /// values it stands for in `out`.
    pub fn sample(&self, z: &[f32], y: &mut Q::Output, out: &mut [f32], s: &mut Q::Scratch) {
        let mut x = Q::Input::ZERO;
        self.quantize_input(z, &mut x);
        self.forward(&x, y, s);
        self.dequantize_output(y, out);
    }
}

// --- the Generators -----------------------------------------------------------------------

use crate::models::{POINTS_Z, SEED_Z, SMALL_Z, TINY_WIDTH};
use crate::seq;

/// [`crate::models::SmallGenerator`] in int8: 16 → 64 (ReLU) → X (Tanh).
pub type QSmallGenerator<const X: usize> =
    seq![QLinear<SMALL_Z, 64>, QRelu<64>, QLinear<64, X>, QTanh<X>];
/// [`crate::models::SeedShapedGenerator`] in int8: 100 → 128 (ReLU) → X (Tanh).
pub type QSeedShapedGenerator<const X: usize> =
    seq![QLinear<SEED_Z, 128>, QRelu<128>, QLinear<128, X>, QTanh<X>];
/// [`crate::models::SeedGenerator`] in int8.
pub type QSeedGenerator = QSeedShapedGenerator<784>;
/// [`crate::models::PointsGenerator`] in int8: 2 → 64 (ReLU) → 64 (ReLU) → 2.
pub type QPointsGenerator =
    seq![QLinear<POINTS_Z, 64>, QRelu<64>, QLinear<64, 64>, QRelu<64>, QLinear<64, 2>];
/// [`crate::models::TinyPointsGenerator`] in int8: 2 → 24 (ReLU) → 24 (ReLU) → 2.
pub type QTinyPointsGenerator = seq![
    QLinear<POINTS_Z, TINY_WIDTH>,
    QRelu<TINY_WIDTH>,
    QLinear<TINY_WIDTH, TINY_WIDTH>,
    QRelu<TINY_WIDTH>,
    QLinear<TINY_WIDTH, 2>
];

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::quant::calibrate::{noise_input, quantize, FromF32, Range};
    use crate::{Init, Layer};
    use rand_core::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro128PlusPlus;
    use std::string::ToString;
    use std::vec::Vec;

    type Q = QTinyPointsGenerator;

    /// The tiny points Generator, initialised and quantized for its calibrated ranges.
    fn tiny(seed: u64) -> Q {
        let mut rng = Xoshiro128PlusPlus::seed_from_u64(seed);
        let mut f = <Q as FromF32>::F32::ZEROED;
        f.init(Init::PyTorchDefault, &mut rng);
        let mut ranges = [Range::EMPTY; 3];
        for _ in 0..200 {
            let mut z = [0.0f32; 2];
            crate::noise::gaussian(&mut rng, &mut z);
            Q::observe(&f, &z, &mut [0.0; 2], &mut ranges);
        }
        quantize(&f, noise_input(), &ranges).unwrap()
    }

    #[test]
    fn tensors_are_named_as_the_f32_layers() {
        let names: Vec<(usize, &str)> = (0..Q::TENSORS)
            .map(|i| Q::tensor_info(i).unwrap())
            .map(|t| (t.layer, t.kind.name()))
            .collect();
        assert_eq!(names.len(), 18);
        assert_eq!(names[..6].iter().filter(|(l, _)| *l == 0).count(), 6);
        assert_eq!(names[6], (2, "weight"));
        assert_eq!(names[17], (4, "zero_points"));
        assert_eq!(Q::tensor_info(12).unwrap().shape(), &[2, 24]);
        assert_eq!(Q::tensor_info(18), None);
        assert_eq!(Q::LAYERS, 5);
        let table = QTanh::<3>::tensor_info(0).unwrap();
        assert_eq!((table.shape(), table.kind.dtype()), (&[256][..], Dtype::I8));
    }

    #[test]
    fn a_copy_of_a_view_computes_the_same() {
        let q = tiny(1);
        let copy = Q::from_view(&q.as_view());
        assert_eq!(copy, q);
        let mut rng = Xoshiro128PlusPlus::seed_from_u64(2);
        let (a, b) = (QNet::of(&q).unwrap(), QNet::of(&copy).unwrap());
        let mut s = Q::SCRATCH;
        for _ in 0..1000 {
            let x = [rng.next_u32() as i8, rng.next_u32() as i8];
            let (mut ya, mut yb) = ([0i8; 2], [0i8; 2]);
            a.forward(&x, &mut ya, &mut s);
            b.forward(&x, &mut yb, &mut s);
            assert_eq!(ya, yb);
        }
    }

    #[test]
    fn faults_name_the_layer_and_the_value() {
        let good = tiny(3);
        let fault = |edit: fn(&mut Q)| {
            let mut q = good;
            edit(&mut q);
            QNet::of(&q).err().map(|f| (f.layer, f.kind, f.index))
        };
        assert_eq!(fault(|_| {}), None);
        // a hidden layer whose output is not [0, max] cannot feed a fused ReLU
        assert_eq!(fault(|q| q.0.output.zero_point = 0), Some((1, None, 0)));
        // the second layer's input parameters must be the first's output's
        assert_eq!(
            fault(|q| q.1 .1 .0.input.scale *= 2.0),
            Some((2, Some(QKind::Scales), 0))
        );
        assert_eq!(
            fault(|q| q.1 .1 .0.m[5].multiplier = 12),
            Some((2, Some(QKind::Multiplier), 5))
        );
        assert_eq!(
            fault(|q| q.1 .1 .1 .1.m[1].shift = 31),
            Some((4, Some(QKind::Shift), 1))
        );
        assert_eq!(
            fault(|q| q.0.input.scale = f32::NAN),
            Some((0, Some(QKind::Scales), 0))
        );
        assert_eq!(
            fault(|q| q.1 .1 .1 .1.output.zero_point = 128),
            Some((4, Some(QKind::ZeroPoints), 1))
        );
        let f = QNet::of(&{
            let mut q = good;
            q.0.output.zero_point = 0;
            q
        })
        .err()
        .unwrap();
        assert!(f.to_string().starts_with("fc.1[0]: a ReLU"), "{f}");
    }

    #[test]
    fn tables_index_by_input_plus_128() {
        let mut lut = Lut { table: [0; 256] };
        for (k, t) in lut.table.iter_mut().enumerate() {
            *t = (255 - k) as u8 as i8;
        }
        let stage = QTanh::<3>::new(lut);
        let mut y = [0i8; 3];
        QTanh::<3>::forward_view(&stage.as_view(), &[-128, 0, 127], &mut y, &mut ());
        assert_eq!(y, [-1, 127, 0]);
    }

    #[test]
    fn extreme_parameters_do_not_overflow() {
        // every value at its worst: the sums and shifts saturate instead of wrapping
        let q = QLinear::<4, 2> {
            w: [[-128; 4], [127; 4]],
            b: [i32::MIN, i32::MAX],
            m: [QuantizedMultiplier {
                multiplier: i32::MAX,
                shift: 30,
            }; 2],
            input: Affine {
                scale: 1.0,
                zero_point: i32::MIN,
            },
            output: Affine {
                scale: 1.0,
                zero_point: i32::MAX,
            },
        };
        let mut y = [0i8; 2];
        q.forward(&[127; 4], &mut y);
        // wrapping anywhere would flip a sign
        assert_eq!(y, [-128, 127]);
    }
}
