//! The Generator embedded at build time (see `build.rs`).
//!
//! Flash holds the weights file itself, as `picogan export` wrote it. At run time the
//! core's reader checks it again (layout, names, shapes, values and the CRC-32s of its
//! data and of its header, which catch a corrupted flash image), and the Generator then
//! runs straight from the file's bytes in flash: its weights take no RAM.
//!
//! `PICOGAN_MODEL` chooses the file when the firmware is built; by default it is the
//! reference model `models/digits-small.safetensors`.

use picogan::safetensors::{Borrowed, Error, File, LoadOptions};
use picogan::Layer;

/// Bytes aligned to 8, so that every tensor in the file is aligned for its dtype.
#[repr(C, align(8))]
struct Aligned<T: ?Sized>(T);

include!(concat!(env!("OUT_DIR"), "/model.rs"));

/// The weights file as it sits in flash.
pub fn image() -> &'static [u8] {
    &ALIGNED.0
}

/// Checks the weights file in `image` and returns its Generator, running on the file's
/// bytes in place, with the verified CRC-32 of the file's data.
pub fn open(image: &[u8]) -> Result<(Borrowed<'_, Generator>, u32), Error> {
    // a table for the Generator's tensors only: the file holds nothing else
    let file = File::<'_, { <Generator as Layer>::TENSORS }>::parse_with_capacity(image)?;
    let crc = file.require_checksum()?;
    file.require_header_checksum()?;
    Ok((file.view::<Generator>(&LoadOptions::STRICT)?, crc))
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use picogan::Vector;
    use std::boxed::Box;
    use std::vec::Vec;

    fn bits(y: &<Generator as Layer>::Output) -> Vec<u32> {
        y.as_slice().iter().map(|v| v.to_bits()).collect()
    }

    #[test]
    fn embedded_generator_runs_in_place_as_it_runs_loaded() {
        let (g, crc) = open(image()).unwrap();
        let file = File::parse(image()).unwrap();
        assert_eq!(crc, picogan::safetensors::checksum(file.data()));
        let mut loaded = Box::new(Generator::ZEROED);
        file.load_into(&mut *loaded, &LoadOptions::STRICT).unwrap();
        assert!(loaded.tensor(0).iter().any(|&w| w != 0.0));

        let mut z = <Generator as Layer>::Input::ZERO;
        for (k, v) in z.as_mut_slice().iter_mut().enumerate() {
            *v = (k as f32 * 0.37).sin();
        }
        let mut in_place = <Generator as Layer>::Output::ZERO;
        let mut copied = <Generator as Layer>::Output::ZERO;
        g.infer(&z, &mut in_place);
        loaded.infer(&z, &mut copied);
        assert_eq!(bits(&in_place), bits(&copied));
        if IMAGE_SIDE > 0 {
            // images end in Tanh
            assert!(in_place.as_slice().iter().all(|v| (-1.0..=1.0).contains(v)));
        }
    }

    #[test]
    fn a_corrupted_image_is_refused() {
        // one bit flipped in the last weight, as a worn flash cell would; the copy is as
        // aligned as the allocator's blocks (16 bytes on the test hosts)
        let mut bad = image().to_vec();
        let last = bad.len() - 1;
        bad[last] ^= 0x10;
        let err = open(&bad).map(|_| ()).unwrap_err();
        assert!(matches!(err, Error::ChecksumMismatch { .. }), "{err}");
    }
}
