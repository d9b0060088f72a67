//! CRC-32 checksums of f32 values, computed as the firmware computes them, to compare
//! results between the desktop and a device bit for bit.
//!
//! The checksum is CRC-32/ISO-HDLC (the one of zlib and PNG) over each value's four
//! little-endian bytes, in order.

use crc::{Crc, CRC_32_ISO_HDLC};
use picogan::{Layer, Scalar};

/// The CRC-32 algorithm both sides use.
const CRC32: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// CRC-32 of `values`' little-endian bytes.
pub fn crc32_f32(values: &[f32]) -> u32 {
    let mut digest = CRC32.digest();
    for v in values {
        digest.update(&v.to_bits().to_le_bytes());
    }
    digest.finalize()
}

/// CRC-32 of int8 values, one byte each.
pub fn crc32_i8(values: &[i8]) -> u32 {
    let mut digest = CRC32.digest();
    for v in values {
        digest.update(&v.to_le_bytes());
    }
    digest.finalize()
}

/// CRC-32 of every parameter of `net`, tensor by tensor in [`Layer::tensor`] order.
pub fn crc32_layer<L: Layer>(net: &L) -> u32 {
    let mut digest = CRC32.digest();
    for i in 0..L::TENSORS {
        for v in net.tensor(i) {
            digest.update(&v.to_bits().to_le_bytes());
        }
    }
    digest.finalize()
}

/// The form in which the firmware logs a checksum: `0x` and eight lower-case hex digits.
pub fn show(crc: u32) -> String {
    format!("{crc:#010x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // CRC-32/ISO-HDLC of "123456789" is 0xcbf43926 (its catalogue check value); the
        // bytes of 1.0f32 are 00 00 80 3f.
        assert_eq!(CRC32.checksum(b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32_f32(&[1.0]), CRC32.checksum(&[0, 0, 0x80, 0x3f]));
        assert_eq!(show(0xab), "0x000000ab");
    }

    #[test]
    fn layer_checksum_covers_every_tensor_in_order() {
        let l = picogan::Linear::<2, 1> {
            w: [[1.0, 2.0]],
            b: [3.0],
        };
        assert_eq!(crc32_layer(&l), crc32_f32(&[1.0, 2.0, 3.0]));
    }
}
