//! Finite-difference checks of every hand-written backward pass: each layer, each loss,
//! whole networks, and the gradients that `Gan::step` accumulates.
//!
//! The reference is the same function written again in f64, as plainly as possible
//! ([`RefNet`], [`ref_softplus`], ...), fed the exact f64 values of the core's f32 weights
//! and inputs, and differentiated by central differences. Before its derivative is used,
//! its value is compared with the core's f32 forward pass at the same point, so both sides
//! are known to describe the same function.
//!
//! Dimensions: `IN`, `OUT` and `N` as in the core's layers, `B` samples per minibatch, `Z`
//! noise values and `X` data values in the small GAN.
//!
//! # Error of the reference
//!
//! Central differences with step `H` = 1e-6 in f64 (scaled by the logit for the logistic
//! losses): truncation `H²/6·|f'''|` ≈ 2e-13 for the O(1) third derivatives here, and
//! rounding about `2⁻⁵²·|L|/H` ≈ 2e-10·|L| for the O(1) values `L` here. Both are at least
//! 1000 times below the tolerances, so each tolerance below budgets for the core's f32
//! rounding alone (u = 2⁻²⁴ ≈ 6e-8 per operation).
//!
//! # Kinks
//!
//! ReLU and LeakyReLU are not differentiable at 0. Every pre-activation that reaches one
//! must be at least [`KINK_MARGIN`] from 0 at the point checked (asserted; inputs to lone
//! ReLU layers are chosen so), and no ±`H` perturbation may change the sign of any of them
//! (asserted for every perturbation).
//!
//! # How a difference is measured
//!
//! For gradients of layers and networks, per tensor: `e = max_i |a_i - n_i| / max_i |n_i|`,
//! analytic `a` against numeric `n`, the largest error relative to the tensor's largest
//! value; a gradient element that is a sum with cancellation carries the rounding of its
//! terms, not of its own size. Losses are scalars and are checked one value at a time.
//! A failure prints the tensor, the index, and both values.

use picogan::loss::{self, GeneratorLoss};
use picogan::{
    seq, Gan, Init, Layer, LeakyRelu, Linear, ParamKind, Relu, Sigmoid, StepConfig, Tanh,
};
use picogan_tests::{diff, Frozen};
use rand_core::SeedableRng;
use rand_xoshiro::Xoshiro128PlusPlus;

/// Step of the central differences.
const H: f64 = 1e-6;

/// Smallest distance from a kink allowed for a pre-activation: 100 times the f32 rounding
/// error of any pre-activation here (a few u of values below 4), so the core takes the
/// same branch as the reference, and 100 times `H`.
const KINK_MARGIN: f64 = 1e-4;

/// Largest `e` for the gradient of one layer. The longest path is one dot product of at
/// most 19 terms (two 8-lane chunks and a tail: 5 additions in sequence), or one ulp-exact
/// libm call and a product or two: a few roundings of u ≈ 6e-8 relative to the sum of the
/// terms' magnitudes. 1e-6 is 16·u; the largest measured is 1.1e-7 (Sigmoid).
const LAYER_TOL: f64 = 1e-6;

/// Largest `e` for the gradient of a whole network or GAN step: up to 5 layers forward and
/// back, with a Tanh or Sigmoid (a few ulp each) on the way, and the Generator's gradient
/// passes through both networks: about 4 times the roundings of one layer, so 4 times
/// [`LAYER_TOL`]. The largest measured is 1.0e-6 (`dd` of the bias before the Sigmoid).
const NET_TOL: f64 = 4e-6;

/// Largest relative error of a forward value or loss against the f64 reference: the same
/// budget as [`LAYER_TOL`] for a single layer, kept for networks too since a forward pass
/// has half the roundings of forward plus backward.
const FORWARD_TOL: f64 = 1e-6;

/// Largest error of a logistic loss's value, relative: softplus is documented within 2 ulp
/// (2·2⁻²³ ≈ 2.4e-7); twice that. The largest measured is 5.8e-8.
const LOSS_TOL: f64 = 4.8e-7;

