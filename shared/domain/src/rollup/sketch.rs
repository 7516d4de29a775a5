//! Mergeable quantile sketches (DDSketch) and the percentiles read from them.

use base64::Engine;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sketches_ddsketch::{Config, DDSketch};

/// A mergeable quantile sketch (DDSketch, `sketches-ddsketch`) with 1 % relative error:
/// a reported quantile q̂ of true value q satisfies |q̂ − q| ≤ 0.01 q. Stored as the
/// Java-compatible DDSketch encoding in base64.
#[derive(Clone)]
pub struct Sketch(DDSketch);

impl Sketch {
    /// An empty sketch (relative accuracy 0.01, at most 2,048 bins).
    pub fn new() -> Self {
        Self(DDSketch::new(Config::defaults()))
    }

    /// Adds a value (ms, minutes, …; negative values are counted as 0).
    pub fn add(&mut self, value: f64) {
        self.0.add(value.max(0.0));
    }

    /// Adds every value of `other`.
    pub fn merge(&mut self, other: &Self) {
        // Both sides use the default configuration, so merging cannot fail.
        if let Err(e) = self.0.merge(&other.0) {
            tracing::error!(error = ?e, "sketches of different configurations");
        }
    }

    /// How many values were added.
    pub fn count(&self) -> u64 {
        self.0.count() as u64
    }

    /// The `q` quantile (0–1), or `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        self.0.quantile(q).ok().flatten()
    }

    /// The mean, or `None` when empty.
    pub fn mean(&self) -> Option<f64> {
        let n = self.0.count();
        self.0.sum().filter(|_| n > 0).map(|s| s / n as f64)
    }

    /// Count, mean and the 50th, 95th and 99th percentiles, rounded to 0.1.
    pub fn summary(&self) -> Option<Percentiles> {
        let round = |v: f64| (v * 10.0).round() / 10.0;
        Some(Percentiles {
            count: self.count(),
            mean: round(self.mean()?),
            p50: round(self.quantile(0.50)?),
            p95: round(self.quantile(0.95)?),
            p99: round(self.quantile(0.99)?),
        })
    }
}

impl Default for Sketch {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Sketch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sketch")
            .field("count", &self.count())
            .finish_non_exhaustive()
    }
}

impl PartialEq for Sketch {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_java_bytes() == other.0.to_java_bytes()
    }
}

impl Serialize for Sketch {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(self.0.to_java_bytes()))
    }
}

impl<'de> Deserialize<'de> for Sketch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(serde::de::Error::custom)?;
        DDSketch::from_java_bytes(&bytes)
            .map(Self)
            .map_err(|e| serde::de::Error::custom(format!("{e:?}")))
    }
}

/// Count, mean and percentiles of a [`Sketch`], in its unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Percentiles {
    /// Values counted.
    pub count: u64,
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
}
