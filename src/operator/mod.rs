//! The command line: with no subcommand the binary runs the server; `chatspace user ...` are the
//! operator's commands on accounts, run against the same database (`--database-url`, given
//! before `user`) while the server runs or not.

mod password;

use std::io::Write;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};

use crate::accounts::rules;
use crate::auth::password::hash_password;
use crate::auth::throttle::LoginThrottle;
use crate::bus::{announce, Notice};
use crate::config::Config;
use crate::store::{is_unique_violation, DeletionRefusal, SessionStorage, Store};

/// Everything on the command line.
#[derive(Debug, Parser)]
#[command(
    name = "chatspace",
    version,
    about = "Self-hosted real-time chat and collaborative editor",
    after_help = "With no command, the server runs. `chatspace user --help` lists the operator's \
                  commands on accounts."
)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage accounts (the server's flags, such as --database-url, go before `user`).
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account. The password is read from standard input (asked for, twice, on a
    /// terminal), never from the command line.
    Add {
        name: String,
        /// Read the password from the first line of standard input, without asking.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password for an account (read as for `add`) and end every session of it.
    ResetPassword {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Forget the account's failed logins: it is no longer locked or slowed down anywhere.
    Unlock { name: String },
    /// Delete an account: its sessions end, its messages stay as from a deleted user. Refused
    /// while it is the only owner of a room.
    Delete { name: String },
}

/// Runs an operator command; what it did is printed on standard output.
pub async fn run(config: &Config, command: Command) -> anyhow::Result<()> {
    let Command::User(command) = command;
    let store = Store::connect(&config.database_url).await?;
    // On SQLite the session table is created by its store: ending sessions needs it.
    SessionStorage::open(&store).await?;
    let result = user_command(config, &store, command).await;
    store.close().await;
    let done = result?;
    writeln!(std::io::stdout(), "{done}").context("failed to write to standard output")
}

async fn user_command(
    config: &Config,
    store: &Store,
    command: UserCommand,
) -> anyhow::Result<String> {
    match command {
        UserCommand::Add {
            name,
            password_stdin,
        } => {
            if let Some(problem) = rules::username_problem(&name) {
                bail!("{problem}");
            }
            if store.user_by_name(&name).await?.is_some() {
                bail!("there is already a user called {name:?}");
            }
            let hash = new_password_hash(&name, password_stdin).await?;
            match store.insert_user(&name, &hash).await {
                Ok(id) => Ok(format!("added user {name} (id {id})")),
                Err(e) if is_unique_violation(&e) => {
                    bail!("there is already a user called {name:?}")
                }
                Err(e) => Err(e.into()),
            }
        }
        UserCommand::ResetPassword {
            name,
            password_stdin,
        } => {
            let user = existing(store, &name).await?;
            let hash = new_password_hash(&user.username, password_stdin).await?;
            store.set_password_hash(user.id, &hash).await?;
            store.end_sessions_of(user.id, None).await?;
            let told = tell_nodes(config, user.id).await?;
            Ok(format!(
                "set a new password for {} and signed out every session; {told}",
                user.username
            ))
        }
        UserCommand::Unlock { name } => {
            let user = existing(store, &name).await?;
            let throttle = LoginThrottle::new(store.clone(), config.throttle_limits());
            let forgotten = throttle.unlock(&user.username).await?;
            Ok(format!(
                "unlocked {} ({forgotten} failure counts forgotten)",
                user.username
            ))
        }
        UserCommand::Delete { name } => {
            let user = existing(store, &name).await?;
            match store.delete_user(user.id).await? {
                Ok(()) => {}
                Err(DeletionRefusal::SoleOwner(rooms)) => {
                    bail!("{} is {}", user.username, owner_of(&rooms))
                }
                Err(DeletionRefusal::NoSuchUser) => bail!("there is no user called {name:?}"),
            }
            let told = tell_nodes(config, user.id).await?;
            Ok(format!("deleted user {}; {told}", user.username))
        }
    }
}

/// "the only owner of these rooms: a, b. ..." for a refused deletion.
fn owner_of(rooms: &[String]) -> String {
    crate::accounts::sole_owner_message(rooms)
        .replacen("You are", "", 1)
        .trim_start()
        .replace("delete your account", "delete the account")
}

async fn existing(store: &Store, name: &str) -> anyhow::Result<crate::store::User> {
    store
        .user_by_name(name)
        .await?
        .with_context(|| format!("there is no user called {name:?}"))
}

/// Reads a new password for `username` and hashes it, once it passes the same rules as on the
/// sign-up form.
async fn new_password_hash(username: &str, from_stdin: bool) -> anyhow::Result<String> {
    let (password, confirm) = password::read(username, from_stdin)?;
    let problems = rules::password_problems(&password, &confirm, username);
    if !problems.is_empty() {
        let messages: Vec<String> = problems.into_iter().map(|p| p.message).collect();
        bail!("{}", messages.join(" "));
    }
    hash_password(password).await
}

/// Closes the user's sockets on the running nodes: through the bus when there is one (within a
/// second); otherwise each node finds the sessions gone at its next check of them.
async fn tell_nodes(config: &Config, user_id: i64) -> anyhow::Result<&'static str> {
    let Some(url) = &config.redis_url else {
        return Ok("without --redis-url, running nodes close the user's sockets at their next session check");
    };
    let notice = Notice::UserEnded {
        user_id,
        renewed: None,
    };
    announce(url, &config.redis_prefix, "operator", &notice).await?;
    Ok("the running nodes were told to close the user's sockets")
}
