//! `serve` settings: flags, then environment variables, then an optional
//! TOML file, then defaults.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub database_url: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

impl FileConfig {
    pub fn read(path: &Path) -> anyhow::Result<FileConfig> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub database_url: String,
    pub tls: Option<(PathBuf, PathBuf)>,
}

/// The SQLite file used when no database is named.
pub fn default_database_url() -> String {
    let dir = directories::ProjectDirs::from("com", "Lighttouch", "lighttouch-server")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from("."));
    format!("sqlite:{}", dir.join("server.sqlite3").display())
}

pub fn resolve(
    listen: Option<String>,
    database_url: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    file: FileConfig,
) -> anyhow::Result<ServeConfig> {
    let listen = listen
        .or(file.listen)
        .unwrap_or_else(|| "127.0.0.1:8730".into());
    let listen: SocketAddr = listen
        .parse()
        .map_err(|_| anyhow::anyhow!("listen: {listen:?} is not an address like 127.0.0.1:8730"))?;
    let tls = match (tls_cert.or(file.tls_cert), tls_key.or(file.tls_key)) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        _ => anyhow::bail!("TLS needs both a certificate and a key"),
    };
    Ok(ServeConfig {
        listen,
        database_url: database_url
            .or(file.database_url)
            .unwrap_or_else(default_database_url),
        tls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_and_bad_values_are_named() {
        let file: FileConfig =
            toml::from_str("listen = \"127.0.0.1:9000\"\ndatabase_url = \"sqlite:f.db\"").unwrap();
        let c = resolve(Some("127.0.0.1:9001".into()), None, None, None, file).unwrap();
        assert_eq!(c.listen.port(), 9001);
        assert_eq!(c.database_url, "sqlite:f.db");
        let e = resolve(Some("nine".into()), None, None, None, FileConfig::default()).unwrap_err();
        assert!(e.to_string().contains("listen"));
        assert!(
            toml::from_str::<FileConfig>("lisen = 1").is_err(),
            "a typo is an error"
        );
        assert!(resolve(
            None,
            None,
            Some("c.pem".into()),
            None,
            FileConfig::default()
        )
        .is_err());
    }
}
