//! The `scimd` command line. Every flag but those of `tenant set` has an env twin;
//! `scimd <command> --help` lists them. `serve`'s flags and their defaults are defined
//! with the settings they fill, in `config.rs`.
//! Command output (a token, a table) goes to stdout; logs and errors go to stderr.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use scimd::clock::{self, SharedClock};
use scimd::config::{
    DatabaseUrl, LogFormat, SecretKeyArgs, ServeArgs, Settings, DEFAULT_DATABASE_URL,
};
use scimd::domain::{DeletePolicy, Source};
use scimd::error::Error;
use scimd::provisioning::{connections, credentials, tenants};
use scimd::secrets;
use scimd::store::local::{self, LocalCluster, Started};
use scimd::store::{self, database};
use scimd::{telemetry, Application};

/// jemalloc rather than glibc's allocator: glibc's malloc family took about 12% of the
/// server's CPU under load (many small JSON values, a good part made on a blocking thread
/// and freed on a worker), and jemalloc's thread caches are cheaper there. It serves Rust's
/// allocations only: the C libraries (libpq, OpenSSL) still allocate through glibc's
/// malloc, which holds a small part of the server's memory (about 15 MB after a walk of
/// 1,000-user pages).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// One jemalloc arena per CPU, taken by the CPU a thread runs on. The default, four
/// arenas per CPU handed out by thread, let each of the dozens of blocking threads keep
/// its own freed pages: peak RSS over a walk of 1,000-user pages rose from 97 MiB
/// (glibc) to 214 MiB; with this it is 98 MiB. (jemalloc reads this C string at start.)
#[export_name = "_rjem_malloc_conf"]
static MALLOC_CONF: &[u8; 20] = b"percpu_arena:percpu\0";

#[derive(Parser)]
#[command(name = "scimd", version, about = "SCIM 2.0 provisioning server")]
struct Cli {
    /// PostgreSQL URL; the database is created if missing. When not set: the default
    /// server if anything answers there, else a PostgreSQL of scimd's own in --data-dir.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    database_url: Option<String>,

    /// Where PostgreSQL is looked for when DATABASE_URL is not set (tests point it at a
    /// port where nothing listens).
    #[arg(
        long,
        env = "SCIMD_DEFAULT_DATABASE_URL",
        default_value = DEFAULT_DATABASE_URL,
        global = true,
        hide = true
    )]
    default_database_url: String,

    /// The folder of scimd's own PostgreSQL, started from the PostgreSQL installed here
    /// when DATABASE_URL is not set and nothing answers at the default address.
    #[arg(long, env = "SCIMD_DATA_DIR", default_value = local::DEFAULT_DATA_DIR, global = true)]
    data_dir: std::path::PathBuf,

    /// The folder of the PostgreSQL programs (initdb, pg_ctl) for scimd's own PostgreSQL;
    /// searched for when not set (PATH, `pg_config --bindir`, the packages' folders).
    #[arg(long, env = "SCIMD_POSTGRES_BIN", global = true)]
    postgres_bin: Option<std::path::PathBuf>,

    /// Log filter, e.g. `info` or `info,scimd=debug`.
    #[arg(long, env = "SCIMD_LOG", default_value = "info", global = true)]
    log: String,

    /// Log line format; logs go to stderr.
    #[arg(
        long,
        env = "SCIMD_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Pretty,
        global = true
    )]
    log_format: LogFormat,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the database if missing and run the migrations (idempotent).
    Migrate,
    /// Migrate, then serve SCIM and the admin API until SIGINT/SIGTERM.
    Serve(Box<ServeArgs>),
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCmd),
    /// Manage SCIM bearer tokens.
    #[command(subcommand)]
    Token(TokenCmd),
    /// Manage admin keys for /admin/v1.
    #[command(subcommand, name = "admin-key")]
    AdminKey(AdminKeyCmd),
    /// Manage the key that seals connection secrets at rest.
    #[command(subcommand, name = "secret-key")]
    SecretKey(SecretKeyCmd),
    /// Pull syncs of connected tenants.
    #[command(subcommand)]
    Sync(SyncCmd),
}

