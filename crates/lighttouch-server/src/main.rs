//! `lighttouch-server`: `serve`, and `admin` commands over the same database.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use lighttouch_protocol::Role;
use lighttouch_server::admin::{parse_content, parse_scripts, Admin};
use lighttouch_server::config::{self, FileConfig};
use lighttouch_server::routes::{router, AppState};
use lighttouch_server::storage;
use lighttouch_server::sync::SystemClock;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "lighttouch-server",
    version,
    about = "Lighttouch central sync server"
)]
struct Cli {
    /// sqlite:PATH or postgres://USER@HOST/DB (default: a SQLite file in the data directory)
    #[arg(long, global = true, env = "LIGHTTOUCH_DATABASE_URL")]
    database_url: Option<String>,
    /// Print results as JSON
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the sync API
    Serve {
        /// Address to listen on (default 127.0.0.1:8730)
        #[arg(long, env = "LIGHTTOUCH_LISTEN")]
        listen: Option<String>,
        /// A TOML file with listen, database_url, tls_cert, tls_key
        #[arg(long, env = "LIGHTTOUCH_CONFIG")]
        config: Option<PathBuf>,
        #[arg(long, env = "LIGHTTOUCH_TLS_CERT")]
        tls_cert: Option<PathBuf>,
        #[arg(long, env = "LIGHTTOUCH_TLS_KEY")]
        tls_key: Option<PathBuf>,
    },
    /// Administration: stores, users, devices, handovers, HQ content, audit
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    Store {
        #[command(subcommand)]
        command: StoreCommand,
    },
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    Device {
        #[command(subcommand)]
        command: DeviceCommand,
    },
    /// Hand customers over from one associate to another
    Reassign {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        /// Only these customers (default: all the associate owns)
        #[arg(long = "customer")]
        customers: Vec<String>,
    },
    Content {
        #[command(subcommand)]
        command: ContentCommand,
    },
    /// HQ's talk scripts (话术)
    Scripts {
        #[command(subcommand)]
        command: ScriptsCommand,
    },
    /// Clear what every active device has synced past (erased customers'
    /// history, replaced edits). A device away longer re-downloads.
    Compact {
        #[arg(long)]
        store: Option<String>,
    },
    /// Show the audit log, newest first
    Audit {
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

#[derive(Subcommand)]
enum StoreCommand {
    Add { name: String },
    List,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user; the password comes from LIGHTTOUCH_PASSWORD or a prompt
    Add {
        username: String,
        #[arg(long)]
        store: String,
        #[arg(long, value_parser = ["associate", "manager", "admin"])]
        role: String,
        /// The name shown in books (default: the username)
        #[arg(long)]
        display_name: Option<String>,
    },
    /// Set a new password (LIGHTTOUCH_PASSWORD or a prompt)
    Passwd {
        username: String,
    },
    List,
}

#[derive(Subcommand)]
enum DeviceCommand {
    List {
        #[arg(long)]
        store: Option<String>,
    },
    Revoke {
        device_id: uuid::Uuid,
    },
}

#[derive(Subcommand)]
enum ContentCommand {
    /// Publish products and stories (CSV or JSON) to every store
    Import { file: PathBuf },
}

#[derive(Subcommand)]
enum ScriptsCommand {
    /// Publish talk scripts (CSV or JSON: purpose, language, name, body) to every store
    Import { file: PathBuf },
}

const ACTOR: &str = "admin-cli";

fn password() -> Result<String> {
    if let Ok(p) = std::env::var("LIGHTTOUCH_PASSWORD") {
        return Ok(p);
    }
    let p = rpassword::prompt_password("Password: ")
        .context("cannot read a password (set LIGHTTOUCH_PASSWORD)")?;
    let again = rpassword::prompt_password("Again: ")?;
    if p != again {
        bail!("the two passwords differ");
    }
    Ok(p)
}

fn print<T: serde::Serialize>(json: bool, value: &T, human: impl FnOnce() -> String) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        );
    } else {
        println!("{}", human());
    }
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let json = cli.json;
    if let Err(e) = run(cli).await {
        if json {
            println!(
                "{}",
                serde_json::json!({"error": {"message": format!("{e:#}")}})
            );
        } else {
            eprintln!("error: {e:#}");
        }
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve {
            listen,
            config,
            tls_cert,
            tls_key,
        } => {
            let file = match config {
                Some(p) => FileConfig::read(&p)?,
                None => FileConfig::default(),
            };
            let cfg = config::resolve(listen, cli.database_url, tls_cert, tls_key, file)?;
            let storage = storage::open(&cfg.database_url).await?;
            let app = router(AppState::new(storage, Arc::new(SystemClock)))
                .into_make_service_with_connect_info::<SocketAddr>();
            match cfg.tls {
                Some((cert, key)) => {
                    let _ = rustls::crypto::ring::default_provider().install_default();
                    let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(&cert, &key)
                        .await
                        .with_context(|| {
                            format!("TLS certificate {} / key {}", cert.display(), key.display())
                        })?;
                    eprintln!(
                        "lighttouch-server: https://{} ({})",
                        cfg.listen, cfg.database_url
                    );
                    axum_server::bind_rustls(cfg.listen, tls).serve(app).await?;
                }
                None => {
                    let listener = tokio::net::TcpListener::bind(cfg.listen)
                        .await
                        .with_context(|| format!("cannot listen on {}", cfg.listen))?;
                    // The actual address (port 0 picks one), for scripts and tests.
                    println!("listening on http://{}", listener.local_addr()?);
                    eprintln!("lighttouch-server: storage {}", cfg.database_url);
                    axum::serve(listener, app)
                        .with_graceful_shutdown(async {
                            let _ = tokio::signal::ctrl_c().await;
                        })
                        .await?;
                }
            }
            Ok(())
        }
        Command::Admin { command } => {
            let url = cli
                .database_url
                .unwrap_or_else(config::default_database_url);
            let storage = storage::open(&url).await?;
            let admin = Admin::new(storage, Arc::new(SystemClock));
            admin_command(&admin, command, cli.json).await
        }
    }
}

