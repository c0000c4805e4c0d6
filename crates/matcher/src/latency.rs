//! Latency that varies: delays drawn per request (fixed, uniform, log-normal), and bodies
//! sent slowly (in pieces over a time, or at a bandwidth). Compiled and checked when a
//! route is published; the server turns them into timers, never into a sleeping thread.

use crate::CompileError;
use standin_model::{Delay, Dribble};
use std::cell::Cell;
use std::time::Duration;

/// The longest any configured delay may be: 10 minutes.
pub const MAX_DELAY_MS: u64 = 600_000;

/// A delay to draw per request.
#[derive(Debug, Clone, PartialEq)]
pub enum CompiledDelay {
    Fixed(u64),
    Uniform {
        min: u64,
        max: u64,
    },
    /// `ln(delay)` is normal with mean `ln(median)` and deviation `sigma`.
    Lognormal {
        median: f64,
        sigma: f64,
    },
}

impl CompiledDelay {
    /// Checks a delay; errors point under `pointer` (the `delay` field).
    pub fn compile(d: &Delay, pointer: &str) -> Result<Self, CompileError> {
        let too_long = |field: &str, v: u64| {
            (v > MAX_DELAY_MS).then(|| {
                CompileError::new(
                    &format!("{pointer}/{field}"),
                    format!("{v} ms is longer than {MAX_DELAY_MS} ms (10 minutes)"),
                )
            })
        };
        match d {
            Delay::Fixed(ms) => match too_long("fixed", *ms) {
                Some(e) => Err(e),
                None => Ok(CompiledDelay::Fixed(*ms)),
            },
            Delay::Uniform { min, max } => {
                if let Some(e) = too_long("uniform/max", *max) {
                    return Err(e);
                }
                if min > max {
                    return Err(CompileError::new(
                        &format!("{pointer}/uniform/min"),
                        format!("min ({min} ms) is more than max ({max} ms)"),
                    ));
                }
                Ok(CompiledDelay::Uniform {
                    min: *min,
                    max: *max,
                })
            }
            Delay::Lognormal { median, sigma } => {
                if let Some(e) = too_long("lognormal/median", *median) {
                    return Err(e);
                }
                if !(0.0..=4.0).contains(sigma) {
                    return Err(CompileError::new(
                        &format!("{pointer}/lognormal/sigma"),
                        format!("sigma is between 0 and 4, not {sigma}"),
                    ));
                }
                Ok(CompiledDelay::Lognormal {
                    median: *median as f64,
                    sigma: *sigma,
                })
            }
        }
    }

    /// Draws one delay, in milliseconds (never more than [`MAX_DELAY_MS`]).
    pub fn sample(&self) -> u64 {
        self.sample_with(&mut || next_unit())
    }

    /// Draws with `unit` giving uniform numbers in [0, 1): tests pass their own.
    pub fn sample_with(&self, unit: &mut dyn FnMut() -> f64) -> u64 {
        match *self {
            CompiledDelay::Fixed(ms) => ms,
            CompiledDelay::Uniform { min, max } => {
                min + ((max - min + 1) as f64 * unit())
                    .floor()
                    .min((max - min) as f64) as u64
            }
            CompiledDelay::Lognormal { median, sigma } => {
                // Box–Muller: one standard normal draw from two uniform ones.
                let u1 = unit().max(f64::MIN_POSITIVE);
                let u2 = unit();
                let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                let ms = median * (sigma * z).exp();
                (ms.round() as u64).min(MAX_DELAY_MS)
            }
        }
    }
}

/// How a body is paced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pacing {
    /// In `chunks` pieces spread over `duration`.
    Dribble { chunks: u32, duration: Duration },
    /// At most this many bytes a second.
    Bandwidth(u64),
}

impl Pacing {
    pub fn compile(
        dribble: Option<&Dribble>,
        bytes_per_second: Option<u64>,
        pointer: &str,
    ) -> Result<Option<Self>, CompileError> {
        match (dribble, bytes_per_second) {
            (None, None) => Ok(None),
            (Some(_), Some(_)) => Err(CompileError::new(
                &format!("{pointer}/bytesPerSecond"),
                "a body is either dribbled or sent at a bandwidth, not both".to_string(),
            )),
            (Some(d), None) => {
                if !(1..=10_000).contains(&d.chunks) {
                    return Err(CompileError::new(
                        &format!("{pointer}/dribble/chunks"),
                        format!("1 to 10000 pieces, not {}", d.chunks),
                    ));
                }
                if d.duration_ms > MAX_DELAY_MS {
                    return Err(CompileError::new(
                        &format!("{pointer}/dribble/durationMs"),
                        format!("at most {MAX_DELAY_MS} ms (10 minutes)"),
                    ));
                }
                Ok(Some(Pacing::Dribble {
                    chunks: d.chunks,
                    duration: Duration::from_millis(d.duration_ms),
                }))
            }
            (None, Some(0)) => Err(CompileError::new(
                &format!("{pointer}/bytesPerSecond"),
                "at least 1 byte a second".to_string(),
            )),
            (None, Some(b)) => Ok(Some(Pacing::Bandwidth(b))),
        }
    }

