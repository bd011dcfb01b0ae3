//! What the fake directory servers share: the options of the directory they generate and
//! of where they listen, and how they tell the script that started them where they are.

use std::io::Write;
use std::net::SocketAddr;

/// The generated directory's size, and the server's address and threads.
#[derive(clap::Args, Debug)]
pub struct ServerArgs {
    /// Generated users.
    #[arg(long, default_value_t = 1000)]
    pub users: usize,
    /// Generated groups.
    #[arg(long, default_value_t = 10)]
    pub groups: usize,
    /// Members per generated group (on average, in the Graph fake).
    #[arg(long, default_value_t = 50)]
    pub members: usize,
    #[arg(long, default_value = "127.0.0.1:0")]
    pub bind: SocketAddr,
    /// Server worker threads.
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
}

/// Prints `lines` on stdout, flushed for the script waiting to read them, then serves
/// until killed.
pub async fn announce_and_serve(
    lines: &[String],
    server: actix_web::dev::Server,
) -> std::io::Result<()> {
    {
        let mut out = std::io::stdout().lock();
        for line in lines {
            writeln!(out, "{line}")?;
        }
        out.flush()?;
    }
    server.await
}
