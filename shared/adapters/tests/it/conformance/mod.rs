//! The conformance suite: what every adapter of a port must do, written once and run by
//! `embedded.rs` and `aws.rs` against each adapter. The contracts are the ports' rustdoc
//! in `roi_domain::ports`.

pub mod blob;
pub mod mail;
pub mod secret;
pub mod table;

/// Runs every case of a suite module as its own test, for one adapter.
/// `$make` is an async block yielding the fixture the suite's cases take.
#[macro_export]
macro_rules! suite {
    ($module:ident, $make:expr, [$($case:ident),* $(,)?]) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let fixture = $make.await;
                $crate::conformance::$module::$case(&fixture).await;
            }
        )*
    };
}

/// Every case of the [`Table`](roi_domain::ports::Table) contract, for one adapter.
#[macro_export]
macro_rules! table_suite {
    ($make:expr) => {
        $crate::suite!(
            table,
            $make,
            [
                conditional_put_refuses_a_duplicate,
                put_each_absent_writes_each_new_key_and_keeps_the_stored_ones,
                add_within_takes_exactly_the_budget_under_concurrency,
                attributes_round_trip_and_missing_items_read_as_none,
                reserved_attribute_names_are_refused,
                query_selects_by_prefix_and_range_in_sort_key_order,
                pages_follow_the_cursor_in_both_directions,
                batch_put_writes_more_than_25_items,
                batch_delete_removes_more_than_25_items_and_tolerates_absence,
                batch_get_reads_found_keys_beyond_100_and_skips_the_rest,
                expiry_is_kept_and_expired_items_are_never_read,
                delete_removes_and_tolerates_absence,
                a_transaction_writes_all_or_nothing,
            ]
        );
    };
}

/// Every case of the [`BlobStore`](roi_domain::ports::BlobStore) contract, for one adapter.
#[macro_export]
macro_rules! blob_suite {
    ($make:expr) => {
        $crate::suite!(
            blob,
            $make,
            [
                blobs_round_trip_with_their_media_type,
                a_deleted_blob_is_gone_and_deleting_again_succeeds,
                a_missing_blob_reads_as_none_and_bad_keys_are_refused,
                a_presigned_link_downloads_the_same_bytes_and_names_its_expiry,
            ]
        );
    };
}

/// Every case of the [`Mailer`](roi_domain::ports::Mailer) contract, for one adapter.
#[macro_export]
macro_rules! mail_suite {
    ($make:expr) => {
        $crate::suite!(
            mail,
            $make,
            [
                a_sent_message_arrives_whole,
                a_message_without_recipients_is_rejected
            ]
        );
    };
}

/// Every case of the [`SecretStore`](roi_domain::ports::SecretStore) contract, for one
/// adapter.
#[macro_export]
macro_rules! secret_suite {
    ($make:expr) => {
        $crate::suite!(
            secret,
            $make,
            [
                a_secret_reads_back_and_a_second_put_replaces_it,
                an_unknown_name_reads_as_none_and_bad_input_is_refused,
            ]
        );
    };
}