#[derive(Subcommand)]
enum SyncCmd {
    /// Queue a sync of the tenant's connection (or find the one already queued or running)
    /// and print its id; a serving node runs it. With --wait, print its outcome once it
    /// ends.
    Run {
        #[arg(long)]
        tenant: String,
        /// Compute the plan and stop (status `planned`): nothing is written.
        #[arg(long)]
        dry_run: bool,
        /// Wait for the run to end and print it; exits non-zero unless it succeeded or
        /// was planned.
        #[arg(long)]
        wait: bool,
        /// How long --wait waits.
        #[arg(long, default_value = "30m")]
        timeout: humantime::Duration,
    },
    /// List the tenant's sync runs, newest first.
    Runs {
        #[arg(long)]
        tenant: String,
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
}

#[derive(Subcommand)]
enum SecretKeyCmd {
    /// Print a new random key for SCIMD_SECRET_KEY, and only it.
    Generate,
    /// Seal every stored secret again under SCIMD_SECRET_KEY, opening each with it or with
    /// SCIMD_SECRET_KEY_PREVIOUS, in one transaction.
    Rotate {
        #[command(flatten)]
        keys: SecretKeyArgs,
    },
}

#[derive(Subcommand)]
enum TenantCmd {
    /// Create a tenant.
    Create {
        slug: String,
        #[arg(long, env = "SCIMD_TENANT_NAME")]
        name: Option<String>,
    },
    /// List tenants.
    List,
    /// Change a tenant's settings; options not given are left as they are.
    Set {
        slug: String,
        #[arg(long)]
        name: Option<String>,
        /// Where people come from. While graph or google is set, SCIM writes are refused
        /// with 409.
        #[arg(long, value_enum)]
        source: Option<Source>,
        /// What a delete at the source does: retain (deprovision, restorable) or remove.
        #[arg(long, value_enum)]
        on_source_delete: Option<DeletePolicy>,
        /// Sustained SCIM requests per second for this tenant.
        #[arg(long)]
        rate_per_second: Option<i64>,
        /// SCIM requests allowed in a burst above the sustained rate.
        #[arg(long)]
        rate_burst: Option<i64>,
        /// How often a connected tenant syncs, 15m to 30d (e.g. 6h).
        #[arg(long)]
        sync_interval: Option<String>,
        /// Hold a sync run that would deprovision more than this percentage (0 to 100) of
        /// the people its connection manages...
        #[arg(long)]
        brake_max_percent: Option<i64>,
        /// ...and more than this many people.
        #[arg(long)]
        brake_min_count: Option<i64>,
        /// Erase deprovisioned people this long after they were deprovisioned, 1d to 100y
        /// (e.g. 90d), each with a `user.removed` event; `never` keeps them (the default).
        #[arg(long)]
        erase_deprovisioned_after: Option<String>,
    },
    /// Delete a tenant and everything it owns.
    Delete {
        slug: String,
        /// Confirm the deletion.
        #[arg(long, env = "SCIMD_YES")]
        yes: bool,
    },
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Issue a SCIM token; prints only the token.
    Issue {
        #[arg(long, env = "SCIMD_TENANT")]
        tenant: String,
        #[arg(long, env = "SCIMD_TOKEN_LABEL")]
        label: Option<String>,
        /// Lifetime such as 90d or 12h; no expiry when omitted.
        #[arg(long, env = "SCIMD_TOKEN_EXPIRES_IN")]
        expires_in: Option<String>,
    },
    /// List a tenant's tokens (never their secrets).
    List {
        #[arg(long, env = "SCIMD_TENANT")]
        tenant: String,
    },
    /// Revoke a token by key id.
    Revoke { key_id: String },
}

#[derive(Subcommand)]
enum AdminKeyCmd {
    /// Issue an admin key; prints only the key.
    Issue {
        #[arg(long, env = "SCIMD_ADMIN_KEY_LABEL")]
        label: Option<String>,
    },
    /// Revoke an admin key by key id; every server refuses it within a second.
    Revoke { key_id: String },
}

/// A failure the command line reports as one line on stderr.
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Url(#[from] scimd::config::DatabaseUrlError),
    #[error(transparent)]
    Migrate(#[from] database::MigrateError),
    #[error(transparent)]
    Start(#[from] scimd::StartError),
    #[error(transparent)]
    Settings(#[from] scimd::config::SettingsError),
    #[error(transparent)]
    Key(#[from] secrets::KeyError),
    #[error(transparent)]
    Local(#[from] local::LocalError),
    #[error("{0}")]
    App(String),
    #[error("server stopped with an error: {0}")]
    Serve(std::io::Error),
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        let mut text = e.to_string();
        if let Error::Unavailable(cause) | Error::Internal(cause) = &e {
            text = format!("{text}: {cause}");
        }
        CliError::App(text)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let sink = match cli.command {
        Command::Serve(_) => telemetry::Sink::Background,
        _ => telemetry::Sink::Direct,
    };
    let logs = telemetry::init(&cli.log, cli.log_format, sink);
    let result = run(cli);
    // The server's last lines are written before the error that ends it.
    drop(logs);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scimd: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The database: `DATABASE_URL`, or the default server if anything answers there, or a
/// PostgreSQL of scimd's own (`store::local`), which is stopped when the returned cluster
/// is dropped, if this process started it. Says so, once, when it is scimd's own.
fn database(cli: &Cli) -> Result<(DatabaseUrl, Option<LocalCluster>), CliError> {
    if let Some(raw) = &cli.database_url {
        return Ok((DatabaseUrl::parse(raw)?, None));
    }
    let default = DatabaseUrl::parse(&cli.default_database_url)?;
    if local::answers(&default) {
        return Ok((default, None));
    }
    let cluster = LocalCluster::start(
        &cli.data_dir,
        cli.postgres_bin.as_deref(),
        &default.server(),
    )?;
    let url = cluster.url(&default.database_name())?;
    let what = match cluster.started {
        Started::Created => "created and started",
        Started::Started => "started",
        Started::TookOver => "took over (its scimd had stopped)",
        Started::Joined => "joined (another scimd runs it)",
    };
    let until = if cluster.owned() {
        "it stops when this scimd does"
    } else {
        "the scimd that runs it stops it"
    };
    eprintln!(
        "scimd: DATABASE_URL is not set and nothing answers at {}: {what} scimd's own \
         PostgreSQL {} in {}, listening on a Unix socket there only; {until}",
        default.server(),
        cluster.version(),
        cluster.dir().display(),
    );
    Ok((url, Some(cluster)))
}

fn run(cli: Cli) -> Result<(), CliError> {
    // The one command that needs no database does not start one.
    if let Command::SecretKey(SecretKeyCmd::Generate) = cli.command {
        println!("{}", secrets::generate_key());
        return Ok(());
    }
    // Held to the end: the cluster of scimd's own, if any, stops when it is dropped.
    let (url, _cluster) = database(&cli)?;
    let clock = clock::system();
    match cli.command {
        Command::Migrate => {
            let applied = database::migrate(&url)?;
            eprintln!(
                "scimd: database `{}` is up to date ({applied} migrations applied)",
                url.database_name()
            );
            Ok(())
        }
        Command::Serve(args) => serve(url, *args, clock),
        Command::Tenant(cmd) => tenant(&url, cmd, &clock),
        Command::Token(cmd) => token(&url, cmd, &clock),
        Command::AdminKey(AdminKeyCmd::Issue { label }) => {
            let mut conn = database::connect(&url)?;
            let issued =
                credentials::issue_admin_key(&mut conn, label.as_deref(), None, clock.now())?;
            println!("{}", issued.token);
            Ok(())
        }
        Command::AdminKey(AdminKeyCmd::Revoke { key_id }) => {
            let mut conn = database::connect(&url)?;
            credentials::revoke_admin_key(&mut conn, &key_id, clock.now())?;
            eprintln!("scimd: revoked admin key {key_id}");
            Ok(())
        }
        Command::SecretKey(cmd) => secret_key(&url, cmd),
        Command::Sync(cmd) => sync(&url, cmd, &clock),
    }
}

/// One line of a run: id, trigger, status, start and end, counts, error.
fn run_line(run: &scimd::store::sync::RunRow) -> String {
    let time =
        |t: Option<chrono::DateTime<chrono::Utc>>| t.map_or("-".to_owned(), |t| t.to_rfc3339());
    let counts = run
        .counts
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(_, n)| n.as_i64().is_some_and(|n| n > 0))
                .map(|(k, n)| format!("{k}={n}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    let error = run
        .error
        .as_ref()
        .and_then(|e| e.get("message"))
        .and_then(serde_json::Value::as_str)
        .unwrap_or("");
    format!(
        "{}\t{}\t{}{}\t{}\t{}\t{counts}\t{error}",
        run.id,
        run.trigger,
        run.status,
        if run.dry_run { " (dry run)" } else { "" },
        time(run.started_at),
        time(run.finished_at),
    )
}

fn sync(url: &DatabaseUrl, cmd: SyncCmd, clock: &SharedClock) -> Result<(), CliError> {
    use scimd::domain::{RunStatus, RunTrigger};
    use scimd::provisioning::sync as runs;
    let mut conn = database::connect(url)?;
    match cmd {
        SyncCmd::Run {
            tenant,
            dry_run,
            wait,
            timeout,
        } => {
            let run = runs::queue_in(&mut conn, &tenant, RunTrigger::Manual, dry_run, clock.now())?;
            if !wait {
                println!("{}", run.id);
                return Ok(());
            }
            let until = std::time::Instant::now() + std::time::Duration::from(timeout);
            loop {
                let now = runs::run_in(&mut conn, &tenant, run.id)?;
                if !RunStatus::ACTIVE.contains(&now.status) {
                    println!("{}", run_line(&now));
                    return match now.status {
                        RunStatus::Succeeded | RunStatus::Planned => Ok(()),
                        other => Err(CliError::App(format!("sync run {} is {other}", now.id))),
                    };
                }
                if std::time::Instant::now() >= until {
                    return Err(CliError::App(format!(
                        "sync run {} is still {} after {timeout}; is a node with \
                         SCIMD_SYNC_WORKERS above 0 serving?",
                        run.id, now.status
                    )));
                }
                std::thread::sleep(std::time::Duration::from_millis(500));
            }
        }
        SyncCmd::Runs { tenant, limit } => {
            for run in runs::runs_in(&mut conn, &tenant, None, limit.clamp(1, 500))? {
                println!("{}", run_line(&run));
            }
        }
    }
    Ok(())
}

fn secret_key(url: &DatabaseUrl, cmd: SecretKeyCmd) -> Result<(), CliError> {
    match cmd {
        // Answered before any database is reached ([`run`]).
        SecretKeyCmd::Generate => {}
        SecretKeyCmd::Rotate { keys } => {
            let keyring = keys.keyring()?.ok_or_else(|| {
                CliError::App(format!(
                    "{} is not set: it is the key to seal the secrets under",
                    secrets::KEY_VAR
                ))
            })?;
            let mut conn = database::connect(url)?;
            let n = connections::rotate(&mut conn, &keyring)?;
            println!("{n}");
            eprintln!(
                "scimd: sealed {n} connection secrets again under {}",
                secrets::KEY_VAR
            );
        }
    }
    Ok(())
}

fn serve(url: DatabaseUrl, args: ServeArgs, clock: SharedClock) -> Result<(), CliError> {
    // Settings first: a bad key stops the server before it touches the database.
    let settings = Settings::from_args(url.clone(), args)?;
    database::migrate(&url)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Serve)?;
    runtime.block_on(async move {
        let app = Application::build(settings.clone(), clock.clone())?;
        if settings.bootstrap {
            let db = app.db();
            let now = clock.now();
            let made = db.run(move |conn| credentials::bootstrap(conn, now)).await?;
            if let Some(made) = made {
                println!(
                    "scimd: bootstrapped tenant `{}` on an empty database. These are shown once:\n\
                     \n  SCIM base URL: {}/scim/v2\n  SCIM token:    {}\n  Admin key:     {}\n\
                     \n  Try: curl -H \"Authorization: Bearer {}\" {}/scim/v2/ServiceProviderConfig\n",
                    made.tenant.slug,
                    app.public_url(),
                    made.token.token,
                    made.admin_key.token,
                    made.token.token,
                    app.public_url(),
                );
            }
        }
        tracing::info!(addr = %app.addr(), "scimd listening");
        app.run_until_stopped().await.map_err(CliError::Serve)?;
        tracing::info!("scimd stopped");
        Ok(())
    })
}

fn tenant(url: &DatabaseUrl, cmd: TenantCmd, clock: &SharedClock) -> Result<(), CliError> {
    let mut conn = database::connect(url)?;
    match cmd {
        TenantCmd::Create { slug, name } => {
            let slug = tenants::TenantSlug::parse(&slug)?;
            let t = tenants::create(&mut conn, &slug, name.as_deref())?;
            println!("{}", t.slug);
        }
        TenantCmd::List => {
            let mut after: Option<String> = None;
            loop {
                let page = tenants::list(&mut conn, after.as_deref(), 500)?;
                for t in &page {
                    println!(
                        "{}\t{}\t{}\t{}",
                        t.slug,
                        t.source,
                        t.created_at.to_rfc3339(),
                        t.name
                    );
                }
                match page.last() {
                    Some(last) if page.len() == 500 => after = Some(last.slug.clone()),
                    _ => break,
                }
            }
        }
        TenantCmd::Set {
            slug,
            name,
            source,
            on_source_delete,
            rate_per_second,
            rate_burst,
            sync_interval,
            brake_max_percent,
            brake_min_count,
            erase_deprovisioned_after,
        } => {
            let patch = tenants::SettingsPatch {
                name,
                source: source.map(|s| s.as_str().to_owned()),
                on_source_delete: on_source_delete.map(|p| p.as_str().to_owned()),
                rate_limit: Some(tenants::RatePatch {
                    per_second: rate_per_second,
                    burst: rate_burst,
                }),
                sync_interval,
                deprovision_brake: Some(tenants::BrakePatch {
                    max_percent: brake_max_percent,
                    min_count: brake_min_count,
                }),
                erase_deprovisioned_after: erase_deprovisioned_after
                    .map(|after| Some(after).filter(|a| a.trim() != "never")),
            };
            let t = tenants::update_settings(&mut conn, &slug, &patch, clock.now())?;
            println!(
                "{}\tsource={}\ton_source_delete={}\trate_limit={}/s burst {}\tsync_interval={}\tbrake={}% min {}\terase_deprovisioned_after={}",
                t.slug,
                t.source,
                t.on_source_delete,
                t.rate_per_second,
                t.rate_burst,
                tenants::format_interval(t.sync_interval_secs),
                t.brake_max_percent,
                t.brake_min_count,
                tenants::format_erase_after(t.erase_deprovisioned_after_secs)
                    .unwrap_or_else(|| "never".into())
            );
        }
        TenantCmd::Delete { slug, yes } => {
            if !yes {
                return Err(CliError::App(format!(
                    "deleting tenant `{slug}` erases all its people, groups, tokens and events; add --yes to confirm"
                )));
            }
            tenants::delete(&mut conn, &slug)?;
            eprintln!("scimd: deleted tenant `{slug}`");
        }
    }
    Ok(())
}

fn token(url: &DatabaseUrl, cmd: TokenCmd, clock: &SharedClock) -> Result<(), CliError> {
    let mut conn = database::connect(url)?;
    let now = clock.now();
    match cmd {
        TokenCmd::Issue {
            tenant,
            label,
            expires_in,
        } => {
            let expires_at = expires_in
                .as_deref()
                .map(credentials::parse_expires_in)
                .transpose()?
                .map(|d| now + d);
            let t = tenants::get(&mut conn, &tenant)?;
            let issued =
                credentials::issue_token(&mut conn, t.id, label.as_deref(), expires_at, now)?;
            println!("{}", issued.token);
        }
        TokenCmd::List { tenant } => {
            let t = tenants::get(&mut conn, &tenant)?;
            let mut after = None;
            loop {
                let page = store::credentials::list_tokens(&mut conn, t.id, after, 500)
                    .map_err(Error::from)?;
                for k in &page {
                    println!(
                        "{}\t{}\t{}\t{}\t{}",
                        k.key_id,
                        credentials::TokenState::of(k, now),
                        k.created_at.to_rfc3339(),
                        k.expires_at
                            .map(|t| t.to_rfc3339())
                            .unwrap_or_else(|| "-".into()),
                        k.label.as_deref().unwrap_or("-"),
                    );
                }
                match page.last() {
                    Some(last) if page.len() == 500 => {
                        after = Some((last.created_at, last.key_id.clone()))
                    }
                    _ => break,
                }
            }
        }
        TokenCmd::Revoke { key_id } => {
            credentials::revoke_token(&mut conn, &key_id, None, now)?;
            eprintln!(
                "scimd: revoked token {key_id}; every server refuses it within a second (within \
                 its token cache TTL while it cannot hear changes)"
            );
        }
    }
    Ok(())
}
