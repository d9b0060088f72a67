//! picogan against PyTorch on the seed pair (`SeedGenerator`, `SeedDiscriminator`): forward
//! passes, losses, every gradient, ten Adam steps and two steps of SGD with momentum.
//!
//! The fixture `golden/seed_pair.safetensors` comes from `golden/make_golden.py` (its header
//! lists the contents). PyTorch computed every reference in float64 from the float32
//! weights, samples and noise that picogan reads here, so the differences below are
//! picogan's own float32 error, plus at most 2⁻²⁴ relative from storing the references as
//! float32.
//!
//! Dimensions: `B` samples per minibatch, `S` steps, `Z` = 100 noise values, `X` = 784
//! pixels.
//!
//! # How a difference is measured
//!
//! Per tensor, `e = max_i |a_i - b_i| / max_i |b_i|`, picogan's `a` against PyTorch's `b`,
//! in f64: the largest error relative to the tensor's largest value. Elementwise relative
//! error would be the wrong yardstick: an element of a sum that cancels (a gradient summed
//! over the batch, a dot product) carries the rounding error of its terms, not of its own
//! size. Every row printed shows the element with the largest error, its index, both
//! values and, for scale, PyTorch's own float32 error under the same measure (stored by the
//! script).
//!
//! # Tolerances
//!
//! [`TOL`] = 1e-5 for forward values, losses, gradients, statistics and trained weights.
//! Each is a few nested dot products of up to 784 terms rounded in f32 (u = 2⁻²⁴ ≈ 6e-8);
//! the 8-lane kernel adds about 100 terms in sequence per lane, so the worst case for one
//! sum is about 100·u ≈ 6e-6 relative to the sum of its terms' magnitudes. Measured: at
//! most 6e-7 for forward values, losses and gradients (margin 15 or more), and 4.5e-6 for
//! the trained weights, on one element of `g.fc.2.weight` whose first Adam gradient is as
//! small as ε (see [`DELTA_TOL`]); PyTorch's own float32 run is off by 5.6e-6 there. A
//! wrong derivative, a missing 1/B or a wrong sign gives `e` of 1e-3 or more.
//!
//! Trained weights are also checked by their displacement from the initial weights, 15 to
//! 400 times smaller than the weights, which shows an error in an update rule that much
//! more clearly; its tolerance is [`DELTA_TOL`].

use picogan::models::{SeedDiscriminator, SeedGenerator, SEED_Z};
use picogan::optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig};
use picogan::{Gan, GeneratorLoss, Layer, StepConfig, StepStats};
use picogan_tests::{diff, Frozen};
use safetensors::{Dtype, SafeTensors};
use std::collections::HashMap;

type G = SeedGenerator;
type D = SeedDiscriminator;
const X: usize = 784;

/// Largest `e` for forward values, losses, gradients and trained weights (see the module
/// documentation).
const TOL: f64 = 1e-5;

/// Largest `e` for the displacement of the weights over a training run, relative to the
/// largest displacement. Two effects set its floor, both as large in PyTorch's float32 run:
///
/// - Each step rounds every weight to f32, half an ulp of the weight, up to S·2⁻²⁵·|w|:
///   3.3e-5 of the displacement in the SGD run, where the Generator barely moves.
/// - Adam's update `lr·m̂/(√v̂ + ε)` amplifies the relative error of a gradient as small as
///   ε = 1e-8, and a gradient that small is mostly cancellation in the batch sum, so its
///   relative error is large: 1.6e-4 on `adam.delta.g.fc.2.weight` (PyTorch: 2.0e-4).
///
/// 1e-3 is five times the largest; an update rule off by 0.1% of its step exceeds it.
const DELTA_TOL: f64 = 1e-3;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/golden/seed_pair.safetensors");

/// The seed pair needs about 6 MB for weights, gradients and Adam state: more than a test
/// thread's default stack.
const STACK: usize = 64 << 20;

/// Every tensor of the fixture as f64, with its shape, and the script's metadata.
struct Fixture {
    tensors: HashMap<String, (Vec<usize>, Vec<f64>)>,
    meta: HashMap<String, String>,
}

