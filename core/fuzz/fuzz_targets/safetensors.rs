//! Any bytes given to the safetensors reader: `File::parse` refuses them with an error or
//! accepts them, never panics; what it accepts can be read in full; a load that fails
//! leaves the network as it was; and a network run in place computes what it computes
//! loaded.

#![no_main]

use libfuzzer_sys::fuzz_target;
use picogan::models::TinyPointsGenerator;
use picogan::safetensors::{File, LoadOptions, CHECKSUM_KEY};
use picogan::{Layer, Linear, Vector};

/// The option combinations each accepted file is loaded with.
const OPTIONS: [LoadOptions<'static>; 4] = [
    LoadOptions::STRICT,
    LoadOptions {
        prefix: "",
        renames: &[],
        allow_extra: true,
        round_f64: true,
    },
    LoadOptions {
        prefix: "generator.",
        renames: &[],
        allow_extra: false,
        round_f64: true,
    },
    LoadOptions {
        prefix: "",
        renames: &[("net.", "fc."), ("generator.", "")],
        allow_extra: true,
        round_f64: false,
    },
];

fuzz_target!(|data: &[u8]| {
    // an 8-aligned copy, so that alignment refuses only what the file itself misplaces
    let mut words = vec![0u64; data.len().div_ceil(8)];
    bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..data.len()].copy_from_slice(data);
    let bytes = &bytemuck::cast_slice::<u64, u8>(&words)[..data.len()];

    let Ok(file) = File::parse(bytes) else {
        return;
    };
    read(&file);
    for opts in &OPTIONS {
        load::<TinyPointsGenerator>(&file, opts);
        load::<Linear<3, 2>>(&file, opts);
    }
});

/// Reads every part of an accepted file.
fn read(file: &File<'_>) {
    let stored = file.metadata(CHECKSUM_KEY);
    assert_eq!(stored.is_some(), file.checksum().is_some());
    let _ = file.metadata("format");

    let mut bytes = 0;
    for t in file.tensors() {
        let n = t.len();
        assert_eq!(t.shape.numel(), Some(n));
        assert_eq!(
            file.tensor(t.name).map(|u| u.data.as_ptr()),
            Some(t.data.as_ptr())
        );
        bytes += t.data.len();
        for k in 0..n {
            let _ = t.value(k);
        }
        assert_eq!(t.value(n), None);
        if let Some(view) = t.as_f32() {
            assert_eq!(view.len(), n);
            for (k, v) in view.iter().enumerate() {
                assert_eq!(Some(v.to_bits()), t.value(k).map(f32::to_bits));
            }
        }
    }
    assert_eq!(bytes, file.data().len());
}

/// Loads `file` into a network of type `L` whose values no file holds by chance, and checks
/// that a failed load changed nothing and a successful one wrote finite values.
fn load<L: Layer + Copy + PartialEq>(file: &File<'_>, opts: &LoadOptions<'_>) {
    let mut net = L::ZEROED;
    for i in 0..L::TENSORS {
        net.tensor_mut(i).fill(-1234.5);
    }
    let before = net;
    let checked = file.check::<L>(opts);
    let in_place = file.view::<L>(opts);
    match file.load_into(&mut net, opts) {
        Ok(()) => {
            assert!(checked.is_ok());
            assert!(net.is_finite());
            // run in place, the network computes what the loaded one computes
            if let Ok(view) = in_place {
                let mut x = L::Input::ZERO;
                x.as_mut_slice().fill(0.5);
                let (mut a, mut b) = (L::Output::ZERO, L::Output::ZERO);
                view.infer(&x, &mut a);
                net.infer(&x, &mut b);
                let bits =
                    |y: &L::Output| y.as_slice().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&a), bits(&b));
            }
        }
        Err(e) => {
            assert_eq!(checked, Err(e.clone()));
            assert!(in_place.is_err());
            assert!(net == before, "a failed load changed the network");
        }
    }
}
