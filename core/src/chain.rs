//! Composition: two layers run one after the other form a layer.

use crate::layer::{Layer, TensorInfo, Vector};
use crate::Init;
use rand_core::Rng;

/// `A` followed by `B`. `B`'s input type must be `A`'s output type, so sizes are checked
/// by the compiler. Longer networks nest: write them with [`seq!`](crate::seq).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Chain<A, B>(pub A, pub B);

/// What a [`Chain`] keeps between its forward and backward passes.
pub struct ChainCache<A: Layer, B: Layer> {
    /// `A`'s output, `B`'s input, kept for both backward passes.
    mid: A::Output,
    /// Gradient with respect to `mid`: scratch for the backward pass.
    dmid: A::Output,
    a: A::Cache,
    b: B::Cache,
}

impl<A, B> Layer for Chain<A, B>
where
    A: Layer,
    B: Layer<Input = A::Output, Scalar = A::Scalar>,
{
    type Scalar = A::Scalar;
    type Input = A::Input;
    type Output = B::Output;
    type Cache = ChainCache<A, B>;

    const ZEROED: Self = Chain(A::ZEROED, B::ZEROED);
    const CACHE: Self::Cache = ChainCache {
        mid: A::Output::ZERO,
        dmid: A::Output::ZERO,
        a: A::CACHE,
        b: B::CACHE,
    };
    const LAYERS: usize = A::LAYERS + B::LAYERS;
    const TENSORS: usize = A::TENSORS + B::TENSORS;
    const PARAMS: usize = A::PARAMS + B::PARAMS;

    fn tensor(&self, i: usize) -> &[A::Scalar] {
        match i.checked_sub(A::TENSORS) {
            None => self.0.tensor(i),
            Some(j) => self.1.tensor(j),
        }
    }

    fn tensor_mut(&mut self, i: usize) -> &mut [A::Scalar] {
        match i.checked_sub(A::TENSORS) {
            None => self.0.tensor_mut(i),
            Some(j) => self.1.tensor_mut(j),
        }
    }

    fn tensor_info(i: usize) -> Option<TensorInfo> {
        match i.checked_sub(A::TENSORS) {
            None => A::tensor_info(i),
            Some(j) => B::tensor_info(j).map(|t| t.shifted(A::LAYERS)),
        }
    }

    fn init<R: Rng + ?Sized>(&mut self, init: Init, rng: &mut R) {
        self.0.init(init, rng);
        self.1.init(init, rng);
    }

    type View<'a> = Chain<A::View<'a>, B::View<'a>>;

    fn view<'a>(tensors: &mut dyn Iterator<Item = &'a [A::Scalar]>) -> Option<Self::View<'a>> {
        Some(Chain(A::view(tensors)?, B::view(tensors)?))
    }

    fn forward_view(
        v: &Self::View<'_>,
        x: &Self::Input,
        y: &mut Self::Output,
        cache: &mut Self::Cache,
    ) {
        A::forward_view(&v.0, x, &mut cache.mid, &mut cache.a);
        B::forward_view(&v.1, &cache.mid, y, &mut cache.b);
    }

    fn forward(&self, x: &Self::Input, y: &mut Self::Output, cache: &mut Self::Cache) {
        self.0.forward(x, &mut cache.mid, &mut cache.a);
        self.1.forward(&cache.mid, y, &mut cache.b);
    }

    fn backward(
        &self,
        x: &Self::Input,
        y: &Self::Output,
        cache: &mut Self::Cache,
        dy: &Self::Output,
        dx: Option<&mut Self::Input>,
        grads: Option<&mut Self>,
    ) {
        let (ga, gb) = match grads {
            Some(Chain(ga, gb)) => (Some(ga), Some(gb)),
            None => (None, None),
        };

        // B first: it turns dy into d(mid), which A then carries back to dx.
        self.1
            .backward(&cache.mid, y, &mut cache.b, dy, Some(&mut cache.dmid), gb);
        self.0
            .backward(x, &cache.mid, &mut cache.a, &cache.dmid, dx, ga);
    }
}

/// Names the type of a network made of the given layers, in order.
///
/// ```
/// use picogan::{seq, Layer, Linear, Relu, Tanh};
/// type Generator = seq![Linear<16, 32>, Relu<32>, Linear<32, 64>, Tanh<64>];
/// assert_eq!(Generator::LAYERS, 4);
/// assert_eq!(Generator::PARAMS, 16 * 32 + 32 + 32 * 64 + 64);
/// ```
///
/// Mismatched neighbours do not compile:
///
/// ```compile_fail
/// use picogan::{seq, Layer, Linear, Relu};
/// type Broken = seq![Linear<16, 32>, Relu<31>];
/// let _ = Broken::ZEROED;
/// ```
#[macro_export]
macro_rules! seq {
    ($last:ty $(,)?) => { $last };
    ($first:ty, $($rest:ty),+ $(,)?) => { $crate::Chain<$first, $crate::seq!($($rest),+)> };
}
