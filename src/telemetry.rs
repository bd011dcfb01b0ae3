//! Logging: a tracing subscriber writing to stderr (stdout belongs to command output such as
//! a freshly issued token), pretty or JSON, filtered by `SCIMD_LOG`. Pretty lines are
//! coloured only when stderr is a terminal: a file or a log collector gets plain text.
//!
//! The server logs a line per request. Written by the request's own thread, each line cost
//! a `write` to stderr (and a wait for its lock when two workers logged at once): about a
//! tenth of scimd's CPU on a read by id, and a request stalled behind a slow log reader.
//! So `serve` hands its lines to a thread of their own ([`Sink::Background`], with
//! tracing-appender's non-blocking writer), which writes what has queued up at most
//! [`WRITE_EVERY`] apart, in one `write` where it fits its buffer. No line is dropped: when
//! the queue is full, the requests wait for it as they did for stderr. The commands log
//! directly, so their lines keep their place among what they print.

use std::io::{BufWriter, IsTerminal, Write};
use std::time::Duration;

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Where log lines are written from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sink {
    /// By the thread that logs them, as they are logged.
    Direct,
    /// By a thread of their own ([`init`]'s guard flushes it when dropped).
    Background,
}

/// How long the log thread waits after a write before it writes what has queued since. A
/// line logged while it is idle goes out at once.
pub const WRITE_EVERY: Duration = Duration::from_millis(50);

/// The log thread's buffer: a batch larger than this is written in several pieces.
const BATCH_BYTES: usize = 64 * 1024;

/// How many lines may wait for the log thread before the threads logging them wait too.
const QUEUED_LINES: usize = 128_000;

/// stderr, buffered, and written at most [`WRITE_EVERY`] apart: the log thread flushes
/// after each batch it takes off its queue, and the pause lets the next batch gather
/// (without it, every line would wake the thread and cost a `write` of its own).
struct Paced(BufWriter<std::io::Stderr>);

impl Write for Paced {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()?;
        std::thread::sleep(WRITE_EVERY);
        Ok(())
    }
}

/// Installs the global subscriber. `filter` is an env-filter directive such as
/// `info,scimd=debug`; an invalid one is reported and `info` used instead. For
/// [`Sink::Background`], hold the returned guard until the process ends: dropping it
/// writes the lines still queued.
pub fn init(filter: &str, format: LogFormat, sink: Sink) -> Option<WorkerGuard> {
    let (env_filter, bad) = match EnvFilter::try_new(filter) {
        Ok(f) => (f, None),
        Err(e) => (EnvFilter::new("info"), Some(e)),
    };
    let guard = match sink {
        Sink::Direct => {
            install(env_filter, format, std::io::stderr);
            None
        }
        Sink::Background => {
            let (writer, guard) = NonBlockingBuilder::default()
                .lossy(false)
                .buffered_lines_limit(QUEUED_LINES)
                .thread_name("scimd-log")
                .finish(Paced(BufWriter::with_capacity(
                    BATCH_BYTES,
                    std::io::stderr(),
                )));
            install(env_filter, format, writer);
            Some(guard)
        }
    };
    if let Some(e) = bad {
        tracing::warn!(error = %e, "SCIMD_LOG is not a valid filter; using `info`");
    }
    guard
}

fn install<W>(env_filter: EnvFilter, format: LogFormat, writer: W)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(env_filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(writer);
    // A second init (tests) is harmless: the first subscriber stays.
    let _ = match format {
        LogFormat::Pretty => builder.with_target(false).try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}