impl Fixture {
    fn load() -> Fixture {
        let bytes = std::fs::read(FIXTURE)
            .unwrap_or_else(|e| panic!("{FIXTURE}: {e}; run golden/make_golden.py"));
        let st = SafeTensors::deserialize(&bytes).expect("fixture is not a safetensors file");
        let mut tensors = HashMap::new();
        for (name, view) in st.iter() {
            let data = match view.dtype() {
                Dtype::F32 => view
                    .data()
                    .chunks_exact(4)
                    .map(|c| f64::from(f32::from_le_bytes(c.try_into().unwrap())))
                    .collect(),
                Dtype::F64 => view
                    .data()
                    .chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
                    .collect(),
                other => panic!("{name}: unexpected dtype {other:?}"),
            };
            tensors.insert(name.to_string(), (view.shape().to_vec(), data));
        }
        let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
        let meta = header.metadata().clone().unwrap_or_default();
        Fixture { tensors, meta }
    }

    fn get(&self, name: &str) -> &[f64] {
        &self.entry(name).1
    }

    fn shape(&self, name: &str) -> &[usize] {
        &self.entry(name).0
    }

    fn entry(&self, name: &str) -> &(Vec<usize>, Vec<f64>) {
        self.tensors
            .get(name)
            .unwrap_or_else(|| panic!("fixture has no tensor {name}"))
    }

    /// One scalar, stored as a one-element tensor.
    fn scalar(&self, name: &str) -> f64 {
        let v = self.get(name);
        assert_eq!(v.len(), 1, "{name} is not a scalar");
        v[0]
    }

    /// Sample `i` of step `t` of a `[S, B, N]` tensor, as the f32 values PyTorch started
    /// from (they were f32 before they were widened, so this narrowing is exact).
    fn sample<const N: usize>(&self, name: &str, t: usize, i: usize) -> [f32; N] {
        let &[_, b, n] = self.shape(name) else {
            panic!("{name} is not [S, B, N]");
        };
        assert_eq!(n, N, "{name}: width");
        let start = (t * b + i) * n;
        core::array::from_fn(|j| self.get(name)[start + j] as f32)
    }

    /// Minibatch size `B`.
    fn batch(&self) -> usize {
        self.shape("real")[1]
    }

    /// The parameters stored under `prefix` (`g` or `d`), named as `nn.Sequential` names them.
    fn net<L: Layer<Scalar = f32>>(&self, prefix: &str) -> L {
        let mut net = L::ZEROED;
        for t in 0..L::TENSORS {
            let name = tensor_name::<L>(prefix, t);
            let info = L::tensor_info(t).unwrap();
            assert_eq!(self.shape(&name), info.shape(), "{name}: shape");
            for (p, &v) in net.tensor_mut(t).iter_mut().zip(self.get(&name)) {
                *p = v as f32;
            }
        }
        net
    }

    /// PyTorch's own float32 error for `name`, as the script measured it.
    fn torch_f32_error(&self, name: &str) -> &str {
        self.meta
            .get(&format!("torch_f32_error.{name}"))
            .map_or("-", String::as_str)
    }
}

/// `prefix.fc.<layer>.<weight|bias>` for parameter tensor `t` of `L`.
fn tensor_name<L: Layer<Scalar = f32>>(prefix: &str, t: usize) -> String {
    let info = L::tensor_info(t).unwrap();
    format!("{prefix}.fc.{}.{}", info.layer, info.kind.name())
}

/// Runs `gan.step` on step `t` of the fixture's data: `real[t]` for the real samples,
/// then `noise_d[t]` for the Discriminator update and `noise_g[t]` for the Generator's,
/// which is the order `Gan::step` documents for its noise calls.
fn step_on<OG: Optimizer<G>, OD: Optimizer<D>>(
    gan: &mut Gan<G, D, OG, OD>,
    fx: &Fixture,
    t: usize,
    g_loss: GeneratorLoss,
) -> StepStats {
    let b = fx.batch();
    let cfg = StepConfig {
        batch: b as u32,
        d_steps: 1,
        g_loss,
    };
    let (mut n_real, mut n_noise) = (0, 0);
    let stats = gan
        .step(
            &cfg,
            |x: &mut [f32; X]| {
                *x = fx.sample("real", t, n_real);
                n_real += 1;
            },
            |z: &mut [f32; SEED_Z]| {
                *z = if n_noise < b {
                    fx.sample("noise_d", t, n_noise)
                } else {
                    fx.sample("noise_g", t, n_noise - b)
                };
                n_noise += 1;
            },
        )
        .unwrap();
    assert_eq!(
        (n_real, n_noise),
        (b, 2 * b),
        "Gan::step drew {n_real} real samples and {n_noise} noise vectors"
    );
    stats
}

