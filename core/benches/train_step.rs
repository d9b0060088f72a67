//! Time of one adversarial step, [`Gan::step`], on the host.
//!
//! Adam on both networks (lr 2e-4, β = (0.5, 0.999)), one Discriminator update per
//! Generator update, non-saturating Generator loss: `StepConfig::DEFAULT` with the batch
//! size varied. Each iteration is one whole step, so criterion's `elem/s` reads as steps
//! per second. `tools/bench_torch.py` times the same step in PyTorch.
//!
//! ```text
//! cargo bench -p picogan --bench train_step
//! cargo bench -p picogan --bench train_step -- seed/   # one pair only
//! ```
//!
//! Dimensions: `Z` noise width, `X` data width, `B` batch size.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use picogan::models::{SeedDiscriminator, SeedGenerator, SmallDiscriminator, SmallGenerator};
use picogan::optim::{Adam, AdamConfig};
use picogan::rand_core::SeedableRng;
use picogan::{Gan, Init, Layer, StepConfig, Vector};
use rand_xoshiro::Xoshiro128PlusPlus;
use std::hint::black_box;
use std::time::Duration;

/// Number of distinct real samples the `real` callback cycles through.
const REAL_SAMPLES: usize = 256;

/// A GAN with Adam on both sides, boxed: the seed pair's parameters, gradients and two Adam
/// moments come to 4 × 214,673 f32, about 3.4 MB, too much to move around on the stack.
type AdamGan<G, D> = Box<Gan<G, D, Adam<G>, Adam<D>>>;

/// Builds a freshly initialised pair, seeded so that every run times the same numbers.
///
/// `Gan::new` returns the whole GAN by value, so it passes through the stack on its way
/// into the box: the seed pair needs 3–4 MiB of stack in an optimised build and 5–6 MiB in
/// an unoptimised one, close to a main thread's usual 8 MiB. A thread with a stack of its
/// own builds it instead.
fn adam_gan<G, D>() -> AdamGan<G, D>
where
    G: Layer<Scalar = f32> + 'static,
    D: Layer<Scalar = f32, Input = G::Output, Output = [f32; 1]> + 'static,
    AdamGan<G, D>: Send,
{
    const STACK: usize = 64 << 20;
    let build = || {
        // the networks start zeroed inside the box and are initialised in place there
        let cfg = AdamConfig::GAN;
        let mut gan = Box::new(Gan::new(
            G::ZEROED,
            D::ZEROED,
            Adam::new(cfg),
            Adam::new(cfg),
        ));
        let mut rng = Xoshiro128PlusPlus::seed_from_u64(1);
        gan.g.init(Init::PyTorchDefault, &mut rng);
        gan.d.init(Init::PyTorchDefault, &mut rng);
        gan
    };
    std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(build)
        .expect("spawn the builder thread")
        .join()
        .expect("build the GAN")
}

/// Times `Gan::step` for the pair `G`, `D` at each batch size in `batches`.
fn bench_pair<G, D>(c: &mut Criterion, pair: &str, batches: &[u32], sample_size: usize)
where
    G: Layer<Scalar = f32> + 'static,
    D: Layer<Scalar = f32, Input = G::Output, Output = [f32; 1]> + 'static,
    AdamGan<G, D>: Send,
{
    // real samples: [REAL_SAMPLES][X], uniform on [-1, 1) like images scaled for a Tanh
    let x_len = D::Input::LEN;
    let mut data_rng = Xoshiro128PlusPlus::seed_from_u64(3);
    let mut real = vec![0.0f32; REAL_SAMPLES * x_len];
    picogan::noise::uniform(&mut data_rng, &mut real);

    let mut group = c.benchmark_group("train_step");
    group
        .sample_size(sample_size)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(1));
    for &batch in batches {
        let mut gan = adam_gan::<G, D>();
        let cfg = StepConfig {
            batch,
            ..StepConfig::DEFAULT
        };
        let mut noise_rng = Xoshiro128PlusPlus::seed_from_u64(2);
        let mut next = 0;
        group.bench_function(BenchmarkId::new(pair, format!("b{batch}")), |bench| {
            bench.iter(|| {
                let stats = gan
                    .step(
                        &cfg,
                        |x: &mut D::Input| {
                            x.as_mut_slice()
                                .copy_from_slice(&real[next * x_len..][..x_len]);
                            next = (next + 1) % REAL_SAMPLES;
                        },
                        |z: &mut G::Input| {
                            picogan::noise::gaussian(&mut noise_rng, z.as_mut_slice())
                        },
                    )
                    .expect("batch is at least 1");
                black_box(stats)
            })
        });

        // a diverged run would time NaN arithmetic, which is not what the figures claim
        assert!(
            gan.g.is_finite() && gan.d.is_finite(),
            "{pair} b{batch} diverged"
        );
    }
    group.finish();
}

/// The seed pair: 100 → 128 → 784 and 784 → 128 → 1, 214,673 parameters.
fn seed(c: &mut Criterion) {
    // a batch-64 step takes tens of milliseconds: ten samples fit in the 5 s budget
    bench_pair::<SeedGenerator, SeedDiscriminator>(c, "seed", &[1, 64], 10);
}

/// The small pair for 8×8 images: 16 → 64 → 64 and 64 → 64 → 1, 9,473 parameters.
fn small(c: &mut Criterion) {
    bench_pair::<SmallGenerator<64>, SmallDiscriminator<64>>(c, "small64", &[1, 64], 50);
}

criterion_group!(benches, seed, small);
criterion_main!(benches);
