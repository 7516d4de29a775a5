//! roi-tracker's workspace-level end-to-end tests (in `it/`), and the test harness every
//! test binary of the workspace shares: [`busy_day`], the busy day of the memory
//! benchmarks, [`moto`], the local AWS emulator, [`runtime_api`], a stand-in for the Lambda
//! Runtime API, [`release_roi`], the release `roi` that benchmarks run, [`samples`], the
//! sample client loaded into any store, and [`stores`], fresh stores and
//! [`on_both_stores!`], one scenario on the embedded store and on DynamoDB.

pub mod busy_day;
pub mod moto;
pub mod release_roi;
pub mod runtime_api;
pub mod samples;
pub mod stores;