/// Largest absolute error of a logistic loss's derivative. The derivatives are σ(l) and
/// σ(l) - 1, in [-1, 1]: `expf` (1 ulp), an addition and a division, then possibly a
/// subtraction from 1, so about 4u ≈ 2.4e-7 absolute; σ(l) - 1 cannot be more accurate
/// than that in absolute terms for l > 0, as σ(l) is rounded near 1. The largest measured
/// is 4.5e-8.
const DLOSS_ABS_TOL: f64 = 4.8e-7;

/// An element-wise layer of the reference, or a fully connected one.
#[derive(Clone, Copy, Debug)]
enum Op {
    Linear,
    Relu,
    LeakyRelu(f64),
    Tanh,
    Sigmoid,
}

/// A network in f64: `ops` in order, with the parameters of each `Op::Linear` as a weight
/// `[OUT][IN]` and a bias `[OUT]`, in the core's tensor order.
#[derive(Clone, Debug)]
struct RefNet {
    ops: Vec<Op>,
    /// Parameter tensors, flattened.
    params: Vec<Vec<f64>>,
    /// `[OUT, IN]` of each Linear, one entry per Linear.
    dims: Vec<[usize; 2]>,
}

impl RefNet {
    /// The reference for `net`, whose layers must be `ops`; the parameters are copied
    /// exactly, and their names and shapes are checked against `ops`.
    fn of<L: Layer<Scalar = f32>>(net: &L, ops: &[Op]) -> RefNet {
        assert_eq!(
            ops.len(),
            L::LAYERS,
            "ops do not match the network's layers"
        );
        let (mut params, mut dims, mut t) = (Vec::new(), Vec::new(), 0);
        for (layer, op) in ops.iter().enumerate() {
            if let Op::Linear = op {
                for kind in [ParamKind::Weight, ParamKind::Bias] {
                    let info = L::tensor_info(t).expect("too few tensors");
                    assert_eq!((info.layer, info.kind), (layer, kind), "tensor {t}");
                    if kind == ParamKind::Weight {
                        dims.push(info.dims);
                    }
                    params.push(widen(net.tensor(t)));
                    t += 1;
                }
            }
        }
        assert_eq!(t, L::TENSORS, "ops leave tensors unused");
        RefNet {
            ops: ops.to_vec(),
            params,
            dims,
        }
    }

    /// `y` for input `x`. Every value reaching a ReLU or LeakyReLU is appended to `kinks`.
    fn forward(&self, x: &[f64], kinks: &mut Vec<f64>) -> Vec<f64> {
        let mut a = x.to_vec();
        let mut linear = 0;
        for op in &self.ops {
            a = match *op {
                Op::Linear => {
                    let [out, inp] = self.dims[linear];
                    let (w, b) = (&self.params[2 * linear], &self.params[2 * linear + 1]);
                    linear += 1;
                    assert_eq!(a.len(), inp);
                    // y[o] = b[o] + Σ_i w[o][i]·x[i]
                    (0..out)
                        .map(|o| b[o] + (0..inp).map(|i| w[o * inp + i] * a[i]).sum::<f64>())
                        .collect()
                }
                Op::Relu => {
                    kinks.extend(&a);
                    a.iter().map(|&v| v.max(0.0)).collect()
                }
                Op::LeakyRelu(slope) => {
                    kinks.extend(&a);
                    a.iter()
                        .map(|&v| if v > 0.0 { v } else { slope * v })
                        .collect()
                }
                Op::Tanh => a.iter().map(|v| v.tanh()).collect(),
                Op::Sigmoid => a.iter().map(|&v| ref_sigmoid(v)).collect(),
            };
        }
        a
    }
}

fn ref_sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// `ln(1 + e^t)` in f64, without overflow.
fn ref_softplus(t: f64) -> f64 {
    t.max(0.0) + (-t.abs()).exp().ln_1p()
}

fn widen(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| f64::from(x)).collect()
}

/// The scalar being differentiated, as a function of some f64 vectors (inputs and
/// parameters), returning its value and every pre-activation that reaches a kink.
type Objective<'a> = dyn Fn(&[Vec<f64>]) -> (f64, Vec<f64>) + 'a;

