//! The fake Microsoft Graph as a standalone server, for benchmarks of pull sync.
//!
//! ```text
//! cargo run --release --example fake_graph -- --users 100000 --groups 1000 --members 50
//! ```
//!
//! Prints its base URL (`http://127.0.0.1:PORT`) on one line and serves until killed.
//! Point `SCIMD_GRAPH_LOGIN_URL` and `SCIMD_GRAPH_API_URL` at it. Control endpoints:
//! `POST /_fake/change?percent=1` changes the department of 1% of the users (the next
//! delta round returns exactly those), `POST /_fake/expire-delta` makes every delta link
//! issued so far answer 410 Gone, `GET /_fake/stats` counts requests by path.
// A test fixture run as a program: failing loudly is what it should do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/fakes/graph.rs"]
mod fake;
#[path = "../tests/fakes/fake_http.rs"]
mod fake_http;
#[path = "shared/fake_server.rs"]
mod fake_server;

use clap::Parser;

#[derive(Parser, Debug)]
#[command(about = "A fake Microsoft Graph for benchmarks")]
struct Args {
    #[command(flatten)]
    server: fake_server::ServerArgs,
    /// Seed of the generated directory.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Objects per page.
    #[arg(long, default_value_t = 999)]
    page_size: usize,
    #[arg(long, default_value = "contoso.example")]
    tenant: String,
    #[arg(long, default_value = "00000000-0000-4000-a000-00000000c11e")]
    client_id: String,
    #[arg(long, default_value = "right-secret")]
    client_secret: String,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let options = fake::FakeOptions {
        tenant: args.tenant,
        client_id: args.client_id,
        client_secret: args.client_secret,
        page_size: args.page_size.max(1),
        users: args.server.users,
        groups: args.server.groups,
        members: args.server.members,
        seed: args.seed,
        workers: args.server.workers,
        ..fake::FakeOptions::default()
    };
    let (graph, server) = fake::FakeGraph::bind(options, args.server.bind)?;
    fake_server::announce_and_serve(&[graph.url().to_owned()], server).await
}
