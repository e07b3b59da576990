//! What a load client does with what it receives: the sync handshake, and every update counted
//! (by its markers, or by its decoded clocks in a replay) and, for a full document, applied.

use std::time::Instant;

use chatspace_crdt::codec::client::ServerMessage;
use chatspace_crdt::codec::ChatEvent;

use super::{Interrupt, Peer, Role, READ_BUFFER, SYNC_TIMEOUT};
use crate::conn::{closed_with, Link, Received};
use crate::replica::{upper_clocks, Replica};
use crate::wire::Inbound;

impl Peer {
    /// Opens the socket and completes the sync handshake.
    pub(super) async fn connect(&mut self) -> Result<(), String> {
        let cookie = self.shared.cookie.as_deref();
        let open = Link::open(&self.url, self.shared.framing, cookie, READ_BUFFER);
        let mut link = open.await.map_err(|e| format!("{e:#}"))?;
        link.send(self.replica.step1())
            .await
            .map_err(|e| format!("{e:#}"))?;
        self.link = Some(link);
        let (mut got_step2, mut sent_step2) = (false, false);
        let deadline = tokio::time::Instant::now() + SYNC_TIMEOUT;
        while !(got_step2 && sent_step2) {
            let Some(link) = self.link.as_mut() else {
                break;
            };
            let received = tokio::time::timeout_at(deadline, link.recv()).await;
            let received =
                received.map_err(|_| format!("{}: no sync within {SYNC_TIMEOUT:?}", self.url))?;
            match self.handle(received).await {
                Ok(Some(step)) => {
                    got_step2 |= step == 2;
                    sent_step2 |= step == 1;
                }
                Ok(None) => {}
                Err(Interrupt::Lost(e) | Interrupt::Fatal(e)) => {
                    return Err(format!("{}: {e}", self.url))
                }
            }
        }
        Ok(())
    }

    /// Handles one received message. `Some(1)` after answering the server's step 1,
    /// `Some(2)` after taking in its step 2.
    pub(super) async fn handle(&mut self, received: Received) -> Result<Option<u8>, Interrupt> {
        let now = Instant::now();
        if let (Received::Frame(_), Some(link)) = (&received, &self.link) {
            let schedule = self.shared.tracker.schedule();
            self.report.deliveries.frame(link.last_len, now, schedule);
        }
        let message = match received {
            Received::Frame(Inbound::Message(message)) => message,
            Received::Frame(Inbound::Denied(reason)) => {
                return Err(Interrupt::Fatal(format!("permission denied: {reason}")))
            }
            Received::Frame(Inbound::CloseRequested(reason)) => {
                return Err(Interrupt::Lost(format!(
                    "the server asked us to close: {reason}"
                )))
            }
            Received::Frame(_) => return Ok(None),
            Received::Closed(code) => return Err(Interrupt::Lost(closed_with(code))),
            Received::Lost(reason) => return Err(Interrupt::Lost(reason)),
            Received::Undecodable(reason) => return Err(Interrupt::Fatal(reason)),
        };
        let (update, step) = match message {
            ServerMessage::SyncStep1(sv) => {
                let answer = self.replica.answer(&sv);
                if let Some(link) = self.link.as_mut() {
                    link.send(answer)
                        .await
                        .map_err(|e| Interrupt::Lost(format!("{e:#}")))?;
                }
                return Ok(Some(1));
            }
            ServerMessage::SyncStep2(update) => (update, Some(2)),
            ServerMessage::Update(update) => (update, None),
            ServerMessage::Chat(event) => {
                self.chat_received(&event);
                return Ok(None);
            }
            _ => return Ok(None),
        };
        if self.shared.markers {
            let deliveries = &mut self.report.deliveries;
            self.shared
                .tracker
                .marked(self.id, &update, now, deliveries);
            if let Replica::Full(doc) = &self.replica {
                doc.integrate(&update).map_err(Interrupt::Fatal)?;
            }
            return Ok(step);
        }
        // An agent's document takes in only what its next edit depends on (agent.rs).
        let sv = match self.role {
            Role::Agent { .. } => upper_clocks(&update),
            _ => self.replica.integrate(&update),
        };
        let sv = sv.map_err(Interrupt::Fatal)?;
        self.shared
            .tracker
            .delivered(self.id, &sv, now, &mut self.report.deliveries);
        Ok(step)
    }

    fn chat_received(&mut self, event: &ChatEvent) {
        if let ChatEvent::Message { .. } = event {
            self.report.chat_delivered += 1;
        }
        if let (Some(chatter), Some(schedule)) = (&mut self.chatter, self.shared.tracker.schedule())
        {
            chatter.received(event, Instant::now(), &schedule);
        }
    }
}
