//! The node-wide control stream: notices about sockets of every room, such as a session that
//! ended, which every node must hear whatever rooms it has live. One subscriber per node (the
//! live rooms' socket registry); a node that lost Redis, or whose notices were lost, hears
//! `Remote::Reconnected` or `Notice::Refetch` and checks every socket instead.

use std::sync::MutexGuard;

use tokio::sync::mpsc;

use super::{Bus, Notice, Remote, Subscription, Topic};

impl Bus {
    /// Starts delivering what other nodes publish on the control stream from now on.
    pub async fn subscribe_control(&self) -> mpsc::UnboundedReceiver<Remote> {
        let last_id = self.last_entry_id(Topic::Control).await;
        let (to_room, notices) = mpsc::unbounded_channel();
        *self.control() = Some(Subscription {
            to_room,
            last_id,
            token: 0,
        });
        self.wake_reader().await;
        notices
    }

    /// Queues `notice` for the control stream. Never waits.
    pub fn publish_control(&self, notice: Notice) {
        self.publish_on(Topic::Control, notice);
    }

    pub(super) fn control(&self) -> MutexGuard<'_, Option<Subscription>> {
        self.inner.control.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The control stream's key and read position, once subscribed.
    pub(super) fn control_position(&self) -> Option<(String, String)> {
        let control = self.control();
        let sub = control.as_ref()?;
        Some((self.stream_key(Topic::Control), sub.last_id.clone()))
    }
}
