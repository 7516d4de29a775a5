//! The raw-event archive (issue 20): each client-day's raw events as gzip-compressed NDJSON
//! in a blob store (S3 on AWS, under a lifecycle rule; `<data dir>/archive/` locally),
//! written whenever the day is rolled up from the table, so the day can be rolled up again
//! after its table events expire ([`EVENT_TTL_DAYS`](roi_domain::event::EVENT_TTL_DAYS)).

use std::io::{BufRead, BufReader, Write};

use chrono::NaiveDate;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use roi_domain::ClientId;
use roi_domain::rollup::FoldEvent;
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

    /// Archives a client-day's raw events in the order given, replacing any earlier archive
    /// of the day (see [`DayArchive`]). Without an archive, or for a day without events,
    /// nothing is written; returns whether something was.
    ///
    /// # Errors
    /// [`StoreError::Archive`] when the archive cannot be written.
    pub async fn archive_day(
        &self,
        client: &ClientId,
        day: NaiveDate,
        events: &[StoredEvent],
    ) -> Result<bool, StoreError> {
        let Some(mut archive) = self.day_archive() else {
            return Ok(false);
        };
        for e in events {
            archive.add(e)?;
        }
        self.put_day_archive(client, day, archive).await
    }

    /// A day's archive to fill event by event, or `None` when the store has no archive.
    pub fn day_archive(&self) -> Option<DayArchive> {
        self.archive.as_ref().map(|_| DayArchive {
            gz: GzEncoder::new(Vec::new(), Compression::default()),
            events: 0,
        })
    }

    /// Stores a filled [`DayArchive`] as the client-day's, replacing any earlier one; an
    /// archive without events is not stored. Returns whether it was.
    ///
    /// # Errors
    /// [`StoreError::Archive`] when the archive cannot be written.
    pub async fn put_day_archive(
        &self,
        client: &ClientId,
        day: NaiveDate,
        archive: DayArchive,
    ) -> Result<bool, StoreError> {
        let Some(blobs) = &self.archive else {
            return Ok(false);
        };
        if archive.events == 0 {
            return Ok(false);
        }
        let bytes = archive.gz.finish().map_err(archive_error)?;
        blobs
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
        let mut events = Vec::new();
        let found = self
            .each_archived_event(client, day, |e| {
                events.push(e);
                Ok(())
            })
            .await?;
        Ok(found.map(|_| events))
    }

    /// Hands a client-day's archived raw events to `each` in their archived order, one line
    /// decoded at a time (the compressed file is held, the events are not). Returns how
    /// many there were, or `None` when the day has no archive (or the store none).
    ///
    /// # Errors
    /// [`StoreError::Archive`] when the archive cannot be read or a line is not an event;
    /// the first error `each` returns (reading stops there).
    pub async fn each_archived_event(
        &self,
        client: &ClientId,
        day: NaiveDate,
        mut each: impl FnMut(StoredEvent) -> Result<(), StoreError>,
    ) -> Result<Option<u64>, StoreError> {
        self.each_archived_line(client, day, |line, at| {
            each(serde_json::from_str(line).map_err(|e| archive_error(format!("{at}: {e}")))?)
        })
        .await
    }

    /// Hands a client-day's archived raw events to `each` as the roll-up reads them
    /// ([`FoldEvent`], names borrowed from the line), in their archived order; otherwise as
    /// [`Store::each_archived_event`].
    ///
    /// # Errors
    /// As [`Store::each_archived_event`].
    pub async fn each_archived_fold_event(
        &self,
        client: &ClientId,
        day: NaiveDate,
        mut each: impl FnMut(&FoldEvent<'_>) -> Result<(), StoreError>,
    ) -> Result<Option<u64>, StoreError> {
        self.each_archived_line(client, day, |line, at| {
            let event: FoldEvent<'_> =
                serde_json::from_str(line).map_err(|e| archive_error(format!("{at}: {e}")))?;
            each(&event)
        })
        .await
    }

    /// Hands each non-blank line of a client-day's archive to `each` with where it is
    /// (`<key>, line <n>`, for errors).
    async fn each_archived_line(
        &self,
        client: &ClientId,
        day: NaiveDate,
        mut each: impl FnMut(&str, &Line<'_>) -> Result<(), StoreError>,
    ) -> Result<Option<u64>, StoreError> {
        let Some((key, bytes)) = self.archived_file(client, day).await? else {
            return Ok(None);
        };
        let mut lines = BufReader::new(GzDecoder::new(bytes.as_slice()));
        let (mut line, mut count) = (String::new(), 0u64);
        loop {
            line.clear();
            let read = lines
                .read_line(&mut line)
                .map_err(|e| archive_error(format!("{key}: {e}")))?;
            if read == 0 {
                return Ok(Some(count));
            }
            if line.trim().is_empty() {
                continue;
            }
            count += 1;
            each(
                &line,
                &Line {
                    key: &key,
                    n: count,
                },
            )?;
        }
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

/// Where a line of an archive is, for its errors: `<key>, line <n>`.
struct Line<'a> {
    key: &'a str,
    n: u64,
}

impl std::fmt::Display for Line<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}, line {}", self.key, self.n)
    }
}

/// A client-day's raw events being archived, one at a time (ARCHITECTURE.md, raw-event
/// archive): one JSON object per line in the order added, gzip-compressed as it goes, so
/// only the compressed file (about a tenth of the JSON) is held. Added in the order
/// [`Store::each_event_of_day`] reads, the same stored events make the same bytes.
pub struct DayArchive {
    gz: GzEncoder<Vec<u8>>,
    events: u64,
}

impl DayArchive {
    /// Appends one event.
    ///
    /// # Errors
    /// [`StoreError::Archive`] when it cannot be encoded.
    pub fn add(&mut self, event: &StoredEvent) -> Result<(), StoreError> {
        serde_json::to_writer(&mut self.gz, event).map_err(archive_error)?;
        self.gz.write_all(b"\n").map_err(archive_error)?;
        self.events += 1;
        Ok(())
    }
}

impl std::fmt::Debug for DayArchive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DayArchive")
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}
