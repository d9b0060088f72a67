//! Element-wise layers: ReLU, LeakyReLU, Tanh and Sigmoid.
//!
//! Dimensions: `N` values in, `N` values out. These layers have no parameters and keep no
//! cache: their derivatives are computed from the input `x` and output `y` that the
//! surrounding network already keeps.

use crate::layer::{Layer, TensorInfo};
use crate::Init;
use core::marker::PhantomData;
use rand_core::Rng;

/// A scalar function and its derivative, applied element-wise by [`Map`].
pub trait Activation {
    /// `y = f(x)`.
    fn f(x: f32) -> f32;
    /// `dL/dx` from `dL/dy`, the input `x` and the output `y = f(x)`.
    fn backward(dy: f32, x: f32, y: f32) -> f32;
}

/// A layer applying `F` to each of `N` values.
#[derive(Debug, PartialEq, Eq)]
pub struct Map<F, const N: usize>(PhantomData<F>);

// Written out so that `F` itself need not be `Clone` or `Copy`.
impl<F, const N: usize> Clone for Map<F, N> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<F, const N: usize> Copy for Map<F, N> {}

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
pub type Relu<const N: usize> = Map<ReluFn, N>;
/// LeakyReLU over `N` values with negative slope `SLOPE_PERMILLE / 1000` (default 10, that
/// is 0.01 as in PyTorch's `nn.LeakyReLU`; GAN discriminators commonly use 200).
pub type LeakyRelu<const N: usize, const SLOPE_PERMILLE: i32 = 10> =
    Map<LeakyReluFn<SLOPE_PERMILLE>, N>;
/// Tanh over `N` values.
pub type Tanh<const N: usize> = Map<TanhFn, N>;
/// Sigmoid over `N` values.
pub type Sigmoid<const N: usize> = Map<SigmoidFn, N>;

impl Activation for ReluFn {
    fn f(x: f32) -> f32 {
        if x > 0.0 {
            x
        } else {
            0.0
        }
    }
    fn backward(dy: f32, _x: f32, y: f32) -> f32 {
        if y > 0.0 {
            dy
        } else {
            0.0
        }
    }
}

impl<const SLOPE_PERMILLE: i32> LeakyReluFn<SLOPE_PERMILLE> {
    /// The negative slope; the division is correctly rounded, so 200 gives exactly `0.2f32`.
    pub const SLOPE: f32 = SLOPE_PERMILLE as f32 / 1000.0;
}

impl<const SLOPE_PERMILLE: i32> Activation for LeakyReluFn<SLOPE_PERMILLE> {
    fn f(x: f32) -> f32 {
        if x > 0.0 {
            x
        } else {
            x * Self::SLOPE
        }
    }
    fn backward(dy: f32, x: f32, _y: f32) -> f32 {
        if x > 0.0 {
            dy
        } else {
            dy * Self::SLOPE
        }
    }
}

impl Activation for TanhFn {
    fn f(x: f32) -> f32 {
        libm::tanhf(x)
    }
    fn backward(dy: f32, _x: f32, y: f32) -> f32 {
        // d tanh(x)/dx = 1 - tanh²(x) = 1 - y²
        dy * (1.0 - y * y)
    }
}

impl Activation for SigmoidFn {
    fn f(x: f32) -> f32 {
        crate::loss::sigmoid(x)
    }
    fn backward(dy: f32, _x: f32, y: f32) -> f32 {
        // dσ(x)/dx = σ(x)(1 - σ(x)) = y(1 - y); grouped as PyTorch's kernel groups it
        dy * (1.0 - y) * y
    }
}

impl<F: Activation, const N: usize> Layer for Map<F, N> {
    type Input = [f32; N];
    type Output = [f32; N];
    type Cache = ();

    const ZEROED: Self = Map(PhantomData);
    const CACHE: Self::Cache = ();
    const LAYERS: usize = 1;
    const TENSORS: usize = 0;
    const PARAMS: usize = 0;

    fn tensor(&self, _: usize) -> &[f32] {
        &[]
    }
    fn tensor_mut(&mut self, _: usize) -> &mut [f32] {
        &mut []
    }
    fn tensor_info(_: usize) -> Option<TensorInfo> {
        None
    }
    fn init<R: Rng + ?Sized>(&mut self, _: Init, _: &mut R) {}

    /// Nothing to borrow: an element-wise layer has no weights.
    type View<'a> = ();

    fn view(_: &mut dyn Iterator<Item = &[f32]>) -> Option<()> {
        Some(())
    }

    fn forward_view(_: &(), x: &[f32; N], y: &mut [f32; N], cache: &mut ()) {
        Self::ZEROED.forward(x, y, cache);
    }

    fn forward(&self, x: &[f32; N], y: &mut [f32; N], _: &mut ()) {
        for (yi, &xi) in y.iter_mut().zip(x) {
            *yi = F::f(xi);
        }
    }

    fn backward(
        &self,
        x: &[f32; N],
        y: &[f32; N],
        _: &mut (),
        dy: &[f32; N],
        dx: Option<&mut [f32; N]>,
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
