//! CRC-32 checksums of f32 values, computed as `picogan` computes them on the desktop, so
//! that results can be compared bit for bit.
//!
//! The checksum is CRC-32/ISO-HDLC (the one of zlib and PNG) over each value's four
//! little-endian bytes, in order; over int8 values, over their bytes.

use crc::{Crc, Digest, CRC_32_ISO_HDLC};
use picogan::{Layer, Scalar};

/// The CRC-32 algorithm both sides use.
pub const CRC32: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// Adds `values`' little-endian bytes to `digest`.
pub fn update(digest: &mut Digest<'_, u32>, values: &[f32]) {
    for v in values {
        digest.update(&v.to_le_bytes());
    }
}

/// Adds int8 `values` to `digest`, one byte each.
pub fn update_i8(digest: &mut Digest<'_, u32>, values: &[i8]) {
    for &v in values {
        digest.update(&v.to_le_bytes());
    }
}

/// CRC-32 of every parameter of `net`, tensor by tensor in [`Layer::tensor`] order, over
/// each value's bits ([`Scalar::to_bits`]): f32's IEEE bits, Q16.16's integer.
pub fn crc32_layer<L: Layer>(net: &L) -> u32 {
    let mut digest = CRC32.digest();
    for i in 0..L::TENSORS {
        for v in net.tensor(i) {
            digest.update(&v.to_bits().to_le_bytes());
        }
    }
    digest.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // the catalogue check value of CRC-32/ISO-HDLC, and 1.0f32 as bytes 00 00 80 3f
        assert_eq!(CRC32.checksum(b"123456789"), 0xcbf4_3926);
        let mut d = CRC32.digest();
        update(&mut d, &[1.0]);
        assert_eq!(d.finalize(), CRC32.checksum(&[0, 0, 0x80, 0x3f]));
        let mut d = CRC32.digest();
        update_i8(&mut d, &[-1, 0, 127, -128]);
        assert_eq!(d.finalize(), CRC32.checksum(&[0xff, 0, 0x7f, 0x80]));
    }

    #[test]
    fn layer_checksum_covers_every_tensor_in_order() {
        let l = picogan::Linear::<2, 1> {
            w: [[1.0, 2.0]],
            b: [3.0],
        };
        let mut d = CRC32.digest();
        update(&mut d, &[1.0, 2.0, 3.0]);
        assert_eq!(crc32_layer(&l), d.finalize());
    }
}
