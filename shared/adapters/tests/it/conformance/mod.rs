//! The conformance suite: what every adapter of a port must do, written once and run by
//! `embedded.rs` and `aws.rs` against each adapter. The contracts are the ports' rustdoc
//! in `roi_domain::ports`.

pub mod blob;
pub mod mail;
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
