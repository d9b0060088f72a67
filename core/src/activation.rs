//! Element-wise layers: ReLU, LeakyReLU, Tanh and Sigmoid.
//!
//! Dimensions: `N` values in, `N` values out. These layers have no parameters and keep no
//! cache: their derivatives are computed from the input `x` and output `y` that the
//! surrounding network already keeps.

use crate::layer::{Layer, TensorInfo};
use crate::{Init, Scalar};
use core::marker::PhantomData;
use rand_core::Rng;

/// A scalar function and its derivative, applied element-wise by [`Map`].
pub trait Activation {
    /// `y = f(x)`.
    fn f<S: Scalar>(x: S) -> S;
    /// `dL/dx` from `dL/dy`, the input `x` and the output `y = f(x)`.
    fn backward<S: Scalar>(dy: S, x: S, y: S) -> S;
}

/// A layer applying `F` to each of `N` values of type `S`.
#[derive(Debug, PartialEq, Eq)]
pub struct Map<F, const N: usize, S = f32>(PhantomData<(F, S)>);

// Written out so that `F` and `S` themselves need not be `Clone` or `Copy`.
impl<F, const N: usize, S> Clone for Map<F, N, S> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<F, const N: usize, S> Copy for Map<F, N, S> {}

/// `max(x, 0)`.
#[derive(Debug, PartialEq, Eq)]
pub enum ReluFn {}
/// `x` for `x > 0`, else `slope·x`, with `slope = SLOPE_PERMILLE / 1000`.
#[derive(Debug, PartialEq, Eq)]
pub enum LeakyReluFn<const SLOPE_PERMILLE: i32> {}
/// The hyperbolic tangent.
#[derive(Debug, PartialEq, Eq)]
pub enum TanhFn {}
/// The logistic function `1 / (1 + e^-x)`.
#[derive(Debug, PartialEq, Eq)]
pub enum SigmoidFn {}

/// ReLU over `N` values.
pub type Relu<const N: usize, S = f32> = Map<ReluFn, N, S>;
/// LeakyReLU over `N` values with negative slope `SLOPE_PERMILLE / 1000` (default 10, that
/// is 0.01 as in PyTorch's `nn.LeakyReLU`; GAN discriminators commonly use 200).
pub type LeakyRelu<const N: usize, const SLOPE_PERMILLE: i32 = 10, S = f32> =
    Map<LeakyReluFn<SLOPE_PERMILLE>, N, S>;
/// Tanh over `N` values.
pub type Tanh<const N: usize, S = f32> = Map<TanhFn, N, S>;
/// Sigmoid over `N` values.
pub type Sigmoid<const N: usize, S = f32> = Map<SigmoidFn, N, S>;

impl Activation for ReluFn {
    fn f<S: Scalar>(x: S) -> S {
        if x > S::ZERO {
            x
        } else {
            S::ZERO
        }
    }
    fn backward<S: Scalar>(dy: S, _x: S, y: S) -> S {
        if y > S::ZERO {
            dy
        } else {
            S::ZERO
        }
    }
}

impl<const SLOPE_PERMILLE: i32> LeakyReluFn<SLOPE_PERMILLE> {
    /// The negative slope; the division is correctly rounded, so 200 gives exactly `0.2f32`.
    pub const SLOPE: f32 = SLOPE_PERMILLE as f32 / 1000.0;

    /// The negative slope in `S`: [`Self::SLOPE`] for f32, the nearest value otherwise.
    fn slope<S: Scalar>() -> S {
        S::ratio(SLOPE_PERMILLE, 1000)
    }
}

impl<const SLOPE_PERMILLE: i32> Activation for LeakyReluFn<SLOPE_PERMILLE> {
    fn f<S: Scalar>(x: S) -> S {
        if x > S::ZERO {
            x
        } else {
            x * Self::slope()
        }
    }
    fn backward<S: Scalar>(dy: S, x: S, _y: S) -> S {
        if x > S::ZERO {
            dy
        } else {
            dy * Self::slope()
        }
    }
}

