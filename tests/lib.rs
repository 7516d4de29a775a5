//! roi-tracker's workspace-level end-to-end tests (in `it/`), and the test harness every
//! test binary of the workspace shares: [`moto`], the local AWS emulator, and [`samples`],
//! the sample client loaded into any store.

pub mod moto;
pub mod samples;
