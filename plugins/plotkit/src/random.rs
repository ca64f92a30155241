//! Seedable randomness for the data-making sources, and the few
//! distributions they draw from. Two generators, because each source's
//! seeded runs must stay exactly as they were (tests and saved states
//! depend on them): SplitMix64 (buzz messages) and PCG32 (O'Neill, 2014;
//! the quake catalogue). Both are small and statistically sound; a data
//! set needs plausible statistics and reproducible runs, not secrecy. The
//! draws below are shared: both generators give them the same 64 bits.

/// The clock's nanoseconds, for a run asked for no seed.
pub fn clock_seed() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

/// What every generator offers, built on its 64 random bits.
pub trait Random {
    fn next_u64(&mut self) -> u64;

    /// Uniform in [0, 1), with all 53 bits of an f64 mantissa random.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// One of `items` (which must not be empty).
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next_u64() % items.len() as u64) as usize]
    }

    /// Exponentially distributed with this mean (waiting times, depths).
    fn exponential(&mut self, mean: f64) -> f64 {
        // 1 - unit() is in (0, 1], so the logarithm is finite.
        -mean * (1.0 - self.unit()).ln()
    }

    /// Normally distributed with mean 0 and this standard deviation
    /// (Box–Muller; one of the pair is enough here).
    fn normal(&mut self, sigma: f64) -> f64 {
        let radius = (-2.0 * (1.0 - self.unit()).ln()).sqrt();
        sigma * radius * (std::f64::consts::TAU * self.unit()).cos()
    }

    /// A magnitude from the Gutenberg–Richter law, log10 N(>=M) = a - b M,
    /// truncated to [m_min, m_max] (inverse-transform sampling).
    fn gutenberg_richter(&mut self, m_min: f64, m_max: f64, b: f64) -> f64 {
        let tail = 1.0 - 10f64.powf(-b * (m_max - m_min));
        m_min - (1.0 - self.unit() * tail).log10() / b
    }
}

/// SplitMix64 (Steele, Lea and Flood, 2014): one add and two mixes.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// Seeded, or from the clock when no seed is given. A saved `state()`
    /// is also a seed that continues the stream.
    pub fn new(seed: Option<u64>) -> Self {
        SplitMix64(seed.unwrap_or_else(clock_seed))
    }

    pub fn state(&self) -> u64 {
        self.0
    }
}

impl Random for SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

const MULTIPLIER: u64 = 6_364_136_223_846_793_005;
const INCREMENT: u64 = 1_442_695_040_888_963_407;

/// PCG32 (XSH RR): 64 bits of state, 32 random bits a step.
#[derive(Debug, Clone)]
pub struct Pcg32 {
    state: u64,
}

impl Pcg32 {
    /// Seeded, or from the clock when no seed is given.
    pub fn new(seed: Option<u64>) -> Self {
        let seed = seed.unwrap_or_else(clock_seed);
        // The reference seeding: step, add the seed, step again.
        let mut rng = Pcg32 { state: 0 };
        rng.next_u32();
        rng.state = rng.state.wrapping_add(seed);
        rng.next_u32();
        rng
    }

    /// Continues exactly where a saved generator stopped.
    pub fn resume(state: u64) -> Self {
        Pcg32 { state }
    }

    pub fn state(&self) -> u64 {
        self.state
    }

    pub fn next_u32(&mut self) -> u32 {
        let old = self.state;
        self.state = old.wrapping_mul(MULTIPLIER).wrapping_add(INCREMENT);
        let xorshifted = (((old >> 18) ^ old) >> 27) as u32;
        xorshifted.rotate_right((old >> 59) as u32)
    }
}

impl Random for Pcg32 {
    /// Two steps, the first in the high half: `unit` then takes the
    /// first step's 32 bits and the second's top 21, as PCG32 always did.
    fn next_u64(&mut self) -> u64 {
        let high = u64::from(self.next_u32()) << 32;
        high | u64::from(self.next_u32())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_reproduces_the_stream_and_a_saved_state_resumes_it() {
        let mut a = Pcg32::new(Some(42));
        let mut b = Pcg32::new(Some(42));
        let first: Vec<u32> = (0..5).map(|_| a.next_u32()).collect();
        assert_eq!(first, (0..5).map(|_| b.next_u32()).collect::<Vec<_>>());
        let mut resumed = Pcg32::resume(a.state());
        assert_eq!(resumed.next_u32(), a.next_u32());
        assert_ne!(Pcg32::new(Some(43)).next_u32(), Pcg32::new(Some(42)).next_u32());
    }

    /// `unit` through `next_u64` is the draw PCG32 made before it shared
    /// `Random`: the quake catalogue's seeded data is unchanged.
    #[test]
    fn pcg32_unit_is_its_old_two_step_draw() {
        let (mut shared, mut old) = (Pcg32::new(Some(21)), Pcg32::new(Some(21)));
        for _ in 0..1000 {
            let high = u64::from(old.next_u32()) << 21;
            let low = u64::from(old.next_u32() >> 11);
            assert_eq!(shared.unit(), (high | low) as f64 / (1u64 << 53) as f64);
        }
    }

    /// SplitMix64's published output for seed 0 (Vigna's reference code).
    #[test]
    fn splitmix64_is_the_reference_stream() {
        let mut rng = SplitMix64::new(Some(0));
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.state(), 0x9E37_79B9_7F4A_7C15);
        let mut resumed = SplitMix64::new(Some(rng.state()));
        assert_eq!(resumed.next_u64(), rng.next_u64());
    }

    #[test]
    fn unit_is_in_range_and_roughly_uniform() {
        let mut rng = Pcg32::new(Some(1));
        let draws: Vec<f64> = (0..100_000).map(|_| rng.unit()).collect();
        assert!(draws.iter().all(|u| (0.0..1.0).contains(u)));
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((mean - 0.5).abs() < 0.01, "mean {mean}");
    }

    #[test]
    fn gutenberg_richter_has_the_b_value_it_was_given() {
        let mut rng = Pcg32::new(Some(7));
        let magnitudes: Vec<f64> = (0..200_000).map(|_| rng.gutenberg_richter(2.5, 9.0, 1.0)).collect();
        assert!(magnitudes.iter().all(|m| (2.5..=9.0).contains(m)));
        // Aki's maximum-likelihood estimate: b = log10(e) / (mean - m_min).
        let mean = magnitudes.iter().sum::<f64>() / magnitudes.len() as f64;
        let b = std::f64::consts::LOG10_E / (mean - 2.5);
        assert!((b - 1.0).abs() < 0.02, "b = {b}");
        // Each magnitude unit up is ten times rarer.
        let above = |m: f64| magnitudes.iter().filter(|&&x| x >= m).count() as f64;
        let ratio = above(3.5) / above(4.5);
        assert!((8.5..11.5).contains(&ratio), "ratio {ratio}");
    }

    #[test]
    fn exponential_and_normal_have_their_moments() {
        let mut rng = Pcg32::new(Some(3));
        let mean = (0..100_000).map(|_| rng.exponential(12.0)).sum::<f64>() / 100_000.0;
        assert!((mean - 12.0).abs() < 0.2, "mean {mean}");
        let draws: Vec<f64> = (0..100_000).map(|_| rng.normal(2.0)).collect();
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        let sd = (draws.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / draws.len() as f64).sqrt();
        assert!(mean.abs() < 0.03 && (sd - 2.0).abs() < 0.03, "mean {mean}, sd {sd}");
    }
}