/// Central differences of `f` with respect to every element of every vector in `vars`.
///
/// # Panics
///
/// When a pre-activation is within [`KINK_MARGIN`] of a kink at `vars`, or when a
/// perturbation of ±[`H`] changes the sign of one: either would make the difference
/// quotient straddle a kink.
fn numeric_grads(vars: &[Vec<f64>], f: &Objective) -> Vec<Vec<f64>> {
    let signs = |kinks: &[f64]| kinks.iter().map(|&p| p > 0.0).collect::<Vec<_>>();
    let (_, kinks) = f(vars);
    let nearest = kinks.iter().fold(f64::INFINITY, |m, p| m.min(p.abs()));
    assert!(
        nearest > KINK_MARGIN,
        "a pre-activation is {nearest:e} from a kink, closer than {KINK_MARGIN:e}"
    );
    let base = signs(&kinks);

    let mut v = vars.to_vec();
    let mut grads = Vec::new();
    for k in 0..vars.len() {
        let mut g = Vec::new();
        for i in 0..vars[k].len() {
            let x = vars[k][i];
            v[k][i] = x + H;
            let (plus, kp) = f(&v);
            v[k][i] = x - H;
            let (minus, km) = f(&v);
            v[k][i] = x;
            assert!(
                signs(&kp) == base && signs(&km) == base,
                "perturbing variable {k}[{i}] by ±{H:e} crosses a kink"
            );
            g.push((plus - minus) / (2.0 * H));
        }
        grads.push(g);
    }
    grads
}

/// Asserts `e ≤ tol` for one tensor, and prints its largest difference either way.
fn check(what: &str, got: &[f64], want: &[f64], tol: f64) {
    let d = diff(got, want);
    let line = format!(
        "{what}: e {:.3e} (tol {tol:.1e}), largest at [{}]: core {:.9e}, reference {:.9e}",
        d.e, d.at, d.got, d.want
    );
    println!("{line}");
    assert!(d.e <= tol, "{line}");
    // a zero tensor would pass any relative test: every check here has a signal
    assert!(
        want.iter().any(|&n| n != 0.0),
        "{what}: reference is all zeros"
    );
}

/// The name of parameter tensor `t` of `L`, as `nn.Sequential` would give it.
fn tensor_name<L: Layer<Scalar = f32>>(t: usize) -> String {
    let info = L::tensor_info(t).unwrap();
    format!("{}.{}", info.layer, info.kind.name())
}

/// Checks `L::backward` against central differences of `Σ_o dy[o]·y[o]` with respect to
/// `x` and every parameter, the reference being `ops`. `tol` bounds `e` for the gradients;
/// the forward value must agree within [`FORWARD_TOL`] of its largest element.
fn check_layer<L, const IN: usize, const OUT: usize>(
    name: &str,
    net: &L,
    ops: &[Op],
    x: &[f32; IN],
    dy: &[f32; OUT],
    tol: f64,
) where
    L: Layer<Scalar = f32, Input = [f32; IN], Output = [f32; OUT]>,
{
    // analytic: one forward and one backward in f32, into zeroed gradients
    let mut cache = L::CACHE;
    let mut y = [0.0f32; OUT];
    net.forward(x, &mut y, &mut cache);
    let mut dx = [0.0f32; IN];
    let mut grads = L::ZEROED;
    net.backward(x, &y, &mut cache, dy, Some(&mut dx), Some(&mut grads));

    // the reference describes the same function
    let reference = RefNet::of(net, ops);
    let y_ref = reference.forward(&widen(x), &mut Vec::new());
    check(&format!("{name} forward"), &widen(&y), &y_ref, FORWARD_TOL);

    // numeric: vars are [x, tensor 0, tensor 1, ...]
    let dy64 = widen(dy);
    let objective = |vars: &[Vec<f64>]| {
        let mut net = reference.clone();
        net.params = vars[1..].to_vec();
        let mut kinks = Vec::new();
        let y = net.forward(&vars[0], &mut kinks);
        let l = y.iter().zip(&dy64).map(|(a, b)| a * b).sum();
        (l, kinks)
    };
    let mut vars = vec![widen(x)];
    vars.extend(reference.params.iter().cloned());
    let numeric = numeric_grads(&vars, &objective);

    check(&format!("{name} dx"), &widen(&dx), &numeric[0], tol);
    for t in 0..L::TENSORS {
        let what = format!("{name} d[{}]", tensor_name::<L>(t));
        check(&what, &widen(grads.tensor(t)), &numeric[1 + t], tol);
    }
}

