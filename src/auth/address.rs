//! The client's IP address, for login and sign-up throttling: the TCP peer, or, when the
//! operator said trusted proxies set it, the `X-Forwarded-For` entry the nearest trusted proxy
//! wrote.
//!
//! A proxy appends the address it received the request from, so the entries a client cannot
//! forge are the rightmost ones, one per trusted proxy; the first entry is whatever the client
//! sent. With `--trusted-proxies N`, the client is the Nth entry from the right (the address
//! the outermost trusted proxy saw). A header with fewer entries than that did not pass through
//! every proxy as configured, so the TCP peer is used instead.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;

use crate::error::AppError;
use crate::state::AppState;

#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress
where
    AppState: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let app = AppState::from_ref(state);
        if let Some(ip) = forwarded_client(&parts.headers, app.config.trusted_proxies) {
            return Ok(Self(ip));
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .ok_or_else(|| {
                AppError::Internal(anyhow::anyhow!(
                    "the server was started without connect info"
                ))
            })?;
        Ok(Self(peer))
    }
}

/// The address `trusted` proxies say the client has: the `trusted`-th `X-Forwarded-For` entry
/// from the right, over every such header in order. `None` when no proxy is trusted, or the
/// header has fewer entries, or that entry is not an IP address.
fn forwarded_client(headers: &HeaderMap, trusted: usize) -> Option<IpAddr> {
    if trusted == 0 {
        return None;
    }
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .collect();
    let index = entries.len().checked_sub(trusted)?;
    entries.get(index)?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::forwarded_client;
    use axum::http::HeaderMap;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append("x-forwarded-for", value.parse().expect("header value"));
        }
        map
    }

    #[test]
    fn the_entry_of_the_outermost_trusted_proxy_is_taken() {
        let forged = headers(&["6.6.6.6, 203.0.113.7"]);
        assert_eq!(forwarded_client(&forged, 1), "203.0.113.7".parse().ok());
        let two = headers(&["6.6.6.6", "203.0.113.7, 10.0.0.2"]);
        assert_eq!(forwarded_client(&two, 2), "203.0.113.7".parse().ok());
        assert_eq!(forwarded_client(&two, 1), "10.0.0.2".parse().ok());
    }

    #[test]
    fn too_few_entries_or_no_trusted_proxy_mean_the_peer_address() {
        assert_eq!(forwarded_client(&headers(&["203.0.113.7"]), 2), None);
        assert_eq!(forwarded_client(&headers(&["203.0.113.7"]), 0), None);
        assert_eq!(forwarded_client(&headers(&["not an address"]), 1), None);
        assert_eq!(forwarded_client(&HeaderMap::new(), 1), None);
    }
}