/// `[i, j, ...]` for flat index `i` of a tensor of the given shape.
fn unravel(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for (k, &n) in shape.iter().enumerate().rev() {
        idx[k] = i % n.max(1);
        i /= n.max(1);
    }
    idx
}

/// A table of comparisons; fails at the end, after every row has been printed.
struct Report<'a> {
    fx: &'a Fixture,
    rows: Vec<String>,
    failures: Vec<String>,
}

impl<'a> Report<'a> {
    fn new(fx: &'a Fixture) -> Self {
        Report {
            fx,
            rows: Vec::new(),
            failures: Vec::new(),
        }
    }

    /// Compares `got` with the fixture's tensor `name` (shape taken from the fixture).
    fn tensor(&mut self, name: &str, got: &[f64], tol: f64) {
        let (shape, want) = self.fx.entry(name);
        self.check(name, name, shape, got, want, tol);
    }

    /// Compares `got` with `want`; `key` names PyTorch's own float32 error in the
    /// fixture's metadata, `label` the row.
    fn check(
        &mut self,
        label: &str,
        key: &str,
        shape: &[usize],
        got: &[f64],
        want: &[f64],
        tol: f64,
    ) {
        let d = diff(got, want);
        let row = format!(
            "{label:30} e {:9.3e} (tol {tol:.0e}; PyTorch f32 {:>9})  max |a-b| {:9.3e} at {:?}: \
             picogan {:.9e}, PyTorch {:.9e}",
            d.e,
            self.fx.torch_f32_error(key),
            d.max_abs,
            unravel(d.at, shape),
            d.got,
            d.want
        );
        if d.e.is_nan() || d.e > tol {
            self.failures.push(row.clone());
        }
        self.rows.push(row);
    }

    fn finish(self, title: &str) {
        println!("{title}:");
        for r in &self.rows {
            println!("  {r}");
        }
        assert!(
            self.failures.is_empty(),
            "{title}: {} of {} comparisons out of tolerance:\n  {}",
            self.failures.len(),
            self.rows.len(),
            self.failures.join("\n  ")
        );
    }
}

fn widen(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| f64::from(x)).collect()
}

/// Compares every parameter tensor of `net` with `<prefix>.fc.*` in the fixture.
fn check_tensors<L: Layer<Scalar = f32>>(r: &mut Report, net: &L, prefix: &str, tol: f64) {
    for t in 0..L::TENSORS {
        r.tensor(&tensor_name::<L>(prefix, t), &widen(net.tensor(t)), tol);
    }
}