fn rng(seed: u64) -> Xoshiro128PlusPlus {
    Xoshiro128PlusPlus::seed_from_u64(seed)
}

/// `N` values uniform on `[lo, hi)`.
fn uniform<const N: usize>(rng: &mut Xoshiro128PlusPlus, lo: f32, hi: f32) -> [f32; N] {
    let mut v = [0.0f32; N];
    picogan::noise::uniform(rng, &mut v);
    v.map(|u| lo + (hi - lo) * 0.5 * (u + 1.0))
}

/// `N` values with magnitudes in `[0.1, 2.1)` and random signs: away from ReLU's kink.
fn away_from_zero<const N: usize>(rng: &mut Xoshiro128PlusPlus) -> [f32; N] {
    uniform::<N>(rng, -2.0, 2.0).map(|u| u.signum() * (0.1 + u.abs()))
}

/// A network drawn with PyTorch's default initialisation.
fn init<L: Layer<Scalar = f32>>(seed: u64) -> L {
    let mut net = L::ZEROED;
    net.init(Init::PyTorchDefault, &mut rng(seed));
    net
}

#[test]
fn linear() {
    let mut r = rng(1);
    // biases drawn wide so that they matter as much as the weights
    let mut l: Linear<7, 3> = init(2);
    l.b = uniform(&mut r, -1.0, 1.0);
    let x = uniform(&mut r, -2.0, 2.0);
    let dy = uniform(&mut r, -1.0, 1.0);
    check_layer("Linear<7, 3>", &l, &[Op::Linear], &x, &dy, LAYER_TOL);
}

#[test]
fn linear_wider_than_one_kernel_chunk() {
    // 19 inputs: two whole 8-lane chunks of the dot product and a tail of three
    let mut r = rng(3);
    let l: Linear<19, 4> = init(4);
    let x = uniform(&mut r, -1.0, 1.0);
    let dy = uniform(&mut r, -1.0, 1.0);
    check_layer("Linear<19, 4>", &l, &[Op::Linear], &x, &dy, LAYER_TOL);
}

#[test]
fn relu() {
    let mut r = rng(5);
    let x = away_from_zero(&mut r);
    let dy = uniform(&mut r, -1.0, 1.0);
    check_layer::<Relu<12>, 12, 12>("Relu<12>", &Relu::ZEROED, &[Op::Relu], &x, &dy, LAYER_TOL);
}

#[test]
fn leaky_relu() {
    let mut r = rng(6);
    let x = away_from_zero(&mut r);
    let dy = uniform(&mut r, -1.0, 1.0);
    // the slope of the reference is written out, not taken from the core's constant
    let (l, ops) = (LeakyRelu::<12, 200>::ZEROED, [Op::LeakyRelu(0.2)]);
    check_layer("LeakyRelu<12, 200>", &l, &ops, &x, &dy, LAYER_TOL);
    let (l, ops) = (LeakyRelu::<12>::ZEROED, [Op::LeakyRelu(0.01)]);
    check_layer("LeakyRelu<12>", &l, &ops, &x, &dy, LAYER_TOL);
}

#[test]
fn tanh() {
    let mut r = rng(7);
    // out to ±4, where 1 - y² is small and computed from a y rounded near ±1
    let x = uniform(&mut r, -4.0, 4.0);
    let dy = uniform(&mut r, -1.0, 1.0);
    check_layer::<Tanh<12>, 12, 12>("Tanh<12>", &Tanh::ZEROED, &[Op::Tanh], &x, &dy, LAYER_TOL);
}

#[test]
fn sigmoid() {
    let mut r = rng(8);
    let x = uniform(&mut r, -6.0, 6.0);
    let dy = uniform(&mut r, -1.0, 1.0);
    let ops = [Op::Sigmoid];
    check_layer::<Sigmoid<12>, 12, 12>("Sigmoid<12>", &Sigmoid::ZEROED, &ops, &x, &dy, LAYER_TOL);
}

