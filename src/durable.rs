//! Writes that survive a crash: a file replaced whole or not at all, and renames made durable.

use std::io::{self, Write};
use std::path::Path;

/// How the temporary files of [`write_atomic`] begin: what a crash mid-write can leave.
pub const TEMPORARY_PREFIX: &str = ".digitdash-tmp";

/// Whether a file name is one of [`write_atomic`]'s temporaries: of this version, or of
/// earlier ones (`.tmp` and six letters or digits).
pub fn is_temporary(name: &str) -> bool {
    name.starts_with(TEMPORARY_PREFIX)
        || name
            .strip_prefix(".tmp")
            .is_some_and(|rest| rest.len() == 6 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Replaces `path` with `bytes` through a temporary file in the same folder, synced and then
/// renamed over it: a reader (or a crash) sees the old file or the new one, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, |out| out.write_all(bytes))
}

/// Replaces `path`, like [`write_atomic`], with what `write` writes into a buffered
/// temporary file: for contents too large to hold in memory at once.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let dir = parent_dir(path);
    let mut builder = tempfile::Builder::new();
    // A name no user file has, so that cleaning up after a crash removes only these.
    builder.prefix(TEMPORARY_PREFIX);
    // Readable by everyone, writable by the owner, as `File::create` makes files under the
    // usual umask (a bare temporary file would be 0600).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    let temp = builder.tempfile_in(dir)?;
    let mut out = io::BufWriter::new(temp);
    write(&mut out)?;
    let temp = out.into_inner().map_err(io::IntoInnerError::into_error)?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir);
    Ok(())
}

/// Best effort: makes a rename or a new file in `dir` durable. Not every file system can sync
/// a folder, so failures are ignored.
pub fn sync_dir(dir: &Path) {
    if let Ok(folder) = std::fs::File::open(dir) {
        let _ = folder.sync_all();
    }
}

/// The folder a file lives in (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_whole_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "old contents that are longer").unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "only the file itself remains");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o644);
        }
    }

    #[test]
    fn a_missing_folder_is_an_error_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent").join("config.toml");
        assert!(write_atomic(&path, b"x").is_err());
        assert!(!dir.path().join("absent").exists());
    }
}
