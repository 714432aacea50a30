//! The simulation's only source of chance: splitmix64, from a seed.

/// A small deterministic generator; one seed gives one sequence.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `low..=high`.
    pub fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next_u64() % (high - low + 1)
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    /// A generator of its own for `what`, so that drawing one part of the
    /// scenario does not shift another.
    pub fn fork(&self, what: u64) -> Self {
        let mut forked = Self(self.0 ^ what.wrapping_mul(0xD1B5_4A32_D192_ED03));
        forked.next_u64();
        forked
    }
}
