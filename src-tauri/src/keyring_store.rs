//! The OS keyring (Secret Service on Linux) as the book's store for the
//! sync token. Where no keyring service runs, `set` fails and the core keeps
//! the token in the book instead.

use lighttouch_book::store::SecretStore;

const SERVICE: &str = "Lighttouch";

pub struct OsKeyring;

impl SecretStore for OsKeyring {
    fn set(&self, key: &str, secret: &str) -> bool {
        keyring::Entry::new(SERVICE, key)
            .and_then(|e| e.set_password(secret))
            .map_err(|e| {
                log::info!("no OS keyring for the sync token ({e}); keeping it in the book")
            })
            .is_ok()
    }

    fn get(&self, key: &str) -> Option<String> {
        keyring::Entry::new(SERVICE, key)
            .and_then(|e| e.get_password())
            .ok()
    }

    fn delete(&self, key: &str) {
        if let Ok(e) = keyring::Entry::new(SERVICE, key) {
            let _ = e.delete_credential();
        }
    }
}
