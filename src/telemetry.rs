//! Logging: a tracing subscriber writing to stderr (stdout belongs to command output such as
//! a freshly issued token), pretty or JSON, filtered by `SCIMD_LOG`. Pretty lines are
//! coloured only when stderr is a terminal: a file or a log collector gets plain text.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber. `filter` is an env-filter directive such as
/// `info,scimd=debug`; an invalid one is reported and `info` used instead.
pub fn init(filter: &str, format: LogFormat) {
    let (env_filter, bad) = match EnvFilter::try_new(filter) {
        Ok(f) => (f, None),
        Err(e) => (EnvFilter::new("info"), Some(e)),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(env_filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
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
    if let Some(e) = bad {
        tracing::warn!(error = %e, "SCIMD_LOG is not a valid filter; using `info`");
    }
}
