//! Any bytes given to the safetensors reader: `File::parse` refuses them with an error or
//! accepts them, never panics; what it accepts can be read in full; a load that fails
//! leaves the network as it was; a network run in place computes what it computes
//! loaded; and an int8 network viewed in place computes what a copy of it computes, and
//! gives back the bytes it was read from.

#![no_main]

use libfuzzer_sys::fuzz_target;
use picogan::models::TinyPointsGenerator;
use picogan::quant::network::QVector;
use picogan::quant::{QLayer, QLinear, QNet, QSmallGenerator, QTanh, QTinyPointsGenerator};
use picogan::safetensors::{File, LoadOptions, CHECKSUM_KEY};
use picogan::{Chain, Layer, Linear, Vector};

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
    view_int8::<QTinyPointsGenerator>(&file);
    view_int8::<QSmallGenerator<64>>(&file);
    view_int8::<Chain<QLinear<3, 2>, QTanh<2>>>(&file);
});

/// Views `file` as an int8 network of type `Q`; when it is one, runs it in place and as a
/// copy on inputs across the int8 range and on extreme noise, and checks that the view
/// gives back the file's bytes.
fn view_int8<Q: QLayer>(file: &File<'_>) {
    let Ok(net) = file.view_quantized::<Q>() else {
        return;
    };
    let copy = Q::from_view(net.view());
    let own = QNet::of(&copy).expect("a copy of a checked network is checked");
    assert_eq!((own.input(), own.output()), (net.input(), net.output()));
    let mut s = Q::SCRATCH;
    for v in [-128i8, -1, 0, 1, 127] {
        let mut x = Q::Input::ZERO;
        x.as_mut_slice().fill(v);
        let (mut a, mut b) = (Q::Output::ZERO, Q::Output::ZERO);
        net.forward(&x, &mut a, &mut s);
        own.forward(&x, &mut b, &mut s);
        assert_eq!(a.as_slice(), b.as_slice());
    }
    let mut z = <Q::Input as QVector>::REAL_ZERO;
    for (k, v) in z.as_mut().iter_mut().enumerate() {
        *v = [f32::NAN, f32::INFINITY, -1e30, 0.5][k % 4];
    }
    let mut y = Q::Output::ZERO;
    let mut out = <Q::Output as QVector>::REAL_ZERO;
    net.sample(z.as_ref(), &mut y, out.as_mut(), &mut s);
    // every tensor written back from the view is the file's
    for i in 0..Q::TENSORS {
        let info = Q::tensor_info(i).expect("a tensor of the network");
        let name = format!("fc.{}.{}", info.layer, info.kind.name());
        let mut bytes = Vec::new();
        Q::tensor_bytes(net.view(), i, &mut |b| bytes.extend_from_slice(b));
        assert_eq!(Some(&bytes[..]), file.tensor(&name).map(|t| t.data));
    }
}

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