/// Runs one `admin …` command; each group of commands has its own function.
async fn admin_command(admin: &Admin, command: AdminCommand, json: bool) -> Result<()> {
    match command {
        AdminCommand::Store { command } => store_command(admin, command, json).await,
        AdminCommand::User { command } => user_command(admin, command, json).await,
        AdminCommand::Device { command } => device_command(admin, command, json).await,
        AdminCommand::Reassign {
            from,
            to,
            customers,
        } => {
            let r = admin.reassign(ACTOR, &from, &to, &customers).await?;
            print(json, &r, || {
                format!(
                    "{} customers handed over from {} to {} ({})",
                    r.customers.len(),
                    r.from,
                    r.to,
                    r.store
                )
            });
            Ok(())
        }
        AdminCommand::Content {
            command: ContentCommand::Import { file },
        } => {
            let items = parse_content(&read_file(&file)?)?;
            let n = admin
                .publish_content(ACTOR, items, &file.display().to_string())
                .await?;
            print(json, &serde_json::json!({"published": n}), || {
                format!("{n} content items published to every store")
            });
            Ok(())
        }
        AdminCommand::Scripts {
            command: ScriptsCommand::Import { file },
        } => {
            let scripts = parse_scripts(&read_file(&file)?)?;
            let n = admin
                .publish_scripts(ACTOR, scripts, &file.display().to_string())
                .await?;
            print(json, &serde_json::json!({"published": n}), || {
                format!("{n} talk scripts published to every store")
            });
            Ok(())
        }
        AdminCommand::Compact { store } => compact_command(admin, store, json).await,
        AdminCommand::Audit { limit } => audit_command(admin, limit, json).await,
    }
}

fn read_file(file: &std::path::Path) -> Result<Vec<u8>> {
    std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))
}

async fn store_command(admin: &Admin, command: StoreCommand, json: bool) -> Result<()> {
    match command {
        StoreCommand::Add { name } => {
            let s = admin.add_store(ACTOR, &name).await?;
            print(
                json,
                &serde_json::json!({"id": s.id, "name": s.name}),
                || format!("store added: {}", s.name),
            );
        }
        StoreCommand::List => {
            let stores = admin.storage.stores().await?;
            let names: Vec<&str> = stores.iter().map(|s| s.name.as_str()).collect();
            print(json, &names, || names.join("\n"));
        }
    }
    Ok(())
}

async fn user_command(admin: &Admin, command: UserCommand, json: bool) -> Result<()> {
    match command {
        UserCommand::Add {
            username,
            store,
            role,
            display_name,
        } => {
            let role = Role::parse(&role).context("role")?;
            let pw = password()?;
            let u = admin
                .add_user(ACTOR, &username, display_name.as_deref(), &store, role, &pw)
                .await?;
            print(
                json,
                &serde_json::json!({"username": u.username, "display_name": u.display_name, "store": u.store, "role": u.role}),
                || {
                    format!(
                        "user added: {} ({}, {})",
                        u.username,
                        u.store,
                        u.role.as_str()
                    )
                },
            );
        }
        UserCommand::Passwd { username } => {
            let pw = password()?;
            admin.set_password(ACTOR, &username, &pw).await?;
            print(json, &serde_json::json!({"username": username}), || {
                format!("password changed for {username}")
            });
        }
        UserCommand::List => {
            let users = admin.storage.users().await?;
            let rows: Vec<_> = users
                .iter()
                .map(|u| serde_json::json!({"username": u.username, "display_name": u.display_name, "store": u.store, "role": u.role}))
                .collect();
            print(json, &rows, || {
                users
                    .iter()
                    .map(|u| {
                        format!(
                            "{}\t{}\t{}\t{}",
                            u.username,
                            u.display_name,
                            u.store,
                            u.role.as_str()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
    }
    Ok(())
}

async fn device_command(admin: &Admin, command: DeviceCommand, json: bool) -> Result<()> {
    match command {
        DeviceCommand::List { store } => {
            let devices = admin.devices(store.as_deref()).await?;
            print(json, &devices, || {
                devices
                    .iter()
                    .map(|d| {
                        format!(
                            "{}\t{}\t{}\t{}\tlast seen {}{}",
                            d.device_id,
                            d.username,
                            d.store,
                            d.name,
                            d.last_seen_at.map_or("never".into(), |t| t.to_rfc3339()),
                            if d.revoked_at.is_some() {
                                "\trevoked"
                            } else {
                                ""
                            }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        DeviceCommand::Revoke { device_id } => {
            admin.revoke_device(ACTOR, device_id).await?;
            print(json, &serde_json::json!({"revoked": device_id}), || {
                format!("device revoked: {device_id}")
            });
        }
    }
    Ok(())
}

async fn compact_command(admin: &Admin, store: Option<String>, json: bool) -> Result<()> {
    let done = admin.compact(ACTOR, store.as_deref()).await?;
    print(json, &done, || {
        done.iter()
            .map(|c| {
                format!(
                    "{}: {} changes cleared (every device is past {})",
                    c.store, c.removed, c.horizon
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(())
}

async fn audit_command(admin: &Admin, limit: u32, json: bool) -> Result<()> {
    let log = admin.audit_log(limit).await?;
    print(json, &log, || {
        log.iter()
            .map(|e| {
                format!(
                    "{}\t{}\t{}\t{}",
                    e.at.to_rfc3339(),
                    e.actor,
                    e.action,
                    e.details
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(())
}
