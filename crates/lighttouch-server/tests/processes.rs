//! The server as a brand runs it past one machine: `lighttouch-server`
//! processes of their own, over one PostgreSQL, set up with the admin
//! commands. Needs `LIGHTTOUCH_TEST_POSTGRES` (CI always sets it).

use lighttouch_protocol::{paths, PROTOCOL_HEADER};
use lighttouch_server::storage::PostgresStorage;
use lighttouch_server::storage::FREE_ACCOUNT_FAILURES;
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_lighttouch-server");

fn postgres() -> Option<String> {
    let Ok(url) = std::env::var("LIGHTTOUCH_TEST_POSTGRES") else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must run the PostgreSQL tests"
        );
        eprintln!("LIGHTTOUCH_TEST_POSTGRES is not set: skipped");
        return None;
    };
    Some(url)
}

fn admin(db: &str, args: &[&str]) {
    let out = Command::new(BIN)
        .arg("admin")
        .args(args)
        .env("LIGHTTOUCH_DATABASE_URL", db)
        .env("LIGHTTOUCH_PASSWORD", "password1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "admin {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A server process on a port of its own choosing; killed when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(db: &str) -> Server {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("LIGHTTOUCH_DATABASE_URL", db)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("the server said {line:?}"))
            .to_string();
        Server { child, url }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn login(client: &reqwest::Client, server: &str, password: &str) -> u16 {
    client
        .post(format!("{server}{}", paths::LOGIN))
        .header(PROTOCOL_HEADER, "1")
        .json(&json!({"username": "xiaolin", "password": password,
                      "device_id": uuid::Uuid::now_v7(), "device_name": "x"}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Thirty wrong passwords at once, spread over two server processes: no
/// more reach a password check than one process alone allows, and the
/// second process makes the owner wait too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_server_processes_share_one_sign_in_count() {
    let Some(url) = postgres() else { return };
    let db = PostgresStorage::create_database_beside(&url).await.unwrap();
    admin(&db, &["store", "add", "静安嘉里"]);
    admin(
        &db,
        &[
            "user",
            "add",
            "xiaolin",
            "--store",
            "静安嘉里",
            "--role",
            "associate",
        ],
    );
    let (a, b) = (Server::start(&db), Server::start(&db));
    let client = reqwest::Client::new();
    let guesses = (0..30).map(|i| {
        let server = if i % 2 == 0 { &a.url } else { &b.url };
        let (client, server) = (client.clone(), server.clone());
        tokio::spawn(async move { login(&client, &server, &format!("guess{i}xx")).await })
    });
    let mut checked = 0;
    for g in guesses.collect::<Vec<_>>() {
        match g.await.unwrap() {
            401 => checked += 1,
            429 => {}
            other => panic!("a guess got {other}"),
        }
    }
    assert!(
        checked <= FREE_ACCOUNT_FAILURES,
        "{checked} guesses reached a password check across two processes"
    );
    assert!(checked > 0, "the first guesses are checked");
    assert_eq!(
        login(&client, &b.url, "password1").await,
        429,
        "the second process knows of the first's failures"
    );
}
