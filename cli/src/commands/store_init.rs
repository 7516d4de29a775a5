//! `roi store-init`: create the configured store when it is missing.

use std::sync::Arc;

use anyhow::Result;
use roi_adapters::dynamodb::DynamoTable;
use roi_domain::ports::SystemClock;

use crate::StoreKind;
use crate::wiring::{Ctx, aws_config_load, s3_blobs};

/// Runs `roi store-init`: the embedded file, or the DynamoDB table (and the reports bucket
/// `ROI_REPORTS_BUCKET` when set).
pub async fn run(ctx: &Ctx) -> Result<()> {
    match ctx.store_kind {
        StoreKind::Embedded => {
            ctx.store().await?;
            println!(
                "Embedded store ready at {}",
                ctx.data_dir.join("roi.redb").display()
            );
        }
        StoreKind::Dynamodb => {
            let config = aws_config_load().await;
            let table = DynamoTable::new(
                aws_sdk_dynamodb::Client::new(&config),
                &ctx.table,
                Arc::new(SystemClock),
            );
            table.create_if_missing().await?;
            println!("DynamoDB table {} ready", ctx.table);
            for var in ["ROI_REPORTS_BUCKET", "ROI_ARCHIVE_BUCKET"] {
                if let Ok(bucket) = std::env::var(var) {
                    s3_blobs(bucket.clone()).await.create_if_missing().await?;
                    println!("S3 bucket {bucket} ready");
                }
            }
            if let Ok(bucket) = std::env::var("ROI_AUDIT_BUCKET") {
                s3_blobs(bucket.clone())
                    .await
                    .create_locked_if_missing()
                    .await?;
                println!("S3 bucket {bucket} ready, with Object Lock");
            }
        }
    }
    Ok(())
}
