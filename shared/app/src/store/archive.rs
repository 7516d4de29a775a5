//! The raw-event archive (issue 20): each client-day's raw events as gzip-compressed NDJSON
//! in a blob store (S3 on AWS, under a lifecycle rule; `<data dir>/archive/` locally),
//! written whenever the day is rolled up from the table, so the day can be rolled up again
//! after its table events expire ([`EVENT_TTL_DAYS`](roi_domain::event::EVENT_TTL_DAYS)).

use std::io::{Read, Write};

use chrono::NaiveDate;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use roi_domain::ClientId;
use roi_domain::stored_event::StoredEvent;

use super::keys;
use super::{Store, StoreError};

/// The media type of an archived day.
const NDJSON_GZIP: &str = "application/gzip";

fn archive_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Archive(e.to_string())
}

impl Store {
    /// Whether this store archives raw events.
    pub fn archives(&self) -> bool {
        self.archive.is_some()
    }

    /// Archives a client-day's raw events, replacing any earlier archive of the day: one
    /// JSON object per line, ordered by time and id (so the same events make the same
    /// bytes), gzip-compressed. Without an archive, or for a day without events, nothing
    /// is written; returns whether something was.
    ///
    /// # Errors
    /// [`StoreError::Archive`] when the archive cannot be written.
    pub async fn archive_day(
        &self,
        client: &ClientId,
        day: NaiveDate,
        events: &[StoredEvent],
    ) -> Result<bool, StoreError> {
        let Some(archive) = &self.archive else {
            return Ok(false);
        };
        if events.is_empty() {
            return Ok(false);
        }
        let mut ordered: Vec<&StoredEvent> = events.iter().collect();
        ordered.sort_by(|a, b| (a.time, &a.source, &a.id).cmp(&(b.time, &b.source, &b.id)));
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        for e in ordered {
            serde_json::to_writer(&mut gz, e).map_err(archive_error)?;
            gz.write_all(b"\n").map_err(archive_error)?;
        }
        let bytes = gz.finish().map_err(archive_error)?;
        archive
            .put(&keys::archived_events(client, day), bytes, NDJSON_GZIP)
            .await
            .map_err(archive_error)?;
        Ok(true)
    }

    /// A client-day's archived raw events, or `None` when the day has no archive (or the
    /// store none).
    ///
    /// # Errors
    /// [`StoreError::Archive`] when the archive cannot be read or a line is not an event.
    pub async fn archived_events(
        &self,
        client: &ClientId,
        day: NaiveDate,
    ) -> Result<Option<Vec<StoredEvent>>, StoreError> {
        let Some((key, bytes)) = self.archived_file(client, day).await? else {
            return Ok(None);
        };
        let mut text = String::new();
        GzDecoder::new(bytes.as_slice())
            .read_to_string(&mut text)
            .map_err(|e| archive_error(format!("{key}: {e}")))?;
        text.lines()
            .enumerate()
            .map(|(n, line)| {
                serde_json::from_str(line)
                    .map_err(|e| archive_error(format!("{key}, line {}: {e}", n + 1)))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// The archived day's file as stored (for a client's export), or `None`.
    ///
    /// # Errors
    /// [`StoreError::Archive`].
    pub async fn archived_file(
        &self,
        client: &ClientId,
        day: NaiveDate,
    ) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        let Some(archive) = &self.archive else {
            return Ok(None);
        };
        let key = keys::archived_events(client, day);
        let blob = archive.get(&key).await.map_err(archive_error)?;
        Ok(blob.map(|b| (key, b.bytes)))
    }

    /// Rewrites an archived day's events that `change` changes (it returns whether it
    /// did); returns how many it changed (0 when the day has no archive).
    ///
    /// # Errors
    /// [`StoreError::Archive`].
    pub async fn rewrite_archived_day(
        &self,
        client: &ClientId,
        day: NaiveDate,
        mut change: impl FnMut(&mut StoredEvent) -> bool,
    ) -> Result<usize, StoreError> {
        let Some(mut events) = self.archived_events(client, day).await? else {
            return Ok(0);
        };
        let changed = events.iter_mut().map(&mut change).filter(|c| *c).count();
        if changed > 0 {
            self.archive_day(client, day, &events).await?;
        }
        Ok(changed)
    }
}
