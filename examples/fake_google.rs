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
#[path = "shared/fake_server.rs"]
mod fake_server;

use clap::Parser;

#[derive(Parser, Debug)]
#[command(about = "A fake Google Directory API for benchmarks")]
struct Args {
    #[command(flatten)]
    server: fake_server::ServerArgs,
    /// One user in this many reports to a manager (0: nobody does).
    #[arg(long, default_value_t = 1)]
    manager_every: usize,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let options = fake::FakeOptions {
        users: args.server.users,
        groups: args.server.groups,
        members: args.server.members,
        manager_every: args.manager_every,
        workers: args.server.workers,
        ..fake::FakeOptions::default()
    };
    let (google, server) = fake::FakeGoogle::bind(options, args.server.bind)?;
    let lines = [google.url().to_owned(), google.key_file().to_string()];
    fake_server::announce_and_serve(&lines, server).await
}
