//! The consultancy's console and the client's dashboard (issue 15): who may sign in and
//! how ([`auth`]), what the portfolio reads ([`summary`]), and the client's read-only
//! dashboard links ([`dashboard`]). The pages themselves are `crate::http::console`.

pub mod auth;
pub mod dashboard;
pub mod edit;
pub mod summary;
