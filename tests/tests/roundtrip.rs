//! Weights written by the desktop and read by the core come back bit for bit, for every
//! network the core ships and every f32 bit pattern a weight can hold; and no mangling of
//! a file makes the reader panic or half-load a network.

use picogan::models::*;
use picogan::safetensors::{File, LoadOptions};
use picogan::{Layer, Vector};
use picogan_host::train::Arch;
use picogan_host::weights::{self, Builder, FileBytes, ModelInfo};
use proptest::prelude::*;
use rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro128PlusPlus;

/// Fills `net` with finite f32 values drawn from the whole bit-pattern space (subnormals,
/// both zeros and the extremes included), with `special` of every 8 values picked from
/// the edge cases.
fn fill<L: Layer<Scalar = f32>>(net: &mut L, seed: u64, special: u32) {
    const EDGES: [f32; 8] = [
        0.0,
        -0.0,
        f32::MIN_POSITIVE,
        -f32::MIN_POSITIVE / 4.0, // subnormal
        f32::MAX,
        f32::MIN,
        1.0,
        f32::EPSILON,
    ];
    let mut rng = Xoshiro128PlusPlus::seed_from_u64(seed);
    for i in 0..L::TENSORS {
        for v in net.tensor_mut(i) {
            *v = if rng.next_u32() % 8 < special {
                EDGES[(rng.next_u32() % 8) as usize]
            } else {
                loop {
                    let x = f32::from_bits(rng.next_u32());
                    if x.is_finite() {
                        break x;
                    }
                }
            };
        }
    }
}

fn same_bits<L: Layer<Scalar = f32>>(a: &L, b: &L) -> bool {
    (0..L::TENSORS).all(|i| {
        a.tensor(i)
            .iter()
            .zip(b.tensor(i))
            .all(|(x, y)| x.to_bits() == y.to_bits())
    })
}

/// Writes `net` as a Generator file and as a checkpoint section, reads both back with the
/// core's reader, and checks every bit; and runs a network in place from its file.
fn round_trip<L: Layer<Scalar = f32>>(seed: u64, special: u32) -> Result<(), TestCaseError> {
    let mut net = Box::new(L::ZEROED);
    fill(&mut *net, seed, special);
    let info = ModelInfo {
        dataset: "digits".into(),
        arch: "small".into(),
        role: "generator".into(),
    };

    let bytes = FileBytes::new(&weights::to_bytes(&*net, &info).unwrap());
    let file = File::parse(&bytes).unwrap();
    prop_assert!(file.checksum().is_some());
    let mut back = Box::new(L::ZEROED);
    file.load_into(&mut *back, &LoadOptions::STRICT).unwrap();
    prop_assert!(same_bits(&*net, &*back));

    // run in place, straight from the file's bytes, the network computes the same bits;
    // moderate weights, so that the outputs are finite numbers worth comparing
    let mut moderate = Box::new(L::ZEROED);
    moderate.init(
        picogan::Init::PyTorchDefault,
        &mut Xoshiro128PlusPlus::seed_from_u64(seed),
    );
    let bytes = FileBytes::new(&weights::to_bytes(&*moderate, &info).unwrap());
    let file = File::parse(&bytes).unwrap();
    let in_place = file.view::<L>(&LoadOptions::STRICT).unwrap();
    let mut x = L::Input::ZERO;
    picogan::noise::gaussian(
        &mut Xoshiro128PlusPlus::seed_from_u64(!seed),
        x.as_mut_slice(),
    );
    let (mut a, mut b) = (L::Output::ZERO, L::Output::ZERO);
    in_place.infer(&x, &mut a);
    moderate.infer(&x, &mut b);
    let bits = |y: &L::Output| y.as_slice().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    prop_assert_eq!(bits(&a), bits(&b));

    let mut ckpt = Builder::new();
    ckpt.network("generator.", &*net)
        .network("discriminator.", &*net);
    let bytes = FileBytes::new(&ckpt.to_bytes().unwrap());
    let file = File::parse(&bytes).unwrap();
    let mut back = Box::new(L::ZEROED);
    let opts = LoadOptions {
        prefix: "discriminator.",
        ..LoadOptions::STRICT
    };
    file.load_into(&mut *back, &opts).unwrap();
    prop_assert!(same_bits(&*net, &*back));
    Ok(())
}

