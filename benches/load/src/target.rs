//! The options `run` and `idle` share: which server to load, how to reach it, and how to report.

use crate::account::Account;
use crate::wire::Framing;

/// The server under test and the report's form.
#[derive(Debug, Clone, clap::Args)]
pub struct TargetArgs {
    /// Base URL rooms are appended to: ws://HOST:PORT/ws (ChatSpace), ws://HOST:PORT (Node).
    #[arg(long)]
    pub url: String,
    #[arg(long, value_enum, default_value_t = Framing::YWebsocket)]
    pub framing: Framing,
    /// Server process to sample for CPU and RSS.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Sockets opened at once while connecting.
    #[arg(long, default_value_t = 64)]
    pub connect_concurrency: usize,
    /// ChatSpace: register an account through its forms, create the rooms through its "create
    /// room" form and open every socket with the account's session cookie. The server must
    /// allow one user that many sockets (`--max-sockets-per-user`).
    #[arg(long)]
    pub sign_up: bool,
    /// A name for the server in the report.
    #[arg(long)]
    pub label: Option<String>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// The rooms of a run, ready to join.
pub struct Rooms {
    /// `PREFIX-0`, `PREFIX-1`, ...
    pub names: Vec<String>,
    /// The `Cookie` header the sockets send (`--sign-up`).
    pub cookie: Option<String>,
}

impl TargetArgs {
    /// Gets `count` rooms named after `prefix` ready: with `--sign-up`, registers an account
    /// and creates each room through the form, for the sockets to join with its cookie;
    /// otherwise the server creates rooms on first use and nothing is needed.
    pub async fn prepare(&self, prefix: &str, count: usize) -> Result<Rooms, String> {
        let names: Vec<String> = (0..count).map(|r| format!("{prefix}-{r}")).collect();
        if !self.sign_up {
            return Ok(Rooms {
                names,
                cookie: None,
            });
        }
        let signed_up = async {
            let account = Account::sign_up(&self.url).await?;
            for room in &names {
                account.create_room(room).await?;
            }
            anyhow::Ok(account.cookie())
        };
        let cookie = signed_up.await.map_err(|e| format!("{e:#}"))?;
        Ok(Rooms { names, cookie })
    }
}
