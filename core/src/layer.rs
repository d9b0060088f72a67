//! The [`Layer`] trait every building block and every whole network implements.

use crate::{Init, Scalar};
use rand_core::Rng;

/// A fixed-width vector of activations: `[S; N]` for a [`Scalar`] `S`.
///
/// Layer inputs and outputs are arrays, so joining a layer that produces `[f32; 64]` to one
/// that expects `[f32; 32]` is a type error, not a runtime one.
pub trait Vector: Copy {
    /// The element type.
    type Elem: Scalar;
    /// Number of elements.
    const LEN: usize;
    /// All zeros.
    const ZERO: Self;
    /// The elements as a slice.
    fn as_slice(&self) -> &[Self::Elem];
    /// The elements as a mutable slice.
    fn as_mut_slice(&mut self) -> &mut [Self::Elem];
}

impl<S: Scalar, const N: usize> Vector for [S; N] {
    type Elem = S;
    const LEN: usize = N;
    const ZERO: Self = [S::ZERO; N];
    fn as_slice(&self) -> &[S] {
        self
    }
    fn as_mut_slice(&mut self) -> &mut [S] {
        self
    }
}

/// Whether a parameter tensor is a weight matrix or a bias vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// A `[OUT][IN]` weight matrix, laid out as PyTorch's `nn.Linear.weight`.
    Weight,
    /// A `[OUT]` bias vector.
    Bias,
}

impl ParamKind {
    /// The suffix PyTorch gives this tensor in a `state_dict` (`weight` or `bias`).
    pub fn name(self) -> &'static str {
        match self {
            ParamKind::Weight => "weight",
            ParamKind::Bias => "bias",
        }
    }
}

/// Where a parameter tensor sits in a network and what shape it has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    /// Index of the owning layer in the flattened sequence of layers, counting
    /// element-wise layers too, as `nn.Sequential` numbers its children.
    pub layer: usize,
    /// Weight or bias.
    pub kind: ParamKind,
    /// `[OUT, IN]` for a weight, `[OUT, 1]` for a bias; see [`TensorInfo::shape`].
    pub dims: [usize; 2],
}

impl TensorInfo {
    /// The shape as PyTorch reports it: `[OUT, IN]` for a weight, `[OUT]` for a bias.
    pub fn shape(&self) -> &[usize] {
        match self.kind {
            ParamKind::Weight => &self.dims,
            ParamKind::Bias => &self.dims[..1],
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.dims[0] * self.dims[1]
    }

    /// True for a tensor with no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The same tensor seen from a network in which it sits `offset` layers further on.
    pub(crate) fn shifted(self, offset: usize) -> Self {
        TensorInfo {
            layer: self.layer + offset,
            ..self
        }
    }
}

/// A differentiable building block: a single layer, or a whole network made of layers.
///
/// The type holds the parameters and nothing else. The same type serves as the gradient
/// buffer and as optimizer state: the gradient of `w` is the `w` of another value of the
/// same type. Whatever the forward pass must keep for the backward pass lives in
/// [`Layer::Cache`], held by the caller, sized by the type.
///
/// Gradients *accumulate*: [`Layer::backward`] adds into the gradient value, so a minibatch
/// is processed one sample at a time and activation memory does not grow with its size.
/// Zero the gradients with [`Layer::zero`] before a minibatch.
pub trait Layer: Sized {
    /// The number type of parameters and activations: `f32` or [`Q16`](crate::fixed::Q16).
    type Scalar: Scalar;
    /// Input activations, `[Scalar; IN]`.
    type Input: Vector<Elem = Self::Scalar>;
    /// Output activations, `[Scalar; OUT]`.
    type Output: Vector<Elem = Self::Scalar>;
    /// Values kept between `forward` and `backward` (the activations between layers, and
    /// scratch for their gradients). A network's input and output are not part of it.
    type Cache;

    /// The layer with every parameter zero.
    const ZEROED: Self;
    /// An empty cache.
    const CACHE: Self::Cache;
    /// Number of layers in the flattened sequence, element-wise layers included.
    const LAYERS: usize;
    /// Number of parameter tensors.
    const TENSORS: usize;
    /// Number of parameters (scalars) in all tensors.
    const PARAMS: usize;

    /// Parameter tensor `i` in row-major order; empty for `i >= TENSORS`.
    fn tensor(&self, i: usize) -> &[Self::Scalar];
    /// Parameter tensor `i`, mutably; empty for `i >= TENSORS`.
    fn tensor_mut(&mut self, i: usize) -> &mut [Self::Scalar];
    /// Name and shape of parameter tensor `i`; `None` for `i >= TENSORS`.
    fn tensor_info(i: usize) -> Option<TensorInfo>;

    /// The network's weights borrowed from elsewhere, such as a weights file in flash: a
    /// few references, for running the network forward without copying its weights (see
    /// [`Layer::view`]).
    type View<'a>: Copy;

    /// Borrows one tensor after another from `tensors`, in [`Layer::tensor`] order, as
    /// this network's weights; `None` when one is missing or of the wrong length.
    fn view<'a>(tensors: &mut dyn Iterator<Item = &'a [Self::Scalar]>) -> Option<Self::View<'a>>;

    /// [`Layer::forward`] with the weights of `view`: the same arithmetic, bit for bit.
    fn forward_view(
        view: &Self::View<'_>,
        x: &Self::Input,
        y: &mut Self::Output,
        cache: &mut Self::Cache,
    );

    /// Draws fresh parameters from `rng` with the given scheme.
    fn init<R: Rng + ?Sized>(&mut self, init: Init, rng: &mut R);

    /// Computes `y` from `x`, keeping in `cache` what [`Layer::backward`] will need.
    fn forward(&self, x: &Self::Input, y: &mut Self::Output, cache: &mut Self::Cache);

    /// Given `dy = dL/dy` for the `x`, `y` and `cache` of the last `forward`, writes
    /// `dL/dx` into `dx` (when asked for) and *adds* `dL/dθ` into `grads` (when given).
    ///
    /// Either may be skipped: the first layer of a network needs no `dx`, and a
    /// Discriminator seen from the Generator's update needs `dx` but no parameter
    /// gradients.
    #[allow(clippy::too_many_arguments)]
    fn backward(
        &self,
        x: &Self::Input,
        y: &Self::Output,
        cache: &mut Self::Cache,
        dy: &Self::Output,
        dx: Option<&mut Self::Input>,
        grads: Option<&mut Self>,
    );

    /// Sets every parameter to zero (used on gradient buffers before a minibatch).
    fn zero(&mut self) {
        for i in 0..Self::TENSORS {
            self.tensor_mut(i).fill(Self::Scalar::ZERO);
        }
    }

    /// True when no parameter is NaN or infinite.
    fn is_finite(&self) -> bool {
        (0..Self::TENSORS).all(|i| self.tensor(i).iter().all(|&v| v.is_finite()))
    }

    /// Runs `forward` with a throw-away cache (for sampling, where no backward follows).
    ///
    /// The cache lives on the stack for the duration of the call; for large networks on a
    /// small stack, keep a cache yourself and call [`Layer::forward`].
    fn infer(&self, x: &Self::Input, y: &mut Self::Output) {
        let mut cache = Self::CACHE;
        self.forward(x, y, &mut cache);
    }
}
