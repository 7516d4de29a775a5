//! Field-level validation errors, collected so that a person fixes every problem at once.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One rejected field: its name as the user wrote it (a metric name, `date_captured`,
/// `go_live_date`, …) and why it was rejected, in words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The field's name, e.g. `error_rate_percentage`.
    pub field: String,
    /// Why, e.g. `must be between 0 and 100 (percent), got 120`.
    pub reason: String,
}

impl FieldError {
    /// A field error from any displayable field name and reason.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

/// Every violation found in one value, in the order found. Never empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationErrors(Vec<FieldError>);

impl ValidationErrors {
    /// Wraps the collected errors; `None` when there are none, so callers write
    /// `if let Some(e) = ValidationErrors::from_vec(errors) { return Err(e) }`.
    pub fn from_vec(errors: Vec<FieldError>) -> Option<Self> {
        (!errors.is_empty()).then_some(Self(errors))
    }

    /// A single error.
    pub fn one(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self(vec![FieldError::new(field, reason)])
    }

    /// The errors, in the order found.
    pub fn errors(&self) -> &[FieldError] {
        &self.0
    }

    /// Whether any error names `field`.
    pub fn mentions(&self, field: &str) -> bool {
        self.0.iter().any(|e| e.field == field)
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}
