//! The Generator embedded at build time (see `build.rs`).
//!
//! Flash holds the weights file itself, as `picogan export` wrote it. At run time the
//! core's reader checks it again (layout, names, shapes and the CRC-32 of its data, which
//! catches a corrupted flash image) before the weights are copied into a Generator in RAM.
//!
//! `PICOGAN_MODEL` chooses the file when the firmware is built; by default it is the
//! reference model `models/digits-small.safetensors`.

use picogan::safetensors::{Error, File, LoadOptions};
use picogan::Layer;

/// Bytes aligned to 8, so that every tensor in the file is aligned for its dtype.
#[repr(C, align(8))]
struct Aligned<T: ?Sized>(T);

include!(concat!(env!("OUT_DIR"), "/model.rs"));

/// The weights file as it sits in flash.
pub fn image() -> &'static [u8] {
    &ALIGNED.0
}

/// Checks the weights file in `image` and loads it into `g`; returns the verified CRC-32
/// of its data. On any error `g` is left as it was.
pub fn load_from(image: &[u8], g: &mut Generator) -> Result<u32, Error> {
    // a table for the Generator's tensors only: the file holds nothing else
    let file = File::<'_, { <Generator as Layer>::TENSORS }>::parse_with_capacity(image)?;
    let crc = file.require_checksum()?;
    file.load_into(g, &LoadOptions::STRICT)?;
    Ok(crc)
}

/// Loads the embedded Generator into `g` (see [`load_from`]).
pub fn load(g: &mut Generator) -> Result<u32, Error> {
    load_from(image(), g)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use picogan::Vector;
    use std::boxed::Box;

    #[test]
    fn embedded_generator_loads_and_draws_in_range() {
        let mut g = Box::new(Generator::ZEROED);
        let crc = load(&mut g).unwrap();
        assert_eq!(
            crc,
            picogan::safetensors::checksum(File::parse(image()).unwrap().data())
        );
        assert!(g.is_finite());
        assert!(g.tensor(0).iter().any(|&w| w != 0.0));
        let z = <Generator as Layer>::Input::ZERO;
        let mut y = <Generator as Layer>::Output::ZERO;
        g.infer(&z, &mut y);
        if IMAGE_SIDE > 0 {
            // images end in Tanh
            assert!(y.as_slice().iter().all(|v| (-1.0..=1.0).contains(v)));
        }
    }

    #[test]
    fn a_corrupted_image_is_refused_and_loads_nothing() {
        // one bit flipped in the last weight, as a worn flash cell would; the copy is as
        // aligned as the allocator's blocks (16 bytes on the test hosts)
        let mut bad = image().to_vec();
        let last = bad.len() - 1;
        bad[last] ^= 0x10;
        let mut g = Box::new(Generator::ZEROED);
        let err = load_from(&bad, &mut g).unwrap_err();
        assert!(matches!(err, Error::ChecksumMismatch { .. }), "{err}");
        assert!(*g == Generator::ZEROED);
    }
}
