//! `roi privacy`: the data lifecycle (issue 20).

use anyhow::{Result, bail};
use clap::Subcommand;
use roi_app::privacy::migrate_pseudonyms;
use roi_domain::ClientId;

use crate::args::client_id;
use crate::wiring::Ctx;

#[derive(Debug, Subcommand)]
pub enum PrivacyCommand {
    /// Move stored user hashes of earlier releases (SHA-256 of client and user id, which a
    /// dictionary of e-mail addresses reverses) to keyed pseudonyms (HMAC-SHA256 under the
    /// deployment's key) in place: the raw events still kept and every daily roll-up. The
    /// same user keeps one pseudonym across old and new days, so DAU/WAU/MAU and retention
    /// stay continuous. Run it once after upgrading; running it again changes nothing.
    ///
    /// Example: roi privacy migrate-pseudonyms            # every client
    #[command(name = "migrate-pseudonyms")]
    MigratePseudonyms {
        /// Only this client.
        #[arg(long, value_name = "ID", value_parser = client_id)]
        client: Option<ClientId>,
    },
}

/// Runs `roi privacy`.
pub async fn run(ctx: &Ctx, command: PrivacyCommand) -> Result<()> {
    let PrivacyCommand::MigratePseudonyms { client } = command;
    let store = ctx.store().await?;
    let clients = match &client {
        Some(id) => match store.client(id).await? {
            Some(c) => vec![c],
            None => bail!("client '{id}' does not exist"),
        },
        None => store.clients().await?,
    };
    for c in clients {
        let done = migrate_pseudonyms(&store, &c).await?;
        println!(
            "{}: {} raw events and {} daily roll-ups ({} users) rekeyed",
            done.client_id, done.events, done.rollup_days, done.rollup_users
        );
    }
    Ok(())
}
