//! Notices sent by a process that is not a node (the operator commands): one entry appended
//! to the control stream at once, and confirmed, rather than queued for a publisher task that
//! such a short-lived process would not wait for.

use anyhow::Context;

use super::{control_key, open, Notice, STREAM_MAX_LEN, STREAM_TTL};

/// Appends `notice` to the control stream of the deployment under `prefix` on the Redis at
/// `url`, as sent by `sender`. The running nodes act on it as on a node's own.
pub async fn announce(
    url: &str,
    prefix: &str,
    sender: &str,
    notice: &Notice,
) -> anyhow::Result<()> {
    let (_client, mut conn) = open(url).await?;
    let key = control_key(prefix);
    redis::pipe()
        .cmd("XADD")
        .arg(&key)
        .arg("MAXLEN")
        .arg("~")
        .arg(STREAM_MAX_LEN)
        .arg("*")
        .arg(notice.fields(sender))
        .ignore()
        .cmd("PEXPIRE")
        .arg(&key)
        .arg(STREAM_TTL.as_millis() as u64)
        .ignore()
        .query_async::<()>(&mut conn)
        .await
        .context("failed to publish to Redis")
}
