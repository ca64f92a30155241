//! Files that survive a crash or power loss whole: written to a temporary
//! beside the target, fsynced, renamed over it, and the folder fsynced so
//! the rename itself is on disk.

use std::io::Write;
use std::path::Path;

use serde::de::DeserializeOwned;

pub fn write_durable(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new().prefix(".buzz-checkpoint-").tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    std::fs::File::open(dir)?.sync_all()
}

/// The decoded file, `None` if there is none, or what is wrong with it.
pub fn read_json<T: DeserializeOwned>(
    path: &Path,
    decode: impl FnOnce(&[u8]) -> Result<T, String>,
) -> Result<Option<T>, String> {
    match std::fs::read(path) {
        Ok(bytes) => decode(&bytes).map(Some).map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_whole_and_reads_it_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/c.json");
        assert_eq!(read_json(&path, |b| Ok(b.to_vec())).unwrap(), None);
        write_durable(&path, b"one").unwrap();
        write_durable(&path, b"two").unwrap();
        assert_eq!(read_json(&path, |b| Ok(b.to_vec())).unwrap(), Some(b"two".to_vec()));
        assert_eq!(std::fs::read_dir(dir.path().join("sub")).unwrap().count(), 1);
        let error = read_json(&path, |_| Err::<(), _>("bad".to_string())).unwrap_err();
        assert!(error.ends_with("c.json: bad"), "{error}");
    }
}
