//! The Generator embedded at build time (see `build.rs`): its weights live in flash as a
//! `static` of the core's network type.
//!
//! `PICOGAN_MODEL` chooses the file when the firmware is built; by default it is the
//! reference model `models/digits-small.safetensors`, which `picogan train` wrote with its
//! default settings.

include!(concat!(env!("OUT_DIR"), "/model.rs"));

#[cfg(test)]
mod tests {
    use super::*;
    use picogan::{Layer, Vector};

    #[test]
    fn embedded_generator_is_finite_and_draws_in_range() {
        assert!(GENERATOR.is_finite());
        assert!(GENERATOR.tensor(0).iter().any(|&w| w != 0.0));
        let z = <Generator as Layer>::Input::ZERO;
        let mut y = <Generator as Layer>::Output::ZERO;
        GENERATOR.infer(&z, &mut y);
        if IMAGE_SIDE > 0 {
            // images end in Tanh
            assert!(y.as_slice().iter().all(|v| (-1.0..=1.0).contains(v)));
        }
    }
}
