//! `roi apikey`: the API keys a client's systems send events with.

use anyhow::Result;
use clap::Subcommand;
use roi_app::api_keys;
use roi_domain::ClientId;

use crate::args::client_id;
use crate::wiring::Ctx;

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create an API key for a client's systems to send events with. The key is printed
    /// once, as the last line of standard output; only its SHA-256 is stored.
    Create {
        /// The client's id.
        #[arg(long, value_name = "ID", value_parser = client_id)]
        client: ClientId,
        /// A label saying where the key is used.
        #[arg(long, default_value = "default")]
        name: String,
        /// Register this key instead of making a new one: a key kept in a secret manager,
        /// or the development key of `events/ingest-events/`.
        #[arg(long, value_name = "KEY")]
        key: Option<String>,
    },
    /// List a client's keys (ids, names, dates; never the keys).
    List {
        /// The client's id.
        #[arg(long, value_name = "ID", value_parser = client_id)]
        client: ClientId,
    },
    /// Revoke a key by its id (the 8 hex digits after `roi_`); requests with it get 403.
    Revoke {
        /// The client's id.
        #[arg(long, value_name = "ID", value_parser = client_id)]
        client: ClientId,
        /// The key id.
        key_id: String,
    },
}

/// Runs `roi apikey …`.
pub async fn run(ctx: &Ctx, command: ApiKeyCommand) -> Result<()> {
    let store = &ctx.store().await?;
    match command {
        ApiKeyCommand::Create { client, name, key } => {
            let created = match key {
                Some(key) => api_keys::register(store, &client, &name, &key, "cli").await?,
                None => api_keys::create(store, &client, &name, "cli").await?,
            };
            eprintln!(
                "Created API key {} ({}) for client {}. Store it now: it is not shown again.",
                created.record.key_id, created.record.name, created.record.client_id
            );
            eprintln!("Send it as `Authorization: Bearer <key>` to POST /v1/events.");
            println!("{}", created.key);
        }
        ApiKeyCommand::List { client } => {
            let keys = store.api_keys_of(&client).await?;
            if keys.is_empty() {
                eprintln!(
                    "Client {client} has no API key; `roi apikey create --client {client}` makes one."
                );
            }
            for k in keys {
                let state = k.revoked_at.map_or_else(
                    || "active".to_owned(),
                    |t| format!("revoked {}", t.format("%Y-%m-%d %H:%M UTC")),
                );
                println!(
                    "{}  {:<24} created {}  {state}",
                    k.key_id,
                    k.name,
                    k.created_at.format("%Y-%m-%d")
                );
            }
        }
        ApiKeyCommand::Revoke { client, key_id } => {
            let k = api_keys::revoke(store, &client, &key_id, "cli").await?;
            println!(
                "Revoked API key {} ({}) of client {}.",
                k.key_id, k.name, k.client_id
            );
        }
    }
    Ok(())
}
