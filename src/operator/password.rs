//! Reading a password for an operator command: asked for twice, without echo, on a terminal;
//! otherwise (or with `--password-stdin`) the first line of standard input. Never from the
//! command line, where other users of the machine and the shell's history would see it.

use std::io::{BufRead, IsTerminal};

use anyhow::{bail, Context};

/// The password and its confirmation (the same line twice when read from a pipe).
pub fn read(username: &str, from_stdin: bool) -> anyhow::Result<(String, String)> {
    let stdin = std::io::stdin();
    if !from_stdin && stdin.is_terminal() {
        let password = rpassword::prompt_password(format!("New password for {username}: "))
            .context("failed to read the password")?;
        let confirm =
            rpassword::prompt_password("Repeat it: ").context("failed to read the password")?;
        return Ok((password, confirm));
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("failed to read the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        bail!("no password on standard input");
    }
    Ok((password.clone(), password))
}
