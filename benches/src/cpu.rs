//! CPU clocks of this process and its threads, read from `/proc` (Linux); `None` elsewhere.

use std::time::Duration;

/// CPU time (user and system) of every thread of the process, exited ones included (`/proc/self/stat`,
/// in clock ticks of 10 ms).
pub fn process_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'; utime and stime
    // are the 14th and 15th fields, the 12th and 13th after it.
    let rest = text.rsplit_once(')')?.1;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10)) // USER_HZ is 100 on Linux
}

/// CPU time of the calling thread, in nanoseconds (`/proc/thread-self/schedstat`). The kernel brings
/// it up to date only when the thread is switched or at a tick, so a running thread reads up to one
/// tick behind.
pub fn thread_time() -> Option<Duration> {
    schedstat("/proc/thread-self/schedstat")
}

/// CPU time of every live thread of the process, in nanoseconds (the sum of
/// `/proc/self/task/*/schedstat`; threads that exited are not counted; each running thread reads up
/// to one tick behind, as in [`thread_time`]).
pub fn live_threads_time() -> Option<Duration> {
    let mut total = Duration::ZERO;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        total += schedstat(task.ok()?.path().join("schedstat"))?;
    }
    Some(total)
}

/// The first field of a `schedstat` file: time on a CPU, in nanoseconds.
fn schedstat(path: impl AsRef<std::path::Path>) -> Option<Duration> {
    let text = std::fs::read_to_string(path).ok()?;
    text.split_whitespace().next()?.parse().ok().map(Duration::from_nanos)
}
