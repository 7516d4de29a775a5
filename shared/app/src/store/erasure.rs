//! A person's erasure under way (issue 20): the token that replaces their pseudonym, kept
//! while the erasure runs so that one cut short and run again replaces the rest with the
//! same token (a second token would count the person as two users in WAU, MAU and
//! retention), and deleted when it ends, after which no record links the two.

use roi_domain::ClientId;
use roi_domain::ports::{Condition, Item, TableError};
use serde::{Deserialize, Serialize};

use super::keys;
use super::{Store, StoreError};

/// The stored record: the erasing token.
#[derive(Serialize, Deserialize)]
struct Erasing {
    token: String,
}

impl Store {
    /// The token replacing `pseudonym` in `client`'s records: the one of an erasure of the
    /// same person cut short, or else `fresh`, recorded until [`Store::end_erasure`].
    /// Two erasures of one person at once get the same token (the record is written only
    /// if absent).
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn begin_erasure(
        &self,
        client: &ClientId,
        pseudonym: &str,
        fresh: String,
    ) -> Result<String, StoreError> {
        let (pk, sk) = (keys::client(client), keys::erasing(pseudonym));
        let item = Item::from_record(pk.clone(), sk.clone(), &Erasing { token: fresh })?;
        match self.table.put(item.clone(), Condition::NotExists).await {
            Ok(()) => Ok(item.into_record::<Erasing>()?.token),
            Err(TableError::ConditionFailed) => {
                let stored: Option<Erasing> = self.get_record(&pk, &sk).await?;
                stored.map(|e| e.token).ok_or_else(|| {
                    StoreError::Conflict("an erasure record vanished while read".into())
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes the record of `pseudonym`'s erasure: it has ended.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn end_erasure(&self, client: &ClientId, pseudonym: &str) -> Result<(), StoreError> {
        self.table
            .delete(&keys::client(client), &keys::erasing(pseudonym))
            .await
            .map_err(StoreError::from)
    }
}