/// Runs `f` on a thread with a stack large enough for the seed pair's `Gan`.
fn with_big_stack(f: impl FnOnce() + Send + 'static) {
    let handle = std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(f)
        .unwrap();
    if let Err(panic) = handle.join() {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn forward_passes() {
    with_big_stack(|| {
        let fx = Fixture::load();
        let g: G = fx.net("g");
        let d: D = fx.net("d");
        let b = fx.batch();
        let (mut fake, mut logit_real, mut logit_fake) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..b {
            let z: [f32; SEED_Z] = fx.sample("noise_d", 0, i);
            let x: [f32; X] = fx.sample("real", 0, i);
            let mut y = [0.0f32; X];
            let mut l = [0.0f32];
            g.infer(&z, &mut y);
            fake.extend(widen(&y));
            // D on picogan's own G(z), so that this is the whole pipeline
            d.infer(&y, &mut l);
            logit_fake.push(f64::from(l[0]));
            d.infer(&x, &mut l);
            logit_real.push(f64::from(l[0]));
        }
        let mut r = Report::new(&fx);
        r.tensor("fake", &fake, TOL);
        r.tensor("logit_real", &logit_real, TOL);
        r.tensor("logit_fake", &logit_fake, TOL);
        r.finish("forward passes at the initial weights");
    });
}

#[test]
fn losses_and_gradients() {
    with_big_stack(|| {
        let fx = Fixture::load();
        let mut gan = Gan::new(fx.net::<G>("g"), fx.net::<D>("d"), Frozen, Frozen);
        let mut r = Report::new(&fx);
        let scalar = |r: &mut Report, name: &str, got: f32| {
            r.check(name, name, &[], &[f64::from(got)], &[fx.scalar(name)], TOL);
        };

        // non-saturating Generator loss: D loss, D's outputs and both networks' gradients
        let s = step_on(&mut gan, &fx, 0, GeneratorLoss::NonSaturating);
        scalar(&mut r, "d_loss", s.d_loss);
        scalar(&mut r, "d_real", s.d_real);
        scalar(&mut r, "d_fake", s.d_fake);
        scalar(&mut r, "g_loss_ns", s.g_loss);
        check_tensors(&mut r, &gan.dd, "grad.d", TOL);
        check_tensors(&mut r, &gan.dg, "grad_ns.g", TOL);

        // minimax Generator loss on the same noise; the weights have not moved
        let s = step_on(&mut gan, &fx, 0, GeneratorLoss::Minimax);
        scalar(&mut r, "g_loss_minimax", s.g_loss);
        check_tensors(&mut r, &gan.dg, "grad_minimax.g", TOL);
        r.finish("losses and gradients at the initial weights");
    });
}

/// Trains from the fixture's initial weights for as many steps as `<run>.stats` has rows
/// and compares the statistics of every step and the final weights.
fn check_training<OG: Optimizer<G>, OD: Optimizer<D>>(
    fx: &Fixture,
    run: &str,
    g_opt: OG,
    d_opt: OD,
    g_loss: GeneratorLoss,
) {
    let g0: G = fx.net("g");
    let d0: D = fx.net("d");
    let mut gan = Gan::new(g0, d0, g_opt, d_opt);
    let stats_name = format!("{run}.stats");
    let &[steps, 4] = fx.shape(&stats_name) else {
        panic!("{stats_name} is not [S, 4]");
    };
    let mut stats = Vec::new();
    for t in 0..steps {
        let s = step_on(&mut gan, fx, t, g_loss);
        stats.push([s.d_loss, s.g_loss, s.d_real, s.d_fake].map(f64::from));
    }

    let mut r = Report::new(fx);
    let want = fx.get(&stats_name);
    for (c, col) in ["d_loss", "g_loss", "d_real", "d_fake"].iter().enumerate() {
        let got: Vec<f64> = stats.iter().map(|row| row[c]).collect();
        let want: Vec<f64> = (0..steps).map(|t| want[t * 4 + c]).collect();
        let label = format!("{stats_name}[:, {c}] ({col})");
        r.check(&label, &stats_name, &[steps], &got, &want, TOL);
    }
    check_trained(&mut r, run, "g", &g0, &gan.g);
    check_trained(&mut r, run, "d", &d0, &gan.d);
    r.finish(&format!("{steps} steps of {run}"));
}

/// Compares the trained weights (against initial + PyTorch's displacement) and the
/// displacement itself.
fn check_trained<L: Layer<Scalar = f32>>(r: &mut Report, run: &str, prefix: &str, w0: &L, w: &L) {
    for t in 0..L::TENSORS {
        let name = format!("{run}.{}", tensor_name::<L>(prefix, t));
        let delta_name = format!("{run}.delta.{}", tensor_name::<L>(prefix, t));
        let (shape, want_delta) = r.fx.entry(&delta_name);
        let got = widen(w.tensor(t));
        let got_delta: Vec<f64> = got
            .iter()
            .zip(w0.tensor(t))
            .map(|(a, &b)| a - f64::from(b))
            .collect();
        let want: Vec<f64> = w0
            .tensor(t)
            .iter()
            .zip(want_delta)
            .map(|(&b, d)| f64::from(b) + d)
            .collect();
        r.check(&name, &name, shape, &got, &want, TOL);
        r.check(
            &delta_name,
            &delta_name,
            shape,
            &got_delta,
            want_delta,
            DELTA_TOL,
        );
    }
}

#[test]
fn adam_training() {
    with_big_stack(|| {
        let fx = Fixture::load();
        let adam = AdamConfig::GAN;
        let (g_opt, d_opt) = (Adam::<G>::new(adam), Adam::<D>::new(adam));
        check_training(&fx, "adam", g_opt, d_opt, GeneratorLoss::NonSaturating);
    });
}

#[test]
fn sgd_momentum_training() {
    with_big_stack(|| {
        let fx = Fixture::load();
        let sgd = SgdConfig::DEFAULT;
        let (g_opt, d_opt) = (Sgd::<G>::new(sgd), Sgd::<D>::new(sgd));
        check_training(&fx, "sgd", g_opt, d_opt, GeneratorLoss::Minimax);
    });
}
