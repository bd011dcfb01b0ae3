//! The fake Google (token endpoint and Directory API) as a standalone server, for
//! benchmarks of pull sync.
//!
//! ```text
//! cargo run --release --example fake_google -- --users 100000 --groups 1000 --members 50
//! ```
//!
//! Prints its base URL (`http://127.0.0.1:PORT`) on the first line and the service
//! account's JSON key (made for this run, known to this fake only) on the second, and
//! serves until killed. Point `SCIMD_GOOGLE_TOKEN_URL` at `BASE/token` and
//! `SCIMD_GOOGLE_DIRECTORY_URL` at the base. Control endpoints: `POST
//! /_fake/change?percent=1` changes the family name of 1% of the users, `POST
//! /_fake/remove?percent=0.5` deletes 0.5% of them (none changed, nobody's manager), `GET
//! /_fake/stats` counts requests by path.
// A test fixture run as a program: failing loudly is what it should do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/fakes/google.rs"]
mod fake;
#[path = "../tests/fakes/fake_http.rs"]
mod fake_http;

use std::io::Write;
use std::net::SocketAddr;

use clap::Parser;

#[derive(Parser, Debug)]
#[command(about = "A fake Google Directory API for benchmarks")]
struct Args {
    /// Generated users.
    #[arg(long, default_value_t = 1000)]
    users: usize,
    /// Generated groups.
    #[arg(long, default_value_t = 10)]
    groups: usize,
    /// Members per generated group.
    #[arg(long, default_value_t = 50)]
    members: usize,
    /// One user in this many reports to a manager (0: nobody does).
    #[arg(long, default_value_t = 1)]
    manager_every: usize,
    #[arg(long, default_value = "127.0.0.1:0")]
    bind: SocketAddr,
    /// Server worker threads.
    #[arg(long, default_value_t = 2)]
    workers: usize,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let options = fake::FakeOptions {
        users: args.users,
        groups: args.groups,
        members: args.members,
        manager_every: args.manager_every,
        workers: args.workers,
        ..fake::FakeOptions::default()
    };
    let (google, server) = fake::FakeGoogle::bind(options, args.bind)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", google.url())?;
    writeln!(out, "{}", google.key_file())?;
    out.flush()?;
    drop(out);
    server.await
}
