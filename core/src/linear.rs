//! Fully connected layer: `y = W·x + b`.
//!
//! Dimensions: `IN` inputs, `OUT` outputs. `W` is stored `[OUT][IN]`, row `o` holding the
//! weights into output `o`, exactly as PyTorch's `nn.Linear.weight`, so weights move
//! between the two without transposing.

use crate::layer::{Layer, ParamKind, TensorInfo};
use crate::{Init, Scalar};
use rand_core::Rng;

/// A fully connected layer with `IN` inputs and `OUT` outputs, computing in `S`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Linear<const IN: usize, const OUT: usize, S = f32> {
    /// Weights, `[OUT][IN]`.
    pub w: [[S; IN]; OUT],
    /// Biases, `[OUT]`.
    pub b: [S; OUT],
}

/// A [`Linear`] layer's weights borrowed from elsewhere (see [`Layer::view`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinearView<'a, const IN: usize, const OUT: usize, S = f32> {
    /// `[OUT][IN]`, as [`Linear::w`].
    pub w: &'a [[S; IN]; OUT],
    /// `[OUT]`, as [`Linear::b`].
    pub b: &'a [S; OUT],
}

/// `y = W·x + b`, the one forward pass of owned and borrowed weights alike.
fn forward<S: Scalar, const IN: usize, const OUT: usize>(
    w: &[[S; IN]; OUT],
    b: &[S; OUT],
    x: &[S; IN],
    y: &mut [S; OUT],
) {
    // y[o] = b[o] + Σ_i w[o][i]·x[i]
    for ((yo, wo), &bo) in y.iter_mut().zip(w).zip(b) {
        *yo = S::dot(wo, x) + bo;
    }
}

impl<S: Scalar, const IN: usize, const OUT: usize> Layer for Linear<IN, OUT, S> {
    type Scalar = S;
    type Input = [S; IN];
    type Output = [S; OUT];
    type Cache = ();

    const ZEROED: Self = Linear {
        w: [[S::ZERO; IN]; OUT],
        b: [S::ZERO; OUT],
    };
    const CACHE: Self::Cache = ();
    const LAYERS: usize = 1;
    const TENSORS: usize = 2;
    const PARAMS: usize = IN * OUT + OUT;

    fn tensor(&self, i: usize) -> &[S] {
        match i {
            0 => self.w.as_flattened(),
            1 => &self.b,
            _ => &[],
        }
    }

    fn tensor_mut(&mut self, i: usize) -> &mut [S] {
        match i {
            0 => self.w.as_flattened_mut(),
            1 => &mut self.b,
            _ => &mut [],
        }
    }

    fn tensor_info(i: usize) -> Option<TensorInfo> {
        let (kind, dims) = match i {
            0 => (ParamKind::Weight, [OUT, IN]),
            1 => (ParamKind::Bias, [OUT, 1]),
            _ => return None,
        };
        Some(TensorInfo {
            layer: 0,
            kind,
            dims,
        })
    }

    fn init<R: Rng + ?Sized>(&mut self, init: Init, rng: &mut R) {
        let (w_bound, b_bound) = init.bounds(IN, OUT);
        crate::init::fill_uniform(rng, self.w.as_flattened_mut(), w_bound);
        crate::init::fill_uniform(rng, &mut self.b, b_bound);
    }

    type View<'a> = LinearView<'a, IN, OUT, S>;

    fn view<'a>(tensors: &mut dyn Iterator<Item = &'a [S]>) -> Option<LinearView<'a, IN, OUT, S>> {
        let (w, b) = (tensors.next()?, tensors.next()?);
        let (rows, rest) = w.as_chunks::<IN>();
        if !rest.is_empty() {
            return None;
        }
        Some(LinearView {
            w: rows.try_into().ok()?,
            b: b.try_into().ok()?,
        })
    }

    fn forward_view(v: &LinearView<'_, IN, OUT, S>, x: &[S; IN], y: &mut [S; OUT], _: &mut ()) {
        forward(v.w, v.b, x, y);
    }

    fn forward(&self, x: &[S; IN], y: &mut [S; OUT], _: &mut ()) {
        forward(&self.w, &self.b, x, y);
    }

    fn backward(
        &self,
        x: &[S; IN],
        _y: &[S; OUT],
        _: &mut (),
        dy: &[S; OUT],
        dx: Option<&mut [S; IN]>,
        grads: Option<&mut Self>,
    ) {
        // forward: y[o] = b[o] + Σ_i w[o][i]·x[i]
        // so:      db[o] += dy[o];  dw[o][i] += dy[o]·x[i];  dx[i] = Σ_o w[o][i]·dy[o]
        //
        // Rows with dy[o] == 0 (common behind a ReLU) are skipped: they would add exact
        // zeros. Both loops run over contiguous rows of `w` so they vectorise.
        if let Some(g) = grads {
            for ((dwo, dbo), &dyo) in g.w.iter_mut().zip(&mut g.b).zip(dy) {
                if dyo != S::ZERO {
                    *dbo += dyo;
                    S::axpy(dyo, x, dwo);
                }
            }
        }
        if let Some(dx) = dx {
            dx.fill(S::ZERO);
            for (wo, &dyo) in self.w.iter().zip(dy) {
                if dyo != S::ZERO {
                    S::axpy(dyo, wo, dx);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer() -> Linear<3, 2> {
        Linear {
            w: [[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0]],
            b: [0.5, -0.5],
        }
    }

    #[test]
    fn forward_is_w_times_x_plus_b() {
        let mut y = [0.0; 2];
        layer().forward(&[1.0, 1.0, 2.0], &mut y, &mut ());
        assert_eq!(y, [1.0 + 2.0 + 6.0 + 0.5, -1.0 + 0.5 - 0.5]);
    }

    #[test]
    fn backward_accumulates_parameter_gradients_and_writes_dx() {
        let l = layer();
        let mut g = Linear::ZEROED;
        let mut dx = [9.0; 3];
        let x = [1.0, 2.0, 3.0];
        for _ in 0..2 {
            l.backward(
                &x,
                &[0.0; 2],
                &mut (),
                &[1.0, 2.0],
                Some(&mut dx),
                Some(&mut g),
            );
        }
        assert_eq!(g.b, [2.0, 4.0]);
        assert_eq!(g.w, [[2.0, 4.0, 6.0], [4.0, 8.0, 12.0]]);
        // dx = Wᵀ·dy, overwritten rather than accumulated
        assert_eq!(dx, [1.0 - 2.0, 2.0 + 1.0, 3.0]);
    }

    #[test]
    fn tensors_are_pytorch_shaped() {
        let info = Linear::<3, 2>::tensor_info(0).unwrap();
        assert_eq!(info.shape(), &[2, 3]);
        assert_eq!(Linear::<3, 2>::tensor_info(1).unwrap().shape(), &[2]);
        assert_eq!(Linear::<3, 2>::tensor_info(2), None);
        assert_eq!(layer().tensor(0), &[1.0, 2.0, 3.0, -1.0, 0.5, 0.0]);
        assert!(layer().tensor(7).is_empty());
    }
}
