//! The independent random streams of a run, each seeded from the run's one seed.
//!
//! A run draws its initial weights, its real samples, its training noise and its final
//! samples from separate generators, so that changing how much one part draws (say, a
//! longer evaluation) leaves the others as they were. The desktop and the firmware seed
//! their generators with [`stream_seed`], so the same seed gives the same numbers on both.

/// What a random stream is used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Parameter initialisation.
    Init = 1,
    /// Choice of real samples.
    Data = 2,
    /// Training noise.
    Noise = 3,
    /// Reference samples for evaluation.
    Eval = 4,
    /// Noise for drawing samples after training.
    Sample = 5,
}

/// The 64-bit seed of `stream` in the run seeded with `seed`: `8·seed + stream`, wrapping.
///
/// Seeds of different runs and streams differ as long as the run seeds are below 2⁶¹; a
/// generator's `seed_from_u64` then spreads each one over its whole state.
pub const fn stream_seed(seed: u64, stream: Stream) -> u64 {
    seed.wrapping_mul(8).wrapping_add(stream as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_of_one_run_differ_and_do_not_meet_the_next_run() {
        let all = [
            Stream::Init,
            Stream::Data,
            Stream::Noise,
            Stream::Eval,
            Stream::Sample,
        ];
        for (i, &a) in all.iter().enumerate() {
            for &b in &all[..i] {
                assert_ne!(stream_seed(7, a), stream_seed(7, b));
            }
            assert!(stream_seed(7, a) < stream_seed(8, Stream::Init));
        }
        assert_eq!(stream_seed(1, Stream::Sample), 13);
    }
}