    /// For a body of `len` bytes: the size of each piece and the time between pieces.
    pub fn plan(&self, len: usize) -> (usize, Duration) {
        match *self {
            Pacing::Dribble { chunks, duration } => {
                let chunks = (chunks as usize).clamp(1, len.max(1));
                let piece = len.div_ceil(chunks).max(1);
                let gaps = chunks.saturating_sub(1).max(1) as u32;
                (piece, duration / gaps)
            }
            Pacing::Bandwidth(bps) => {
                // Ten pieces a second, or one byte at a time on very slow links.
                let piece = (bps / 10).max(1) as usize;
                let interval = Duration::from_secs_f64(piece as f64 / bps as f64);
                (piece, interval)
            }
        }
    }
}

thread_local! {
    static RNG: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    // Different threads started in the same nanosecond still differ.
    t ^ (&t as *const u64 as u64).rotate_left(32)
}

/// A uniform number in [0, 1) from a per-thread splitmix64: no lock, no system call.
pub fn next_unit() -> f64 {
    RNG.with(|c| {
        let s = c.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        c.set(s);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A repeatable stream of uniform numbers.
    fn units(seed: u64) -> impl FnMut() -> f64 {
        let mut s = seed;
        move || {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (z >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    #[test]
    fn uniform_delays_cover_their_range_evenly() {
        let d = CompiledDelay::Uniform { min: 100, max: 199 };
        let mut u = units(1);
        let samples: Vec<u64> = (0..100_000).map(|_| d.sample_with(&mut u)).collect();
        assert!(samples.iter().all(|s| (100..=199).contains(s)));
        let mean = samples.iter().sum::<u64>() as f64 / samples.len() as f64;
        assert!((mean - 149.5).abs() < 1.0, "mean {mean}");
        // Every millisecond of the range turns up, each about 1% of the time.
        let mut counts = [0u32; 100];
        for s in &samples {
            counts[(*s - 100) as usize] += 1;
        }
        assert!(counts.iter().all(|c| (800..1200).contains(c)), "{counts:?}");
    }

    #[test]
    fn lognormal_delays_have_their_median_and_a_long_tail() {
        let d = CompiledDelay::Lognormal {
            median: 100.0,
            sigma: 0.5,
        };
        let mut u = units(2);
        let mut samples: Vec<u64> = (0..100_000).map(|_| d.sample_with(&mut u)).collect();
        samples.sort_unstable();
        let median = samples[samples.len() / 2];
        assert!((97..=103).contains(&median), "median {median}");
        // The 95th percentile of a log-normal is median × e^(1.645 σ) ≈ 228 ms here.
        let p95 = samples[samples.len() * 95 / 100];
        assert!((215..=240).contains(&p95), "p95 {p95}");
    }

    #[test]
    fn bad_delays_are_refused_with_their_pointer() {
        let p = "/http/response/delay";
        let e = CompiledDelay::compile(&Delay::Uniform { min: 9, max: 3 }, p).unwrap_err();
        assert_eq!(e.pointer, "/http/response/delay/uniform/min");
        let e = CompiledDelay::compile(
            &Delay::Lognormal {
                median: 10,
                sigma: -1.0,
            },
            p,
        )
        .unwrap_err();
        assert_eq!(e.pointer, "/http/response/delay/lognormal/sigma");
        let e = CompiledDelay::compile(&Delay::Fixed(700_000), p).unwrap_err();
        assert_eq!(e.pointer, "/http/response/delay/fixed");
        let e = Pacing::compile(
            Some(&Dribble {
                chunks: 0,
                duration_ms: 10,
            }),
            None,
            "/r",
        )
        .unwrap_err();
        assert_eq!(e.pointer, "/r/dribble/chunks");
    }

    #[test]
    fn pacing_splits_a_body_into_timed_pieces() {
        let d = Pacing::Dribble {
            chunks: 4,
            duration: Duration::from_millis(300),
        };
        assert_eq!(d.plan(100), (25, Duration::from_millis(100)));
        assert_eq!(d.plan(2).0, 1, "never more pieces than bytes");
        let b = Pacing::Bandwidth(1000);
        assert_eq!(b.plan(5000), (100, Duration::from_millis(100)));
    }
}
