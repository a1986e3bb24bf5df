//! Latency percentiles and throughput of one measured run.

use std::time::Duration;

/// What one run of many jobs measured.
#[derive(Clone, Debug)]
pub struct RunStats {
    pub jobs: usize,
    pub clients: usize,
    pub jobs_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl RunStats {
    /// From the latency of every job and the wall time of the whole run.
    pub fn new(mut latencies: Vec<Duration>, clients: usize, wall: Duration) -> RunStats {
        latencies.sort_unstable();
        let jobs = latencies.len();
        RunStats {
            jobs,
            clients,
            jobs_per_s: jobs as f64 / wall.as_secs_f64().max(f64::MIN_POSITIVE),
            p50_ms: percentile_ms(&latencies, 50.0),
            p99_ms: percentile_ms(&latencies, 99.0),
            max_ms: latencies.last().map_or(0.0, ms),
        }
    }

    /// The median of each measure over repeated runs of one variant (jobs summed, the
    /// worst max kept): a run disturbed by the rest of a shared machine does not decide.
    pub fn median(runs: &[RunStats]) -> RunStats {
        let median = |f: fn(&RunStats) -> f64| {
            let mut v: Vec<f64> = runs.iter().map(f).collect();
            v.sort_by(f64::total_cmp);
            v.get(v.len().saturating_sub(1) / 2).copied().unwrap_or(0.0)
        };
        RunStats {
            jobs: runs.iter().map(|r| r.jobs).sum(),
            clients: runs.first().map_or(0, |r| r.clients),
            jobs_per_s: median(|r| r.jobs_per_s),
            p50_ms: median(|r| r.p50_ms),
            p99_ms: median(|r| r.p99_ms),
            max_ms: runs.iter().map(|r| r.max_ms).fold(0.0, f64::max),
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "jobs": self.jobs,
            "clients": self.clients,
            "jobs_per_s": round(self.jobs_per_s),
            "p50_ms": round(self.p50_ms),
            "p99_ms": round(self.p99_ms),
            "max_ms": round(self.max_ms),
        })
    }
}

fn ms(d: &Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Nearest-rank percentile of sorted samples (0 when there are none).
pub fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    ms(&sorted[rank.clamp(1, sorted.len()) - 1])
}

/// The median of samples, in milliseconds.
pub fn median_ms(samples: &[Duration]) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    percentile_ms(&sorted, 50.0)
}

/// Three decimals are plenty for a report.
pub fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_runs_takes_each_measure_on_its_own() {
        let run = |jobs_per_s, p50_ms, max_ms| RunStats {
            jobs: 10,
            clients: 4,
            jobs_per_s,
            p50_ms,
            p99_ms: p50_ms * 2.0,
            max_ms,
        };
        let m = RunStats::median(&[
            run(100.0, 3.0, 9.0),
            run(300.0, 1.0, 4.0),
            run(200.0, 2.0, 5.0),
        ]);
        assert_eq!(m.jobs, 30);
        assert_eq!(m.jobs_per_s, 200.0);
        assert_eq!(m.p50_ms, 2.0);
        assert_eq!(m.p99_ms, 4.0);
        assert_eq!(m.max_ms, 9.0);
    }

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile_ms(&samples, 50.0), 50.0);
        assert_eq!(percentile_ms(&samples, 99.0), 99.0);
        assert_eq!(percentile_ms(&samples[..1], 99.0), 1.0);
        assert_eq!(percentile_ms(&[], 50.0), 0.0);
    }

    #[test]
    fn throughput_is_jobs_over_wall_time() {
        let s = RunStats::new(
            vec![Duration::from_millis(2); 10],
            1,
            Duration::from_secs(2),
        );
        assert_eq!(s.jobs_per_s, 5.0);
        assert_eq!(s.p50_ms, 2.0);
    }
}
