//! What an operator watches: the metrics listener and the trace exporter.

use std::net::SocketAddr;

use serde::{Deserialize, Deserializer};
use url::Url;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// Where `/metrics` is served, on a listener of its own; `None` (`"off"`) serves none.
    #[serde(deserialize_with = "listen_or_off")]
    pub listen: Option<SocketAddr>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtelSettings {
    /// The OTLP/HTTP collector's base URL (`/v1/traces` is added); unset, nothing is exported.
    pub endpoint: Option<Url>,
    pub service_name: String,
    /// The share of traces started here that are sampled (0.0–1.0); a request that carries a
    /// `traceparent` follows its caller's decision.
    pub sample_ratio: f64,
}

impl OtelSettings {
    pub fn validate(&self) -> anyhow::Result<()> {
        if !(0.0..=1.0).contains(&self.sample_ratio) {
            anyhow::bail!("invalid configuration: otel.sample_ratio must be 0.0..=1.0");
        }
        if let Some(url) = &self.endpoint {
            if !matches!(url.scheme(), "http" | "https") {
                anyhow::bail!(
                    "invalid configuration: otel.endpoint must be an http:// or https:// URL"
                );
            }
        }
        Ok(())
    }
}

/// `"off"` (or empty) for no listener, else `host:port`.
fn listen_or_off<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<SocketAddr>, D::Error> {
    let value = String::deserialize(deserializer)?;
    match value.trim() {
        "" | "off" => Ok(None),
        address => address.parse().map(Some).map_err(|_| {
            serde::de::Error::custom(format!(
                "metrics.listen must be an address such as 127.0.0.1:9464, or \"off\" (got {address:?})"
            ))
        }),
    }
}

#[cfg(test)]
mod tests {
    use figment::Figment;
    use figment::providers::{Format, Toml};

    use super::*;

    fn metrics(toml: &str) -> Result<MetricsSettings, String> {
        let figment = Figment::new().merge(Toml::string(toml));
        figment.extract().map_err(|e| e.to_string())
    }

    #[test]
    fn the_listener_is_an_address_or_off() {
        let on = metrics(r#"listen = "127.0.0.1:9464""#).unwrap();
        assert_eq!(on.listen, Some("127.0.0.1:9464".parse().unwrap()));
        assert!(metrics(r#"listen = "off""#).unwrap().listen.is_none());
        let error = metrics(r#"listen = "localhost""#).unwrap_err();
        assert!(error.contains("metrics.listen"), "{error}");
    }
}