/// Logits from confident-and-wrong through 0 to confident-and-right, for either side.
const LOGITS: [f32; 15] = [
    -60.0, -30.0, -12.0, -4.5, -1.25, -0.3, -1e-3, 0.0, 2e-3, 0.7, 1.5, 3.25, 9.0, 25.0, 70.0,
];

/// Checks a logistic loss (value and derivative) against its f64 reference at [`LOGITS`].
fn check_logistic(name: &str, f: impl Fn(f32) -> (f32, f32), reference: impl Fn(f64) -> f64) {
    for l in LOGITS {
        let (loss, dl) = f(l);
        let l64 = f64::from(l);
        let want = reference(l64);
        // a step relative to the logit keeps the rounding of the difference small where
        // the loss is as large as the logit
        let h = H * l64.abs().max(1.0);
        let numeric = (reference(l64 + h) - reference(l64 - h)) / (2.0 * h);
        let (loss, dl) = (f64::from(loss), f64::from(dl));
        println!("{name}({l}): loss {loss:e} vs {want:e}, d/dl {dl:e} vs {numeric:e}");
        assert!(
            (loss - want).abs() <= LOSS_TOL * want.abs(),
            "{name}({l}) = {loss:e}, reference {want:e}: relative error {:e} > {LOSS_TOL:e}",
            ((loss - want) / want).abs()
        );
        assert!(
            (dl - numeric).abs() <= DLOSS_ABS_TOL,
            "{name}'({l}) = {dl:e}, numeric {numeric:e}: error {:e} > {DLOSS_ABS_TOL:e}",
            (dl - numeric).abs()
        );
    }
}

#[test]
fn d_real() {
    // -ln σ(l)
    check_logistic("d_real", loss::d_real, |l| ref_softplus(-l));
}

#[test]
fn d_fake() {
    // -ln(1 - σ(l))
    check_logistic("d_fake", loss::d_fake, ref_softplus);
}

#[test]
fn generator_minimax() {
    // ln(1 - σ(l))
    check_logistic(
        "Minimax",
        |l| GeneratorLoss::Minimax.eval(l),
        |l| -ref_softplus(l),
    );
}

#[test]
fn generator_non_saturating() {
    // -ln σ(l)
    let f = |l| GeneratorLoss::NonSaturating.eval(l);
    check_logistic("NonSaturating", f, |l| ref_softplus(-l));
}

/// `-ln softmax(logits)[label]` in f64, by log-sum-exp around the largest logit.
fn ref_cross_entropy(logits: &[f64], label: usize) -> f64 {
    let max = logits.iter().fold(f64::NEG_INFINITY, |m, &l| m.max(l));
    let sum: f64 = logits.iter().map(|&l| (l - max).exp()).sum();
    sum.ln() + max - logits[label]
}

