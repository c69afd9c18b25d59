//! The node's small files, written so that a crash loses nothing that was reported written: the one place a file
//! is replaced atomically (the signed topology, the root key, the users) or a secret is created (node keys, the
//! register key). Every write is synced, and so is the directory that names it.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Who may read a file written here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// As the process's umask allows (public keys, the signed topology).
    Shared,
    /// The owner alone, mode 0600 from the moment the file exists (secrets, token hashes).
    OwnerOnly,
}

fn options(access: Access) -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true);
    if access == Access::OwnerOnly {
        options.mode(0o600);
    }
    options
}

fn sync_dir(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => File::open(dir)?.sync_all(),
        _ => File::open(".")?.sync_all(),
    }
}

/// Replaces `path` with `bytes` so that a crash leaves either the old file or the new one: a temporary file
/// beside it (the same name, extension `tmp`), written and synced, renamed over it, then the directory synced.
pub fn replace(path: &Path, bytes: &[u8], access: Access) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut file = options(access).create(true).truncate(true).open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    sync_dir(path)
}

/// Writes `bytes` to a new file at `path`, synced with its directory. Never replaces a file: an existing one
/// is an error of kind [`io::ErrorKind::AlreadyExists`] (a secret, once written, is never overwritten).
pub fn create_new(path: &Path, bytes: &[u8], access: Access) -> io::Result<()> {
    let mut file = options(access).create_new(true).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    sync_dir(path)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_replaced_file_holds_the_new_bytes_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.json");
        replace(&path, b"one", Access::OwnerOnly).unwrap();
        replace(&path, b"two", Access::OwnerOnly).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(mode(&path), 0o600);
        assert!(!dir.path().join("users.tmp").exists());
        let shared = dir.path().join("root.pub");
        replace(&shared, b"key", Access::Shared).unwrap();
        assert_eq!(std::fs::read(&shared).unwrap(), b"key");
    }

    #[test]
    fn a_secret_is_created_for_its_owner_alone_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.key");
        create_new(&path, b"secret", Access::OwnerOnly).unwrap();
        assert_eq!(mode(&path), 0o600);
        let again = create_new(&path, b"other", Access::OwnerOnly).unwrap_err();
        assert_eq!(again.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&path).unwrap(), b"secret");
    }
}
