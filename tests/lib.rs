//! roi-tracker's workspace-level end-to-end tests (in `it/`), and the test harness every
//! test binary of the workspace shares: [`moto`], the local AWS emulator.

pub mod moto;
