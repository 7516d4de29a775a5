//! The adapters' tests, one binary: the conformance suite of every port run against each
//! adapter (embedded, and AWS against moto's server on loopback), and the retry tests of
//! the DynamoDB adapter against `aws-smithy-mocks`, and the webhook adapter against a
//! receiver on loopback.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod aws;
mod conformance;
mod embedded;
mod retries;
mod webhooks;