impl Activation for TanhFn {
    fn f<S: Scalar>(x: S) -> S {
        x.tanh()
    }
    fn backward<S: Scalar>(dy: S, _x: S, y: S) -> S {
        // d tanh(x)/dx = 1 - tanh²(x) = 1 - y²
        dy * (S::ONE - y * y)
    }
}

impl Activation for SigmoidFn {
    fn f<S: Scalar>(x: S) -> S {
        x.sigmoid()
    }
    fn backward<S: Scalar>(dy: S, _x: S, y: S) -> S {
        // dσ(x)/dx = σ(x)(1 - σ(x)) = y(1 - y); grouped as PyTorch's kernel groups it
        dy * (S::ONE - y) * y
    }
}

impl<F: Activation, S: Scalar, const N: usize> Layer for Map<F, N, S> {
    type Scalar = S;
    type Input = [S; N];
    type Output = [S; N];
    type Cache = ();

    const ZEROED: Self = Map(PhantomData);
    const CACHE: Self::Cache = ();
    const LAYERS: usize = 1;
    const TENSORS: usize = 0;
    const PARAMS: usize = 0;

    fn tensor(&self, _: usize) -> &[S] {
        &[]
    }
    fn tensor_mut(&mut self, _: usize) -> &mut [S] {
        &mut []
    }
    fn tensor_info(_: usize) -> Option<TensorInfo> {
        None
    }
    fn init<R: Rng + ?Sized>(&mut self, _: Init, _: &mut R) {}

    /// Nothing to borrow: an element-wise layer has no weights.
    type View<'a> = ();

    fn view(_: &mut dyn Iterator<Item = &[S]>) -> Option<()> {
        Some(())
    }

    fn forward_view(_: &(), x: &[S; N], y: &mut [S; N], cache: &mut ()) {
        Self::ZEROED.forward(x, y, cache);
    }

    fn forward(&self, x: &[S; N], y: &mut [S; N], _: &mut ()) {
        for (yi, &xi) in y.iter_mut().zip(x) {
            *yi = F::f(xi);
        }
    }

    fn backward(
        &self,
        x: &[S; N],
        y: &[S; N],
        _: &mut (),
        dy: &[S; N],
        dx: Option<&mut [S; N]>,
        _: Option<&mut Self>,
    ) {
        if let Some(dx) = dx {
            for (((dxi, &dyi), &xi), &yi) in dx.iter_mut().zip(dy).zip(x).zip(y) {
                *dxi = F::backward(dyi, xi, yi);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Case = (fn(f32) -> f32, f32, f32);

    #[test]
    fn leaky_slope_in_f32_is_the_constant() {
        assert_eq!(
            LeakyReluFn::<200>::slope::<f32>(),
            LeakyReluFn::<200>::SLOPE
        );
    }

    #[test]
    fn values_at_known_points() {
        // (function, x, expected f(x)); expected values exact or from the closed form.
        let table: [Case; 8] = [
            (ReluFn::f, -2.0, 0.0),
            (ReluFn::f, 3.0, 3.0),
            (LeakyReluFn::<200>::f, -2.0, -0.4),
            (LeakyReluFn::<10>::f, 5.0, 5.0),
            (TanhFn::f, 0.0, 0.0),
            (TanhFn::f, 0.5, 0.462_117_16),
            (SigmoidFn::f, 0.0, 0.5),
            (SigmoidFn::f, -200.0, 0.0),
        ];
        for (f, x, want) in table {
            let got = f(x);
            assert!(
                (got - want).abs() <= 1e-7,
                "f({x}) = {got}, expected {want}"
            );
        }
    }

    #[test]
    fn leaky_slope_is_exact() {
        assert_eq!(LeakyReluFn::<200>::SLOPE, 0.2f32);
        assert_eq!(LeakyReluFn::<10>::SLOPE, 0.01f32);
    }

    #[test]
    fn relu_passes_gradient_only_where_active() {
        let r = Relu::<3>::ZEROED;
        let x = [-1.0, 0.0, 2.0];
        let mut y = [0.0; 3];
        r.forward(&x, &mut y, &mut ());
        let mut dx = [0.0; 3];
        r.backward(&x, &y, &mut (), &[5.0, 5.0, 5.0], Some(&mut dx), None);
        assert_eq!(dx, [0.0, 0.0, 5.0]);
    }
}
