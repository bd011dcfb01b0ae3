//! The load of `conformance/bench-flood.sh`: a tenant's Entra-like traffic at a steady
//! pace, alone and then while another address floods the server with bad tokens.
//!
//! ```text
//! cargo run --example flood -- --server 127.0.0.1:18436 --token scimd_… --users users.txt
//! ```
//!
//! The tenant's requests leave from `--tenant-from` (127.0.0.1), the flood's from
//! `--flood-from` (127.0.0.2): loopback answers on all of 127.0.0.0/8. The tenant sends,
//! in turn, Entra's match lookup of a seeded user (`GET /Users?filter=userName eq "…"`),
//! a `PATCH` of that user's `active`, a lookup of a new userName (no match) and the
//! `POST /Users` that creates it; one request every 1/`rate` s on a schedule that does
//! not wait for answers (an answer that is late does not delay the next request), over
//! kept-alive connections. Latency runs from a request's scheduled time to its whole
//! answer. The flood opens a connection per request (`Connection: close`) and sends
//! `GET /scim/v2/Users` with a new well-formed token each time, `flood-rate` a second,
//! at most `--flood-in-flight` at once (requests past that are counted as not sent).
//!
//! `rounds` rounds of the two phases in turns, so that whatever else the machine does
//! weighs on both alike. Prints one line per phase of each round and then the rounds
//! pooled (`phase=alone` and `phase=flood`): `phase=… requests=… p50_ms=… p99_ms=…
//! max_ms=… errors=…`; then the flood's line `flood sent=… not_sent=… s401=… s429=…
//! other=… failed=… rate=…` (answered per second of flooding), and exits. Every phase is
//! bounded in time: a round takes `2 × seconds + 3` s, plus at most 30 s for a late
//! answer and 11 s for the flood's last requests.
// A benchmark client run as a program: failing loudly is what it should do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use rand::distributions::{Alphanumeric, DistString};
use rand::Rng;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use tokio::sync::Semaphore;

#[derive(Parser, Debug)]
#[command(about = "A tenant's paced SCIM traffic, alone and under a bad-token flood")]
struct Args {
    /// scimd's address.
    #[arg(long)]
    server: SocketAddr,
    /// The tenant's SCIM token.
    #[arg(long)]
    token: String,
    /// A file of seeded users, `userName id` per line.
    #[arg(long)]
    users: std::path::PathBuf,
    /// The tenant's requests per second.
    #[arg(long, default_value_t = 25.0)]
    rate: f64,
    /// Bad-token requests per second during the second phase.
    #[arg(long, default_value_t = 2000.0)]
    flood_rate: f64,
    /// Flood requests in flight at most.
    #[arg(long, default_value_t = 512)]
    flood_in_flight: usize,
    /// Seconds of each phase.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Rounds of the two phases, in turns (alone, then under the flood).
    #[arg(long, default_value_t = 3)]
    rounds: u32,
    #[arg(long, default_value = "127.0.0.1")]
    tenant_from: IpAddr,
    #[arg(long, default_value = "127.0.0.2")]
    flood_from: IpAddr,
}

struct Seeded {
    user_name: String,
    id: String,
}

#[derive(Default)]
struct FloodCounts {
    sent: AtomicU64,
    not_sent: AtomicU64,
    s401: AtomicU64,
    s429: AtomicU64,
    other: AtomicU64,
    failed: AtomicU64,
}

fn lookup_path(user_name: &str) -> String {
    let filter = format!("userName eq \"{user_name}\"");
    let encoded: String = url::form_urlencoded::byte_serialize(filter.as_bytes()).collect();
    format!("/scim/v2/Users?filter={}", encoded.replace('+', "%20"))
}

/// Entra's "Create User" body.
fn entra_user(user_name: &str) -> serde_json::Value {
    json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "externalId": user_name,
        "userName": user_name,
        "active": true,
        "displayName": format!("Flood Bench {user_name}"),
        "emails": [{"primary": true, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Flood Bench", "familyName": "Bench", "givenName": "Flood"},
        "roles": [],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales"}
    })
}

