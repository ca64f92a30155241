//! Directories only this user may enter: where buzz keeps what another
//! local user must not be able to plant or swap (plugin copies, the address
//! of an embedded broker).

use std::path::{Path, PathBuf};

/// `$XDG_RUNTIME_DIR` (the user's own, checked) when set, else the temp dir.
pub fn runtime_base() -> Result<PathBuf, String> {
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()).map(PathBuf::from) {
        Some(base) => check_private(&base).map(|()| base),
        None => Ok(std::env::temp_dir()),
    }
}

/// `<runtime base>/buzz-<uid>`, made with mode 0700 if missing, and
/// refused if it is not this user's own: a directory with a fixed name that
/// buzz processes of one user share.
pub fn shared_dir() -> Result<PathBuf, String> {
    use std::os::unix::fs::DirBuilderExt;
    let dir = runtime_base()?.join(format!("buzz-{}", euid()));
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("cannot make {}: {e}", dir.display())),
    }
    check_private(&dir)?;
    Ok(dir)
}

/// Refuses a directory that is not this user's own or that others can enter.
pub fn check_private(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let refuse = |why: String| format!("refusing {}: {why}", dir.display());
    let meta = std::fs::symlink_metadata(dir).map_err(|e| refuse(e.to_string()))?;
    let me = euid();
    if !meta.is_dir() {
        return Err(refuse("it is not a directory".into()));
    }
    if meta.uid() != me {
        return Err(refuse(format!("it is owned by uid {}, not by this user (uid {me})", meta.uid())));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(refuse(format!("other users can access it (mode {:o}; it must be 700)", meta.mode() & 0o777)));
    }
    Ok(())
}

/// This process's effective user id.
pub fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}
