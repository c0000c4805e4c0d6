//! Samples standin's resident memory while the soak runs.

use crate::standin;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::time::Instant;

/// What the RSS sampler saw.
#[derive(Debug, Default)]
pub(crate) struct RssLog {
    pub max_kib: u64,
    pub samples: u64,
    /// The largest sample in each 5 s of the run, to show growth over time.
    pub timeline_kib: Vec<u64>,
    /// standin was gone (or a zombie) at a sample.
    pub exited: bool,
}

pub(crate) const RSS_EVERY: Duration = Duration::from_millis(250);
pub(crate) const TIMELINE_STEP: Duration = Duration::from_secs(5);

pub(crate) async fn sample_rss(pid: u32, mut stop: oneshot::Receiver<()>) -> RssLog {
    let mut log = RssLog::default();
    let started = Instant::now();
    let mut every = tokio::time::interval(RSS_EVERY);
    loop {
        tokio::select! {
            _ = &mut stop => return log,
            _ = every.tick() => {}
        }
        let Some(s) = standin::proc_status(pid).filter(|s| !s.zombie) else {
            log.exited = true;
            return log;
        };
        log.max_kib = log.max_kib.max(s.rss_kib);
        log.samples += 1;
        let bucket = (started.elapsed().as_secs_f64() / TIMELINE_STEP.as_secs_f64()) as usize;
        if log.timeline_kib.len() <= bucket {
            log.timeline_kib.resize(bucket + 1, 0);
        }
        log.timeline_kib[bucket] = log.timeline_kib[bucket].max(s.rss_kib);
    }
}
