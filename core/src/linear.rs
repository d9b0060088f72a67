//! Fully connected layer: `y = W·x + b`.
//!
//! Dimensions: `IN` inputs, `OUT` outputs. `W` is stored `[OUT][IN]`, row `o` holding the
//! weights into output `o`, exactly as PyTorch's `nn.Linear.weight`, so weights move
//! between the two without transposing.

use crate::kernels::{axpy, dot};
use crate::layer::{Layer, ParamKind, TensorInfo};
use crate::Init;
use rand_core::Rng;

/// A fully connected layer with `IN` inputs and `OUT` outputs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Linear<const IN: usize, const OUT: usize> {
    /// Weights, `[OUT][IN]`.
    pub w: [[f32; IN]; OUT],
    /// Biases, `[OUT]`.
    pub b: [f32; OUT],
}

/// A [`Linear`] layer's weights borrowed from elsewhere (see [`Layer::view`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinearView<'a, const IN: usize, const OUT: usize> {
    /// `[OUT][IN]`, as [`Linear::w`].
    pub w: &'a [[f32; IN]; OUT],
    /// `[OUT]`, as [`Linear::b`].
    pub b: &'a [f32; OUT],
}

/// `y = W·x + b`, the one forward pass of owned and borrowed weights alike.
fn forward<const IN: usize, const OUT: usize>(
    w: &[[f32; IN]; OUT],
    b: &[f32; OUT],
    x: &[f32; IN],
    y: &mut [f32; OUT],
) {
    // y[o] = b[o] + Σ_i w[o][i]·x[i]
    for ((yo, wo), bo) in y.iter_mut().zip(w).zip(b) {
        *yo = dot(wo, x) + bo;
    }
}

impl<const IN: usize, const OUT: usize> Layer for Linear<IN, OUT> {
    type Input = [f32; IN];
    type Output = [f32; OUT];
    type Cache = ();

    const ZEROED: Self = Linear {
        w: [[0.0; IN]; OUT],
        b: [0.0; OUT],
    };
    const CACHE: Self::Cache = ();
    const LAYERS: usize = 1;
    const TENSORS: usize = 2;
    const PARAMS: usize = IN * OUT + OUT;

    fn tensor(&self, i: usize) -> &[f32] {
        match i {
            0 => self.w.as_flattened(),
            1 => &self.b,
            _ => &[],
        }
    }

    fn tensor_mut(&mut self, i: usize) -> &mut [f32] {
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

    type View<'a> = LinearView<'a, IN, OUT>;

    fn view<'a>(tensors: &mut dyn Iterator<Item = &'a [f32]>) -> Option<LinearView<'a, IN, OUT>> {
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

    fn forward_view(v: &LinearView<'_, IN, OUT>, x: &[f32; IN], y: &mut [f32; OUT], _: &mut ()) {
        forward(v.w, v.b, x, y);
    }

    fn forward(&self, x: &[f32; IN], y: &mut [f32; OUT], _: &mut ()) {
        forward(&self.w, &self.b, x, y);
    }

    fn backward(
        &self,
        x: &[f32; IN],
        _y: &[f32; OUT],
        _: &mut (),
        dy: &[f32; OUT],
        dx: Option<&mut [f32; IN]>,
        grads: Option<&mut Self>,
    ) {
        // forward: y[o] = b[o] + Σ_i w[o][i]·x[i]
        // so:      db[o] += dy[o];  dw[o][i] += dy[o]·x[i];  dx[i] = Σ_o w[o][i]·dy[o]
        //
        // Rows with dy[o] == 0 (common behind a ReLU) are skipped: they would add exact
        // zeros. Both loops run over contiguous rows of `w` so they vectorise.
        if let Some(g) = grads {
            for ((dwo, dbo), &dyo) in g.w.iter_mut().zip(&mut g.b).zip(dy) {
                if dyo != 0.0 {
                    *dbo += dyo;
                    axpy(dyo, x, dwo);
                }
            }
        }
        if let Some(dx) = dx {
            dx.fill(0.0);
            for (wo, &dyo) in self.w.iter().zip(dy) {
                if dyo != 0.0 {
                    axpy(dyo, wo, dx);
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