#[test]
fn softmax_cross_entropy() {
    const K: usize = 6;
    let mut r = rng(9);
    let spread: [f32; K] = uniform(&mut r, -3.0, 3.0);
    let cases: [(&str, [f32; K]); 3] = [
        ("spread", spread),
        // all near 100: exp would overflow without subtracting the maximum
        ("shifted by 100", spread.map(|l| l + 100.0)),
        // one class far ahead: probabilities near 0 and 1
        ("one dominant", [12.0, -1.0, 0.5, 2.0, -3.0, 1.0]),
    ];
    // Loss: ln of a sum of K exponentials (each within 1 ulp) that is at least 1, minus
    // a logit difference: a few u absolute, or relative for a loss above 1. That is
    // absolute, not relative, for a confident right answer: at "one dominant", label 0,
    // the sum is 1 + 7.5e-5 rounded to u, so the loss 7.5e-5 is off by 9e-4 relative
    // (PyTorch's float32 F.cross_entropy returns the same 7.486063e-5). So the bound is
    // 1e-6 ≈ 16u times max(|loss|, 1).
    // Gradient: softmax(l) - onehot, entries in [-1, 1], each a quotient of an expf by a
    // sum of K of them: about K·u absolute; 1e-6 again.
    const CE_TOL: f64 = 1e-6;
    for (case, logits) in cases {
        for label in 0..K {
            let mut dlogits = [0.0f32; K];
            let loss = loss::softmax_cross_entropy(&logits, label, &mut dlogits).unwrap();
            let l64 = widen(&logits);
            let want = ref_cross_entropy(&l64, label);
            let objective = |vars: &[Vec<f64>]| (ref_cross_entropy(&vars[0], label), Vec::new());
            let numeric = numeric_grads(std::slice::from_ref(&l64), &objective);
            let what = format!("softmax_cross_entropy {case}, label {label}");
            let err = (f64::from(loss) - want).abs() / want.abs().max(1.0);
            let d = diff(&widen(&dlogits), &numeric[0]);
            let (k, a, n) = (d.at, d.got, d.want);
            println!(
                "{what}: loss {loss:e} vs {want:e}, error {err:.3e}; largest dlogits error \
                 {:.3e} at [{k}]: analytic {a:e}, numeric {n:e}",
                (a - n).abs()
            );
            assert!(err <= CE_TOL, "{what}: loss {loss:e}, reference {want:e}");
            assert!(
                (a - n).abs() <= CE_TOL,
                "{what}: dlogits[{k}] analytic {a:e}, numeric {n:e}, error {:.3e}",
                (a - n).abs()
            );
        }
    }
}

// A small pair with every element-wise layer inside a chain. The Sigmoid hidden layer is
// unusual in a Discriminator; it is here so that Sigmoid's backward runs between two
// Linear layers.
const Z: usize = 3;
const X: usize = 5;
type SmallG = seq![Linear<Z, 8>, Relu<8>, Linear<8, X>, Tanh<X>];
type SmallD = seq![Linear<X, 8>, LeakyRelu<8, 200>, Linear<8, 6>, Sigmoid<6>, Linear<6, 1>];
const G_OPS: [Op; 4] = [Op::Linear, Op::Relu, Op::Linear, Op::Tanh];
const D_OPS: [Op; 5] = [
    Op::Linear,
    Op::LeakyRelu(0.2),
    Op::Linear,
    Op::Sigmoid,
    Op::Linear,
];

#[test]
fn generator_network() {
    let g: SmallG = init(10);
    let mut r = rng(11);
    let z = uniform(&mut r, -2.0, 2.0);
    let dy = uniform(&mut r, -1.0, 1.0);
    check_layer("SmallG", &g, &G_OPS, &z, &dy, NET_TOL);
}

#[test]
fn discriminator_network() {
    let d: SmallD = init(12);
    let mut r = rng(13);
    let x = uniform(&mut r, -1.0, 1.0);
    check_layer("SmallD", &d, &D_OPS, &x, &[1.0], NET_TOL);
}

