//! Signing in to ChatSpace the way a person does, so that the load goes through the server's
//! ordinary checks: register an account through the HTML form (its hidden `csrf_token`, then
//! `POST /accounts/register`), create the rooms through the "create room" form (`POST /rooms`),
//! and open every socket with the `chatspace_session` cookie the server set. One account holds
//! all the sockets of a run: the server must allow that many per user
//! (`--max-sockets-per-user`; `benches/load/run.sh` raises it).

use std::sync::Arc;

use anyhow::{bail, Context, Result};
use reqwest::cookie::{CookieStore, Jar};
use reqwest::{redirect, StatusCode, Url};

/// How long one form request may take (registration hashes a password with argon2).
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// A registered, signed-in account.
pub struct Account {
    http: reqwest::Client,
    jar: Arc<Jar>,
    origin: Url,
    pub username: String,
}

impl Account {
    /// Registers a fresh account on the ChatSpace server behind `ws_base` (the socket base URL,
    /// `ws://host:port/ws`) and keeps its session.
    pub async fn sign_up(ws_base: &str) -> Result<Self> {
        let origin = http_origin(ws_base)?;
        let jar = Arc::new(Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .build()
            .context("failed to build the HTTP client")?;
        let id = rand::random::<u64>();
        let account = Account {
            http,
            jar,
            origin,
            // Usernames are 3 to 32 characters.
            username: format!("load-{id:016x}"),
        };
        let password = format!("{:032x}", rand::random::<u128>());
        account
            .submit(
                "/accounts/register",
                "/accounts/register",
                &[
                    ("username", account.username.as_str()),
                    ("password", &password),
                    ("password_confirm", &password),
                ],
            )
            .await
            .context("registering the load account failed")?;
        if account.cookie().is_none() {
            bail!("registering set no session cookie");
        }
        Ok(account)
    }

    /// Creates the room `name` through the "create room" form.
    pub async fn create_room(&self, name: &str) -> Result<()> {
        self.submit("/", "/rooms", &[("name", name)])
            .await
            .with_context(|| format!("creating room {name} failed"))
    }

    /// The `Cookie` header value every socket of this account sends.
    pub fn cookie(&self) -> Option<String> {
        let header = self.jar.cookies(&self.origin)?;
        header.to_str().ok().map(str::to_owned)
    }

    /// GETs `page` for its CSRF token, then POSTs `fields` with it to `action`; the server
    /// answers a form it accepted with a redirect (303).
    async fn submit(&self, page: &str, action: &str, fields: &[(&str, &str)]) -> Result<()> {
        let page_url = self.origin.join(page)?;
        let form = self.http.get(page_url.clone()).send().await?;
        if form.status() != StatusCode::OK {
            bail!("GET {page} answered {}", form.status());
        }
        let token = csrf_token(&form.text().await?)
            .with_context(|| format!("no csrf_token input on {page}"))?;
        let mut body: Vec<(&str, &str)> = fields.to_vec();
        body.push(("csrf_token", &token));
        let body = serde_urlencoded::to_string(&body)?;
        let answer = self
            .http
            .post(self.origin.join(action)?)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await?;
        match answer.status() {
            StatusCode::SEE_OTHER => Ok(()),
            StatusCode::TOO_MANY_REQUESTS => bail!(
                "POST {action} was refused with 429 (rate limited; retry after {:?} s)",
                answer
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("?")
            ),
            status => {
                let text = answer.text().await.unwrap_or_default();
                bail!("POST {action} answered {status}: {}", page_error(&text))
            }
        }
    }
}

/// `http://host:port` for `ws://host:port/anything` (`https` for `wss`).
fn http_origin(ws_base: &str) -> Result<Url> {
    let mut url = Url::parse(ws_base).with_context(|| format!("bad URL {ws_base}"))?;
    let scheme = match url.scheme() {
        "ws" | "http" => "http",
        "wss" | "https" => "https",
        other => bail!("{ws_base}: expected a ws:// URL, not {other}://"),
    };
    // Both schemes are "special" in the URL standard, so switching between them works.
    if url.set_scheme(scheme).is_err() {
        bail!("{ws_base}: cannot turn it into an {scheme} URL");
    }
    url.set_path("/");
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

/// The value of the hidden input `csrf_token` on an HTML page.
fn csrf_token(html: &str) -> Option<String> {
    html.split("<input")
        .skip(1)
        .filter_map(|rest| rest.split('>').next())
        .find(|input| input.contains("name=\"csrf_token\""))
        .and_then(|input| input.split("value=\"").nth(1))
        .and_then(|value| value.split('"').next())
        .map(str::to_owned)
}

/// The errors a refused form lists (the page's `role="alert"` element, tags dropped), else the
/// start of the page, for the error message.
fn page_error(html: &str) -> String {
    let alert = html
        .split_once("role=\"alert\"")
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(_, rest)| rest.split("</div>").next().unwrap_or(rest));
    let texts: Vec<&str> = alert
        .map(|inner| {
            inner
                .split('<')
                .filter_map(|part| part.split_once('>').map_or(Some(part), |(_, t)| Some(t)))
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .collect()
        })
        .unwrap_or_default();
    match texts.is_empty() {
        true => html.chars().take(300).collect(),
        false => texts.join(" "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_http_origin_is_taken_from_the_socket_base() {
        let origin = |s| http_origin(s).map(|u| u.to_string());
        assert_eq!(
            origin("ws://127.0.0.1:8000/ws").unwrap(),
            "http://127.0.0.1:8000/"
        );
        assert_eq!(
            origin("wss://chat.example/ws/").unwrap(),
            "https://chat.example/"
        );
        assert!(origin("ftp://x/ws").is_err());
        assert!(origin("not a url").is_err());
    }

    #[test]
    fn the_csrf_token_is_read_from_its_hidden_input() {
        let page = r#"<form><input type="text" name="username" value="x">
            <input type="hidden" name="csrf_token" value="abc-123"></form>"#;
        assert_eq!(csrf_token(page).as_deref(), Some("abc-123"));
        assert_eq!(csrf_token(r#"<input name="other" value="1">"#), None);
        assert_eq!(csrf_token("<p>no form</p>"), None);
    }

    #[test]
    fn a_refused_form_reports_the_page_alert() {
        let page = r#"<main><div class="form-errors" role="alert"><ul><li>Too long.</li>
            <li>Taken.</li></ul></div><p>more</p></main>"#;
        assert_eq!(page_error(page), "Too long. Taken.");
        assert_eq!(page_error("plain"), "plain");
    }
}
