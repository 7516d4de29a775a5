//! The embedded [`SecretStore`]: one file per secret under a directory (the data
//! directory's `secrets/`), the name's segments as sub-directories. On Unix the directories
//! are created with mode 0700 and the files with 0600, so only the owner reads them. A put
//! writes a temporary file and renames it over the old one, so a reader sees the old value
//! or the new one.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use roi_domain::ports::{SecretError, SecretStore, secret_name_allowed};

/// A [`SecretStore`] in a directory.
#[derive(Debug, Clone)]
pub struct DirSecrets {
    root: PathBuf,
}

impl DirSecrets {
    /// Keeps secrets under `root` (created on the first put).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn path(&self, name: &str) -> Result<PathBuf, SecretError> {
        if !secret_name_allowed(name) {
            return Err(SecretError::Rejected(format!(
                "'{name}' is not a secret name (1 to 512 of A-Z a-z 0-9 / _ + = . @ -)"
            )));
        }
        Ok(name.split('/').fold(self.root.clone(), |p, s| p.join(s)))
    }
}

fn io(e: std::io::Error) -> SecretError {
    SecretError::Unavailable(e.to_string())
}

fn write_private(path: &Path, value: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    // `~` is outside the secret-name alphabet, so no secret is ever named like this file;
    // the process and a counter keep two writers of one secret off each other's file.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!("~tmp{}.{n}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp)?;
    file.write_all(value.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[async_trait]
impl SecretStore for DirSecrets {
    async fn put(&self, name: &str, value: &str) -> Result<(), SecretError> {
        let path = self.path(name)?;
        if value.is_empty() {
            return Err(SecretError::Rejected("an empty secret".into()));
        }
        let value = value.to_owned();
        tokio::task::spawn_blocking(move || write_private(&path, &value))
            .await
            .map_err(|e| SecretError::Unavailable(e.to_string()))?
            .map_err(io)
    }

    async fn get(&self, name: &str) -> Result<Option<String>, SecretError> {
        let path = self.path(name)?;
        match tokio::fs::read_to_string(&path).await {
            Ok(value) => Ok(Some(value)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::IsADirectory => Ok(None),
            Err(e) => Err(io(e)),
        }
    }
}