/// Checks `Gan::dd` and `Gan::dg` after one step against central differences of the batch
/// losses, written in f64 over the very samples and noise the step drew, together with
/// the step's statistics.
fn check_gan_step(seed: u64, cfg: StepConfig) {
    let g: SmallG = init(seed);
    let d: SmallD = init(seed + 1);
    let mut gan = Gan::new(g, d, Frozen, Frozen);

    // one step, recording every real sample and noise vector in the order drawn
    let (mut data_rng, mut noise_rng) = (rng(seed + 2), rng(seed + 3));
    let (mut reals, mut noises) = (Vec::new(), Vec::new());
    let stats = gan
        .step(
            &cfg,
            |x: &mut [f32; X]| {
                *x = uniform(&mut data_rng, -1.0, 1.0);
                reals.push(widen(x));
            },
            |z: &mut [f32; Z]| {
                picogan::noise::gaussian(&mut noise_rng, z);
                noises.push(widen(z));
            },
        )
        .unwrap();

    // Gan::step's documented order: per D update, B real samples and B noise vectors;
    // then B noise vectors for the G update. Its gradients and d_loss are the last D
    // update's; d_real and d_fake the first's.
    let (b, k) = (cfg.batch as usize, cfg.d_steps as usize);
    assert_eq!((reals.len(), noises.len()), (k * b, (k + 1) * b));
    let last = (k - 1) * b..k * b;
    let (x_last, z_last, z_g) = (&reals[last.clone()], &noises[last], &noises[k * b..]);
    let (g_ref, d_ref) = (RefNet::of(&gan.g, &G_OPS), RefNet::of(&gan.d, &D_OPS));
    let inv_b = 1.0 / b as f64;

    // D loss as a function of D's parameters: mean sp(-D(x)) + mean sp(D(G(z)))
    let d_loss = |reals: &[Vec<f64>], noises: &[Vec<f64>], params: &[Vec<f64>]| {
        let mut d = d_ref.clone();
        d.params = params.to_vec();
        let mut kinks = Vec::new();
        let mut loss = 0.0;
        for (x, z) in reals.iter().zip(noises) {
            let fake = g_ref.forward(z, &mut kinks);
            loss += ref_softplus(-d.forward(x, &mut kinks)[0]) * inv_b;
            loss += ref_softplus(d.forward(&fake, &mut kinks)[0]) * inv_b;
        }
        (loss, kinks)
    };
    // G loss as a function of G's parameters, through the fixed D
    let objective = cfg.g_loss;
    let g_loss = |params: &[Vec<f64>]| {
        let mut g = g_ref.clone();
        g.params = params.to_vec();
        let mut kinks = Vec::new();
        let mut loss = 0.0;
        for z in z_g {
            let l = d_ref.forward(&g.forward(z, &mut kinks), &mut kinks)[0];
            loss += match objective {
                GeneratorLoss::Minimax => -ref_softplus(l),
                GeneratorLoss::NonSaturating => ref_softplus(-l),
            } * inv_b;
        }
        (loss, kinks)
    };
    // mean D(x) and D(G(z)) over the first D update's samples
    let mean_d = |samples: &[Vec<f64>], through_g: bool| {
        let sum: f64 = samples
            .iter()
            .map(|s| {
                let x = if through_g {
                    g_ref.forward(s, &mut Vec::new())
                } else {
                    s.clone()
                };
                ref_sigmoid(d_ref.forward(&x, &mut Vec::new())[0])
            })
            .sum();
        sum * inv_b
    };

    // statistics
    let name = format!("Gan::step {:?}, k = {k}, B = {b}", cfg.g_loss);
    let scalars = [
        (
            "d_loss",
            stats.d_loss,
            d_loss(x_last, z_last, &d_ref.params).0,
        ),
        ("g_loss", stats.g_loss, g_loss(&g_ref.params).0),
        ("d_real", stats.d_real, mean_d(&reals[..b], false)),
        ("d_fake", stats.d_fake, mean_d(&noises[..b], true)),
    ];
    for (what, got, want) in scalars {
        check(
            &format!("{name} {what}"),
            &[f64::from(got)],
            &[want],
            FORWARD_TOL,
        );
    }

    // gradients
    let numeric = numeric_grads(&d_ref.params, &|p| d_loss(x_last, z_last, p));
    for (t, n) in numeric.iter().enumerate() {
        let what = format!("{name} dd[{}]", tensor_name::<SmallD>(t));
        check(&what, &widen(gan.dd.tensor(t)), n, NET_TOL);
    }
    let numeric = numeric_grads(&g_ref.params, &g_loss);
    for (t, n) in numeric.iter().enumerate() {
        let what = format!("{name} dg[{}]", tensor_name::<SmallG>(t));
        check(&what, &widen(gan.dg.tensor(t)), n, NET_TOL);
    }
}

#[test]
fn gan_step_non_saturating() {
    let cfg = StepConfig {
        batch: 5,
        d_steps: 1,
        g_loss: GeneratorLoss::NonSaturating,
    };
    check_gan_step(20, cfg);
}

#[test]
fn gan_step_minimax_two_d_updates() {
    // k = 2: the gradients left in `dd` are the second D update's, on the second batch
    let cfg = StepConfig {
        batch: 3,
        d_steps: 2,
        g_loss: GeneratorLoss::Minimax,
    };
    check_gan_step(30, cfg);
}