/// Entra's PATCH of `active` (it sends the boolean as a string, capitalised).
fn entra_active(active: bool) -> serde_json::Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": if active { "True" } else { "False" }}]
    })
}

/// The tenant's traffic for `seconds`: latencies in ms, and the number of errors.
async fn tenant_phase(
    args: &Args,
    client: &reqwest::Client,
    users: &Arc<Vec<Seeded>>,
    phase: &str,
    offset: usize,
) -> (Vec<f64>, u64) {
    let base = format!("http://{}", args.server);
    let total = (args.rate * args.seconds as f64) as usize;
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(total);
    for n in 0..total {
        let due = start + Duration::from_secs_f64(n as f64 / args.rate);
        tokio::time::sleep_until(due.into()).await;
        let step = offset + n;
        let seeded = &users[(step / 4) % users.len()];
        let new_name = format!("flood-{phase}-{}@bench.example", step / 4);
        let request = match step % 4 {
            0 => client.get(format!("{base}{}", lookup_path(&seeded.user_name))),
            1 => client
                .patch(format!("{base}/scim/v2/Users/{}", seeded.id))
                .json(&entra_active(step % 8 != 1)),
            2 => client.get(format!("{base}{}", lookup_path(&new_name))),
            _ => client
                .post(format!("{base}/scim/v2/Users"))
                .json(&entra_user(&new_name)),
        }
        .bearer_auth(&args.token)
        .header("content-type", "application/scim+json");
        tasks.push(tokio::spawn(async move {
            let result = request.send().await;
            let ok = match result {
                Ok(res) => {
                    let status = res.status();
                    let body = res.bytes().await;
                    body.is_ok() && status.is_success()
                }
                Err(_) => false,
            };
            (due.elapsed().as_secs_f64() * 1e3, ok)
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    let mut errors = 0;
    for task in tasks {
        match tokio::time::timeout(Duration::from_secs(30), task).await {
            Ok(Ok((ms, ok))) => {
                latencies.push(ms);
                errors += u64::from(!ok);
            }
            _ => errors += 1,
        }
    }
    (latencies, errors)
}

/// One bad-token request on a connection of its own from `from`.
async fn flood_once(server: SocketAddr, from: IpAddr, counts: &FloodCounts) {
    let token = format!(
        "scimd_{}_{}",
        Alphanumeric
            .sample_string(&mut rand::thread_rng(), 16)
            .to_lowercase(),
        Alphanumeric.sample_string(&mut rand::thread_rng(), 40)
    );
    let request = format!(
        "GET /scim/v2/Users?count=1 HTTP/1.1\r\nhost: {server}\r\nauthorization: Bearer {token}\r\n\
         connection: close\r\n\r\n"
    );
    let attempt = async {
        let socket = match from {
            IpAddr::V4(_) => TcpSocket::new_v4()?,
            IpAddr::V6(_) => TcpSocket::new_v6()?,
        };
        socket.bind(SocketAddr::new(from, 0))?;
        let mut stream = socket.connect(server).await?;
        stream.write_all(request.as_bytes()).await?;
        let mut answer = Vec::with_capacity(512);
        // The server closes after its answer (Connection: close), so the waiting
        // (TIME_WAIT) is on its side and the flood does not run out of ports.
        stream.read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    match tokio::time::timeout(Duration::from_secs(10), attempt).await {
        Ok(Ok(answer)) if answer.starts_with(b"HTTP/1.1 401") => &counts.s401,
        Ok(Ok(answer)) if answer.starts_with(b"HTTP/1.1 429") => &counts.s429,
        Ok(Ok(_)) => &counts.other,
        _ => &counts.failed,
    }
    .fetch_add(1, Ordering::Relaxed);
}

/// Sends bad-token requests at `rate` until `until`.
async fn flood(args: Arc<Args>, counts: Arc<FloodCounts>, until: Instant) {
    let gate = Arc::new(Semaphore::new(args.flood_in_flight));
    let start = Instant::now();
    let mut sent = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    while Instant::now() < until {
        tick.tick().await;
        let due = (start.elapsed().as_secs_f64() * args.flood_rate) as u64;
        while sent < due {
            sent += 1;
            let Ok(permit) = gate.clone().try_acquire_owned() else {
                counts.not_sent.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            counts.sent.fetch_add(1, Ordering::Relaxed);
            let counts = counts.clone();
            let (server, from) = (args.server, args.flood_from);
            tokio::spawn(async move {
                flood_once(server, from, &counts).await;
                drop(permit);
            });
        }
    }
    // Let the last requests finish (each is bounded by its own timeout).
    let _ = tokio::time::timeout(
        Duration::from_secs(11),
        gate.acquire_many(u32::try_from(args.flood_in_flight).unwrap_or(u32::MAX)),
    )
    .await;
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn report(phase: &str, mut latencies: Vec<f64>, errors: u64) {
    latencies.sort_by(f64::total_cmp);
    println!(
        "phase={phase} requests={} p50_ms={:.2} p99_ms={:.2} max_ms={:.2} errors={errors}",
        latencies.len(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(f64::NAN),
    );
}

#[tokio::main]
async fn main() {
    let args = Arc::new(Args::parse());
    let users: Vec<Seeded> = std::fs::read_to_string(&args.users)
        .expect("the users file")
        .lines()
        .filter_map(|l| {
            let (user_name, id) = l.split_once(' ')?;
            Some(Seeded {
                user_name: user_name.to_owned(),
                id: id.to_owned(),
            })
        })
        .collect();
    assert!(!users.is_empty(), "no users in {}", args.users.display());
    let users = Arc::new(users);
    let client = reqwest::Client::builder()
        .local_address(args.tenant_from)
        .timeout(Duration::from_secs(30))
        .pool_idle_timeout(Duration::from_secs(2))
        .build()
        .expect("client");
    // The first requests (argon2 for the token, plans made) are not measured.
    let warm = Args {
        seconds: 2,
        ..Args::parse()
    };
    let (_, warm_errors) = tenant_phase(&warm, &client, &users, "warm", 0).await;
    assert_eq!(warm_errors, 0, "the tenant's warm-up requests failed");

    let counts = Arc::new(FloodCounts::default());
    let mut flood_secs = 0.0;
    let (mut alone_all, mut busy_all, mut alone_errors, mut busy_errors) =
        (Vec::new(), Vec::new(), 0, 0);
    for round in 1..=args.rounds {
        let offset = rand::thread_rng().gen_range(0..users.len()) * 4;
        let phase = format!("alone{round}");
        let (latencies, errors) = tenant_phase(&args, &client, &users, &phase, offset).await;
        report(&phase, latencies.clone(), errors);
        alone_all.extend(latencies);
        alone_errors += errors;

        let started = Instant::now();
        let until = started + Duration::from_secs(args.seconds + 3);
        let flooding = tokio::spawn(flood(args.clone(), counts.clone(), until));
        // The flood is at full pace (its address limited) before the tenant is measured.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let phase = format!("flood{round}");
        let (latencies, errors) = tenant_phase(&args, &client, &users, &phase, offset + 2).await;
        report(&phase, latencies.clone(), errors);
        busy_all.extend(latencies);
        busy_errors += errors;
        flooding.await.expect("the flood");
        flood_secs += (args.seconds + 3) as f64;
    }
    report("alone", alone_all, alone_errors);
    report("flood", busy_all, busy_errors);
    let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
    println!(
        "flood sent={} not_sent={} s401={} s429={} other={} failed={} rate={:.0}",
        get(&counts.sent),
        get(&counts.not_sent),
        get(&counts.s401),
        get(&counts.s429),
        get(&counts.other),
        get(&counts.failed),
        (get(&counts.s401) + get(&counts.s429) + get(&counts.other)) as f64 / flood_secs,
    );
}
