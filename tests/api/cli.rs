//! The command line contract: `migrate`, `serve` with bootstrap, `tenant`, `token`,
//! `admin-key`, and clean failures.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{free_port, spawn_app, ScimClient, Served, TestDb};

fn scimd(db_url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scimd"));
    cmd.env("DATABASE_URL", db_url)
        .env("SCIMD_LOG", "warn")
        .env_remove("SCIMD_BIND");
    cmd
}

fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn migrate_creates_the_database_and_is_idempotent() {
    let db = TestDb::unborn();
    for _ in 0..2 {
        let (ok, _, err) = run(scimd(db.url.expose()).arg("migrate"));
        assert!(ok, "{err}");
    }
    use diesel::RunQueryDsl;
    let n = diesel::sql_query("SELECT 1 FROM tenants")
        .execute(&mut db.conn())
        .unwrap();
    assert_eq!(n, 0);
}

#[test]
fn unparseable_database_url_is_one_clear_line_and_a_failure() {
    for url in ["not a url", "mysql://h/db", "postgres://h/"] {
        let (ok, out, err) = run(scimd(url).arg("migrate"));
        assert!(!ok);
        assert!(out.is_empty());
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains("DATABASE_URL"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn unreachable_database_at_start_is_one_clear_line_and_a_failure() {
    let started = Instant::now();
    let (ok, _, err) = run(
        scimd("postgres://postgres:secretpw@127.0.0.1:1/scimd").args([
            "serve",
            "--bind",
            "127.0.0.1:0",
        ]),
    );
    assert!(!ok);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("127.0.0.1:1"), "{err}");
    assert!(!err.contains("secretpw"), "the password leaked: {err}");
    assert!(!err.contains("panicked"));
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[tokio::test]
async fn tenant_and_token_commands_print_what_scripts_need() {
    let app = spawn_app().await;
    let url = app.db.url.expose().to_owned();
    let (ok, out, err) = run(scimd(&url).args(["tenant", "create", "acme", "--name", "Acme"]));
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "acme");
    let (ok, out, _) = run(scimd(&url).args(["tenant", "list"]));
    assert!(ok);
    assert!(out.starts_with("acme\t"), "{out}");

    let (ok, token, err) =
        run(scimd(&url).args(["token", "issue", "--tenant", "acme", "--expires-in", "90d"]));
    assert!(ok, "{err}");
    let token = token.trim().to_owned();
    assert_eq!(token.lines().count(), 1);
    assert!(token.starts_with("scimd_"), "{token}");
    assert_eq!(
        app.scim_get(&token, "/ServiceProviderConfig")
            .await
            .status(),
        200
    );

    let (ok, listed, _) = run(scimd(&url).args(["token", "list", "--tenant", "acme"]));
    assert!(ok);
    let key_id = token.split('_').nth(1).unwrap();
    assert!(
        listed.contains(key_id) && listed.contains("live"),
        "{listed}"
    );
    assert!(!listed.contains(&token));

    let (ok, _, err) = run(scimd(&url).args(["token", "revoke", key_id]));
    assert!(ok, "{err}");
    let (_, listed, _) = run(scimd(&url).args(["token", "list", "--tenant", "acme"]));
    assert!(listed.contains("revoked"), "{listed}");

    let (ok, key, _) = run(scimd(&url).args(["admin-key", "issue", "--label", "ops"]));
    assert!(ok);
    let res = app
        .client
        .get(app.url("/admin/v1/tenants"))
        .header("authorization", format!("Bearer {}", key.trim()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let (ok, _, err) = run(scimd(&url).args(["tenant", "delete", "acme"]));
    assert!(!ok && err.contains("--yes"), "{err}");
    let (ok, _, _) = run(scimd(&url).args(["tenant", "delete", "acme", "--yes"]));
    assert!(ok);
    let (ok, _, err) = run(scimd(&url).args(["token", "issue", "--tenant", "acme"]));
    assert!(!ok && err.contains("no tenant"), "{err}");
}

/// `serve` on an empty database bootstraps `default`, prints a working token once, and
/// exits 0 on SIGTERM.
#[tokio::test]
async fn serve_bootstraps_an_empty_database_and_stops_cleanly_on_sigterm() {
    let db = TestDb::unborn();
    let port = free_port();
    let mut child = Served::spawn(
        scimd(db.url.expose())
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    );
    let lines = bootstrap_lines(&mut child).await;
    let find =
        |label: &str| printed(&lines, label).unwrap_or_else(|| panic!("no {label} in {lines:?}"));
    let base = find("SCIM base URL:");
    let token = find("SCIM token:");
    assert_eq!(base, format!("http://127.0.0.1:{port}/scim/v2"));
    let res = ScimClient::new(&base, &token)
        .get("/ServiceProviderConfig")
        .await;
    assert_eq!(res.status(), 200);
    let status = stop(child).await;
    assert!(status.success(), "{status:?}");

    // A second start on the same (now non-empty) database prints nothing.
    let again = Served::spawn(
        scimd(db.url.expose())
            .args(["serve", "--bind", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pid = again.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let again = again.into_child();
    let out = tokio::task::spawn_blocking(move || again.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(out.status.success());
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// `serve` writes its log from a thread of its own: a line reaches stderr while the server
/// runs, and every request's line is there, once, when it stops on SIGTERM.
#[tokio::test]
async fn serve_writes_every_request_line_by_the_time_it_stops() {
    let db = TestDb::unborn();
    let port = free_port();
    let log = std::env::temp_dir().join(format!("scimd-log-{}.txt", uuid::Uuid::new_v4()));
    let mut child = Served::spawn(
        scimd(db.url.expose())
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .env("SCIMD_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap()),
    );
    let lines = bootstrap_lines(&mut child).await;
    let token = printed(&lines, "SCIM token:").unwrap_or_else(|| panic!("no token in {lines:?}"));
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/scim/v2/Users?count=1");
    let get = |id: String| {
        let (client, url, token) = (client.clone(), url.clone(), token.clone());
        async move {
            let res = client
                .get(url)
                .bearer_auth(token)
                .header("X-Request-Id", &id)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            id
        }
    };
    let logged = |text: &str, id: &str| {
        text.lines()
            .filter(|l| l.contains(&format!("request_id={id} ")) && l.contains("status=200"))
            .count()
    };

    // One request on an idle server: its line is written without waiting for more.
    let first = get("log-first".to_owned()).await;
    let until = Instant::now() + Duration::from_secs(5);
    while logged(&std::fs::read_to_string(&log).unwrap(), &first) == 0 {
        assert!(Instant::now() < until, "the request's line was not written");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Many at once (within the tenant's default rate limit), and SIGTERM right after the
    // last answer.
    let mut ids = Vec::new();
    for batch in 0..5 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let calls = (0..20).map(|n| get(format!("log-{batch}-{n}")));
        ids.extend(futures_util::future::join_all(calls).await);
    }
    let status = stop(child).await;
    assert!(status.success(), "{status:?}");
    let text = std::fs::read_to_string(&log).unwrap();
    let _ = std::fs::remove_file(&log);
    let missing: Vec<_> = ids.iter().filter(|id| logged(&text, id) != 1).collect();
    assert!(
        missing.is_empty(),
        "{} of {} lines missing or repeated: {missing:?}",
        missing.len(),
        ids.len()
    );
    assert!(
        text.lines()
            .last()
            .unwrap_or_default()
            .contains("scimd stopped"),
        "{text}"
    );
}

/// The value `serve` printed after `label` (e.g. `SCIM token:`) in its bootstrap lines.
pub fn printed(lines: &[String], label: &str) -> Option<String> {
    lines
        .iter()
        .find_map(|l| l.trim().strip_prefix(label).map(|v| v.trim().to_owned()))
}

/// SIGTERM to a `serve`, and how it exited.
pub async fn stop(child: Served) -> std::process::ExitStatus {
    let mut child = child.into_child();
    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap()
}

/// What `serve` printed on stdout up to the bootstrap's "Try:" line (or its end, if it
/// stopped first).
pub async fn bootstrap_lines(child: &mut std::process::Child) -> Vec<String> {
    let stdout = child.stdout.take().unwrap();
    tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .take_while(|l| !l.trim_start().starts_with("Try:"))
            .collect()
    })
    .await
    .unwrap()
}

/// A SIGTERM that comes after the server is built but before it first runs (here, while
/// the bootstrap waits for its lock) still stops it gracefully: the bootstrap finishes,
/// the server stops, and the process exits 0. Under actix-server's own handlers, which are
/// installed only when the server first runs, the signal's default action ended it.
#[tokio::test]
async fn a_sigterm_before_the_server_first_runs_still_stops_it_cleanly() {
    use scimd::store::locks::BOOTSTRAP;
    let db = TestDb::new();
    let mut holder = db.conn();
    BOOTSTRAP.lock_for_session(&mut holder).unwrap();
    let mut child = Served::spawn(
        scimd(db.url.expose())
            .args(["serve", "--bind", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    );
    // Wait until serve's bootstrap waits for the lock the test holds (in this database:
    // advisory locks are per database, and other tests bootstrap too).
    let waiting = || {
        #[derive(diesel::QueryableByName)]
        struct Waiting {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        use diesel::RunQueryDsl;
        diesel::sql_query(
            "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted \
             AND objid = $1 \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .bind::<diesel::sql_types::Oid, _>(u32::try_from(BOOTSTRAP.id()).unwrap())
        .get_result::<Waiting>(&mut db.conn())
        .unwrap()
        .n
    };
    let until = Instant::now() + Duration::from_secs(30);
    while waiting() == 0 {
        assert!(Instant::now() < until, "serve never reached its bootstrap");
        assert!(child.try_wait().unwrap().is_none(), "serve exited early");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    tokio::time::sleep(Duration::from_millis(300)).await;
    BOOTSTRAP.unlock_session(&mut holder).unwrap();
    let lines = bootstrap_lines(&mut child).await;
    assert!(printed(&lines, "SCIM token:").is_some(), "{lines:?}");
    let mut child = child.into_child();
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn no_bootstrap_leaves_an_empty_database_empty() {
    let db = TestDb::unborn();
    let mut child = Served::spawn(
        scimd(db.url.expose())
            .args(["serve", "--bind", "127.0.0.1:0", "--no-bootstrap"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    );
    std::thread::sleep(Duration::from_secs(2));
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let _ = child.wait();
    use diesel::RunQueryDsl;
    let n = diesel::sql_query("SELECT 1 FROM tenants")
        .execute(&mut db.conn())
        .unwrap();
    assert_eq!(n, 0);
}

/// The server binary allocates through jemalloc with the arena setting it exports (one
/// arena per CPU, which keeps peak RSS near glibc's). jemalloc reads that setting from a
/// symbol only a prefixed build looks up: if the binding ever stopped prefixing, the
/// setting would be ignored without a word. jemalloc's own statistics at exit say what
/// it read.
#[test]
fn the_binary_allocates_through_jemalloc_with_one_arena_per_cpu() {
    let (ok, out, err) = run(Command::new(env!("CARGO_BIN_EXE_scimd"))
        .arg("--version")
        .env("_RJEM_MALLOC_CONF", "stats_print:true"));
    assert!(ok, "{err}");
    assert!(out.starts_with("scimd "), "{out}");
    assert!(
        err.contains("opt.percpu_arena: \"percpu\""),
        "jemalloc did not read the arena setting:\n{}",
        err.lines()
            .filter(|l| l.contains("malloc_conf") || l.contains("percpu"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The env twins `scimd serve --help` lists, each with its default (`None` when it has
/// none).
fn serve_help_settings() -> BTreeMap<String, Option<String>> {
    // No inherited env: `--help` prints an env twin's value when it is set.
    let (ok, help, err) = run(Command::new(env!("CARGO_BIN_EXE_scimd"))
        .args(["serve", "--help"])
        .env_clear());
    assert!(ok, "{err}");
    // One block per option: its `--flag` line and the lines up to the next one.
    let mut blocks: Vec<String> = Vec::new();
    for line in help.lines() {
        if line.trim_start().starts_with('-') {
            blocks.push(String::new());
        }
        if let Some(block) = blocks.last_mut() {
            block.push_str(line);
            block.push('\n');
        }
    }
    let bracketed = |block: &str, tag: &str| {
        let start = block.find(tag)? + tag.len();
        let len = block[start..].find(']')?;
        Some(block[start..start + len].to_owned())
    };
    blocks
        .iter()
        .filter_map(|block| {
            let env = bracketed(block, "[env: ")?;
            let name = env.split('=').next().unwrap_or_default().to_owned();
            Some((name, bracketed(block, "[default: ")))
        })
        .collect()
}

/// README's settings table: each setting with its default when the cell is one code span
/// (`None` when it describes the default in words).
fn readme_settings() -> BTreeMap<String, Option<String>> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("read README.md");
    let table = readme
        .split("| setting | default | |\n|---|---|---|\n")
        .nth(1)
        .expect("README has the settings table");
    table
        .lines()
        .take_while(|l| l.starts_with('|'))
        .map(|row| {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            let name = cells[1].trim_matches('`').to_owned();
            let default = cells[2];
            let code = default
                .strip_prefix('`')
                .and_then(|d| d.strip_suffix('`'))
                .filter(|d| !d.contains('`'));
            assert!(
                code.is_some() || !default.contains('`'),
                "{name}: a default is one code span or words, not both: {default}"
            );
            (name, code.map(str::to_owned))
        })
        .collect()
}

/// README's settings table is `scimd serve --help`: the same env twins, the same defaults,
/// and words only where `--help` shows no default.
#[test]
fn readme_settings_table_matches_serve_help() {
    let help = serve_help_settings();
    assert!(help.contains_key("DATABASE_URL") && help.contains_key("SCIMD_BIND"));
    assert_eq!(readme_settings(), help);
}

/// Log lines written to a pipe (a file, a log collector) carry no terminal colour codes.
#[test]
fn log_lines_to_a_pipe_carry_no_colour_codes() {
    // An invalid filter is logged as a warning before anything else happens; the
    // unreachable database then ends the run.
    let (ok, _, err) = run(scimd("postgres://postgres@127.0.0.1:1/scimd")
        .args(["--log", "scimd=nonsense", "migrate"])
        .env_remove("NO_COLOR")
        .stderr(Stdio::piped()));
    assert!(!ok);
    assert!(err.contains("not a valid filter"), "{err}");
    assert!(!err.contains('\x1b'), "{err:?}");
}

/// `tenant set`'s fixed choices are listed by `--help` and refused before any database
/// work when misspelt.
#[test]
fn tenant_set_lists_its_fixed_choices_and_refuses_others() {
    let (ok, help, err) = run(Command::new(env!("CARGO_BIN_EXE_scimd"))
        .args(["tenant", "set", "--help"])
        .env_clear());
    assert!(ok, "{err}");
    assert!(
        help.contains("[possible values: scim, graph, google, manual]"),
        "{help}"
    );
    assert!(help.contains("[possible values: retain, remove]"), "{help}");

    for (flag, value) in [("--source", "ldap"), ("--on-source-delete", "purge")] {
        let (ok, _, err) = run(scimd("postgres://postgres@127.0.0.1:1/scimd")
            .args(["tenant", "set", "acme", flag, value]));
        assert!(!ok);
        assert!(err.contains(&format!("invalid value '{value}'")), "{err}");
        assert!(!err.contains("cannot connect"), "{err}");
    }
}

/// What the writes so far left for tenant `slug`, ids, slugs and times aside: the tenant
/// row (`null` when there is none), its tokens and its events.
fn footprint(db: &TestDb, slug: &str) -> Value {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Jsonb)]
        v: Value,
    }
    use diesel::RunQueryDsl;
    diesel::sql_query(
        "SELECT jsonb_build_object(\
           'tenant', (SELECT to_jsonb(t) - 'id' - 'slug' - 'created_at' - 'updated_at' \
                      FROM tenants t WHERE t.slug = $1), \
           'tokens', (SELECT coalesce(jsonb_agg(jsonb_build_object(\
                        'label', s.label, 'expires', s.expires_at IS NOT NULL, \
                        'revoked', s.revoked_at IS NOT NULL) ORDER BY s.created_at, s.key_id), '[]') \
                      FROM scim_tokens s JOIN tenants t ON t.id = s.tenant_id WHERE t.slug = $1), \
           'events', (SELECT coalesce(jsonb_agg(jsonb_build_object(\
                        'type', e.type, 'resource_type', e.resource_type, 'data', e.data) \
                        ORDER BY e.seq), '[]') \
                      FROM events e JOIN tenants t ON t.id = e.tenant_id WHERE t.slug = $1)\
         ) AS v",
    )
    .bind::<diesel::sql_types::Text, _>(slug)
    .get_result::<Row>(&mut db.conn())
    .unwrap()
    .v
}

/// `tenant create`, `tenant set`, `token issue`, `token revoke` and `tenant delete` go
/// through the provisioning functions the admin API's handlers call, so a write on the
/// command line leaves the same rows and events as the same write through the admin API.
#[tokio::test]
async fn command_line_writes_leave_what_the_same_admin_api_writes_leave() {
    let app = spawn_app().await;
    let url = app.db.url.expose().to_owned();
    let same = |what: &str| {
        let (cli, api) = (footprint(&app.db, "by-cli"), footprint(&app.db, "by-api"));
        assert_eq!(cli, api, "{what}");
        cli
    };

    let (ok, _, err) = run(scimd(&url).args(["tenant", "create", "by-cli", "--name", " Acme "]));
    assert!(ok, "{err}");
    app.create_tenant_from(&json!({"slug": "by-api", "name": " Acme "}))
        .await;
    assert_eq!(same("tenant create")["tenant"]["name"], "Acme");

    let (ok, _, err) = run(scimd(&url).args([
        "tenant",
        "set",
        "by-cli",
        "--name",
        "Acme Ltd",
        "--source",
        "manual",
        "--on-source-delete",
        "remove",
        "--rate-per-second",
        "25",
        "--rate-burst",
        "50",
        "--erase-deprovisioned-after",
        "90d",
    ]));
    assert!(ok, "{err}");
    app.patch_tenant(
        "by-api",
        &json!({"name": "Acme Ltd", "source": "manual", "on_source_delete": "remove",
                "rate_limit": {"per_second": 25, "burst": 50},
                "erase_deprovisioned_after": "90d"}),
    )
    .await;
    assert_eq!(
        same("tenant set")["tenant"],
        json!({"name": "Acme Ltd", "source": "manual", "on_source_delete": "remove",
               "rate_per_second": 25, "rate_burst": 50, "sync_interval_secs": 21600,
               "brake_max_percent": 20, "brake_min_count": 10,
               "erase_deprovisioned_after_secs": 7_776_000})
    );
    // `never` on the command line is `null` in the admin API: deprovisioned people are kept.
    let (ok, out, err) = run(scimd(&url).args([
        "tenant",
        "set",
        "by-cli",
        "--erase-deprovisioned-after",
        "never",
    ]));
    assert!(ok, "{err}");
    assert!(out.contains("erase_deprovisioned_after=never"), "{out}");
    app.patch_tenant("by-api", &json!({"erase_deprovisioned_after": null}))
        .await;
    assert_eq!(
        same("tenant set never")["tenant"]["erase_deprovisioned_after_secs"],
        Value::Null
    );

    // A partial change leaves the other settings as they are.
    let (ok, _, err) = run(scimd(&url).args(["tenant", "set", "by-cli", "--rate-burst", "75"]));
    assert!(ok, "{err}");
    app.patch_tenant("by-api", &json!({"rate_limit": {"burst": 75}}))
        .await;
    let after = same("tenant set, one setting");
    assert_eq!(
        (&after["tenant"]["rate_burst"], &after["tenant"]["source"]),
        (&json!(75), &json!("manual"))
    );

    let (ok, cli_token, err) = run(scimd(&url).args([
        "token",
        "issue",
        "--tenant",
        "by-cli",
        "--label",
        "ci",
        "--expires-in",
        "90d",
    ]));
    assert!(ok, "{err}");
    let cli_token = cli_token.trim().to_owned();
    let issued = app
        .issue_token("by-api", &json!({"label": "ci", "expires_in": "90d"}))
        .await;
    let api_token = issued["token"].as_str().unwrap().to_owned();
    assert_eq!(
        same("token issue")["tokens"],
        json!([{"label": "ci", "expires": true, "revoked": false}])
    );

    let cli_key = cli_token.split('_').nth(1).unwrap();
    let (ok, _, err) = run(scimd(&url).args(["token", "revoke", cli_key]));
    assert!(ok, "{err}");
    let res = app
        .admin_delete(&format!(
            "/admin/v1/tenants/by-api/tokens/{}",
            issued["key_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(
        same("token revoke")["tokens"],
        json!([{"label": "ci", "expires": true, "revoked": true}])
    );
    for token in [&cli_token, &api_token] {
        let res = app.scim_get(token, "/ServiceProviderConfig").await;
        assert_eq!(res.status(), 401);
    }

    let (ok, _, err) = run(scimd(&url).args(["tenant", "delete", "by-cli", "--yes"]));
    assert!(ok, "{err}");
    let res = app.admin_delete("/admin/v1/tenants/by-api").await;
    assert_eq!(res.status(), 204);
    assert_eq!(
        same("tenant delete"),
        json!({"tenant": null, "tokens": [], "events": []})
    );
}
