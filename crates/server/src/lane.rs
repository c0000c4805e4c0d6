//! The evaluation lane: a few threads of their own for requests whose matching or
//! rendering outgrows the small budget a mock worker gives inline.
//!
//! Most requests are decided on the worker that read them, within a budget of about a
//! millisecond. One that needs more (an XPath over a large document, a template over
//! many items) is handed here with the full budget, so the workers stay free for
//! everyone else. The queue is bounded: when it is full the request gets 503 at once.

use parking_lot::Mutex;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send>;

#[derive(Clone)]
pub(crate) struct Lane {
    jobs: SyncSender<Job>,
}

/// The lane's queue is full.
#[derive(Debug)]
pub(crate) struct Full;

impl Lane {
    /// Starts `threads` threads sharing a queue of `queue` jobs, running `nice` steps
    /// below normal priority.
    pub(crate) fn start(threads: usize, queue: usize, nice: u8) -> Self {
        let (jobs, rx) = sync_channel::<Job>(queue.max(1));
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("standin-eval-{i}"))
                .spawn(move || {
                    lower_priority(nice);
                    work(&rx)
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start an evaluation thread");
            }
        }
        Lane { jobs }
    }

    /// Queues `f`; its result arrives on the receiver. A panic in `f` drops the sender,
    /// which the receiver sees as an error.
    pub(crate) fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<oneshot::Receiver<T>, Full> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        match self.jobs.try_send(job) {
            Ok(()) => Ok(rx),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => Err(Full),
        }
    }
}

/// Lowers the calling thread's scheduling priority by `nice` steps, so the thread (the
/// lane's, the control plane's) takes the CPU only when the mock workers leave it: on one
/// core, a costly evaluation or a large import would otherwise share it evenly with
/// everyone's traffic. On Linux each thread has its own nice value; `renice` on the
/// thread's id sets it without privileges and without unsafe code. Where that is not
/// possible the thread runs at normal priority (logged).
pub fn lower_priority(nice: u8) {
    if nice == 0 {
        return;
    }
    let tid = std::fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|link| {
            link.file_name()
                .and_then(|t| t.to_str())
                .map(str::to_string)
        });
    let Some(tid) = tid else {
        tracing::info!("cannot find the thread's id; it runs at normal priority");
        return;
    };
    let lowered = std::process::Command::new("renice")
        .args(["-n", &nice.to_string(), "-p", &tid])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    if !lowered.is_ok_and(|s| s.success()) {
        tracing::info!("renice is not available; background threads run at normal priority");
    }
}

fn work(rx: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only to take the next job, never while running one.
        let job = rx.lock().recv();
        let Ok(job) = job else { return };
        if catch_unwind(AssertUnwindSafe(job)).is_err() {
            tracing::error!("an evaluation panicked; the request got a 500");
        }
    }
}