proptest! {
    // the small networks take many cases; the seed-sized ones (100,000 weights) fewer
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn small_networks_round_trip(seed in any::<u64>(), special in 0u32..=8) {
        round_trip::<TinyPointsGenerator>(seed, special)?;
        round_trip::<TinyPointsDiscriminator>(seed, special)?;
        round_trip::<PointsGenerator>(seed, special)?;
        round_trip::<PointsDiscriminator>(seed, special)?;
        round_trip::<SmallGenerator<64>>(seed, special)?;
        round_trip::<SmallDiscriminator<64>>(seed, special)?;
        round_trip::<SeedShapedGenerator<64>>(seed, special)?;
        round_trip::<SeedShapedDiscriminator<64>>(seed, special)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    #[test]
    fn image_networks_round_trip(seed in any::<u64>(), special in 0u32..=8) {
        round_trip::<SmallGenerator<784>>(seed, special)?;
        round_trip::<SmallDiscriminator<784>>(seed, special)?;
        round_trip::<SeedGenerator>(seed, special)?;
        round_trip::<SeedDiscriminator>(seed, special)?;
    }
}

/// A small valid file to mangle.
fn tiny_file() -> (Vec<u8>, Box<TinyPointsGenerator>) {
    let mut g = Box::new(TinyPointsGenerator::ZEROED);
    fill(&mut *g, 7, 2);
    let info = ModelInfo {
        dataset: "ring8".into(),
        arch: "tiny".into(),
        role: "generator".into(),
    };
    (weights::to_bytes(&*g, &info).unwrap(), g)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    /// Flipped bytes, cut ends and inserted bytes: the reader never panics, and a file it
    /// refuses leaves the target as it was.
    #[test]
    fn mangled_files_never_panic_or_half_load(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..4),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let (good, g) = tiny_file();
        let mut bytes = good.clone();
        for (at, value, kind) in &edits {
            let i = at.index(bytes.len());
            match kind {
                0 => bytes[i] ^= value | 1,
                1 => bytes[i] = *value,
                _ => bytes.insert(i, *value),
            }
        }
        if let Some(at) = cut {
            bytes.truncate(at.index(bytes.len()));
        }
        let bytes = FileBytes::new(&bytes);

        let mut target = Box::new(TinyPointsGenerator::ZEROED);
        fill(&mut *target, 99, 0);
        let before = target.clone();
        let parsed = File::parse(&bytes);
        let loaded = parsed
            .as_ref()
            .map_err(|_| ())
            .and_then(|f| f.load_into(&mut *target, &LoadOptions::STRICT).map_err(|_| ()));
        match (parsed, loaded) {
            (Err(_), _) | (_, Err(())) => prop_assert!(same_bits(&*target, &*before)),
            (Ok(f), Ok(())) => {
                // a file that kept the original checksum kept the original data (the
                // checksum matched it), so the network holds the original weights; a
                // file that lost its checksum field loads unverified, which is why the
                // firmware requires one
                let good = FileBytes::new(&good);
                let original = File::parse(&good).unwrap();
                if f.checksum() == original.checksum() {
                    prop_assert_eq!(f.data(), original.data());
                    prop_assert!(same_bits(&*target, &*g));
                }
            }
        };
    }
}

/// `picogan export` then `picogan import` (the library functions behind them) give back
/// the Generator bit for bit.
fn export_import<L: Layer<Scalar = f32>>(
    dataset: &str,
    arch: Arch,
    seed: u64,
) -> Result<(), TestCaseError> {
    use picogan_host::import::{export, import, ImportOptions};
    let dir = tempfile::tempdir().unwrap();
    let mut g = Box::new(L::ZEROED);
    fill(&mut *g, seed, 2);
    let mut ckpt = Builder::new();
    ckpt.network("generator.", &*g)
        .metadata("format", weights::FORMAT_CHECKPOINT)
        .metadata("dataset", dataset)
        .metadata("arch", arch.name());
    let first = dir.path().join("first.safetensors");
    weights::write_atomic(&first, &ckpt.to_bytes().unwrap()).unwrap();

    let exported = dir.path().join("generator.safetensors");
    export(&first, &exported).unwrap();
    let second = dir.path().join("second.safetensors");
    import(&ImportOptions {
        from: exported,
        arch,
        dataset: None,
        role: None,
        renames: Vec::new(),
        allow_extra: false,
        round_f64: false,
        out: second.clone(),
    })
    .unwrap();

    let bytes = FileBytes::read(&second).unwrap();
    let file = weights::open(&bytes, "second").unwrap();
    let mut back = Box::new(L::ZEROED);
    let opts = LoadOptions {
        prefix: "generator.",
        ..LoadOptions::STRICT
    };
    file.load_into(&mut *back, &opts).unwrap();
    prop_assert!(same_bits(&*g, &*back));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    #[test]
    fn export_then_import_round_trips(seed in any::<u64>()) {
        export_import::<TinyPointsGenerator>("ring8", Arch::Tiny, seed)?;
        export_import::<PointsGenerator>("grid25", Arch::Small, seed)?;
        export_import::<SmallGenerator<64>>("digits", Arch::Small, seed)?;
        export_import::<SeedShapedGenerator<64>>("digits", Arch::Seed, seed)?;
        export_import::<SmallGenerator<784>>("idx", Arch::Small, seed)?;
        export_import::<SeedGenerator>("idx", Arch::Seed, seed)?;
    }
}
