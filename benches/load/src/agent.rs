//! Replaying a concurrent trace through a server, one client per trace agent.
//!
//! A trace edit's positions are relative to the version named by its parents, so an agent's
//! document must hold exactly that causal past when it makes the edit: not less, and not the
//! other agents' concurrent edits that already arrived. So an agent holds back what the server
//! delivers and brings in another agent's transactions only when its next edit depends on them,
//! in that agent's order. The server decides *when* something has arrived (the upper clocks of
//! the updates it relays, as for latency), but a relayed update may merge several transactions
//! (Hocuspocus does), and yrs cannot apply part of an update; so what an agent integrates are
//! the per-transaction updates their author encoded, kept in this process. Observers (the
//! other clients of the room) apply the server's bytes as they come, and at the end every
//! agent and every observer must hold the trace's `endContent`.
//!
//! A transaction that only deletes does not advance its author's clock, which would make its
//! arrival invisible; such a transaction also writes a marker entry into a map outside the text
//! (`replica.rs`), so every transaction ends at a clock of its own.

use std::sync::{Arc, OnceLock};

use yrs::ClientID;

use crate::replica::FullDoc;
use crate::trace::Trace;
use crate::tracker::Seen;

/// One room's replay, shared by its agents.
pub struct RoomTrace {
    pub trace: Arc<Trace>,
    /// Client id of each agent.
    pub ids: Vec<ClientID>,
    /// Per transaction: its author's clock at its end and its v1 update, once made.
    authored: Vec<OnceLock<(u32, Vec<u8>)>>,
}

impl RoomTrace {
    pub fn new(trace: Arc<Trace>, ids: Vec<ClientID>) -> Self {
        let authored = (0..trace.txns.len()).map(|_| OnceLock::new()).collect();
        RoomTrace {
            trace,
            ids,
            authored,
        }
    }
}

/// What [`Agent::step`] did.
#[derive(Debug, PartialEq)]
pub enum Step {
    /// Made the next edit: its v1 update and this agent's clock after it.
    Edit(Vec<u8>, u32),
    /// The next edit waits for another agent's transaction to arrive.
    Blocked,
    /// Every edit of this agent has been made.
    Done,
}

/// One agent's progress.
pub struct Agent {
    room: Arc<RoomTrace>,
    me: usize,
    /// Position of our next transaction in our sequence.
    next: usize,
    /// Per agent: how many of its transactions our document holds.
    applied: Vec<u32>,
}

impl Agent {
    pub fn new(room: Arc<RoomTrace>, me: usize) -> Self {
        let n = room.trace.num_agents;
        Agent {
            room,
            me,
            next: 0,
            applied: vec![0; n],
        }
    }

    /// Transactions this agent has made.
    pub fn made(&self) -> usize {
        self.next
    }

    /// Transactions this agent makes in all.
    pub fn total(&self) -> usize {
        self.room.trace.by_agent[self.me].len()
    }

    /// Brings in what our next transaction depends on (if it has arrived) and makes it.
    /// `seen` holds the highest clock received over the socket per client.
    pub fn step(&mut self, doc: &FullDoc, seen: &Seen) -> Result<Step, String> {
        let trace = Arc::clone(&self.room.trace);
        let Some(&t) = trace.by_agent[self.me].get(self.next) else {
            return Ok(Step::Done);
        };
        let txn = &trace.txns[t];
        let me = self.me;
        for other in (0..trace.num_agents).filter(|&a| a != me) {
            if !self.pull(other, txn.deps[other], doc, seen)? {
                return Ok(Step::Blocked);
            }
        }
        let patches: Vec<(u32, u32, &str)> = txn
            .patches
            .iter()
            .map(|(pos, del, ins)| (*pos, *del, ins.as_str()))
            .collect();
        let update = doc
            .splice(&patches, txn.deletes_only())
            .map_err(|e| format!("trace transaction {t}: {e}"))?;
        let end = doc.own_clock();
        let _ = self.room.authored[t].set((end, update.clone()));
        self.next += 1;
        self.applied[self.me] += 1;
        Ok(Step::Edit(update, end))
    }

    /// After our last edit: brings in every other transaction that has arrived. True once the
    /// document holds the whole trace.
    pub fn catch_up(&mut self, doc: &FullDoc, seen: &Seen) -> Result<bool, String> {
        let trace = Arc::clone(&self.room.trace);
        let mut all = true;
        let me = self.me;
        for other in (0..trace.num_agents).filter(|&a| a != me) {
            let total = trace.by_agent[other].len() as u32;
            all &= self.pull(other, total, doc, seen)?;
        }
        Ok(all)
    }

    /// Applies agent `other`'s transactions until `count` of them are in, as far as they have
    /// been made and delivered. True when `count` is reached.
    fn pull(
        &mut self,
        other: usize,
        count: u32,
        doc: &FullDoc,
        seen: &Seen,
    ) -> Result<bool, String> {
        let delivered = seen.get(&self.room.ids[other]).copied().unwrap_or(0);
        while self.applied[other] < count {
            let t = self.room.trace.by_agent[other][self.applied[other] as usize];
            let Some((end, update)) = self.room.authored[t].get() else {
                return Ok(false);
            };
            if *end > delivered {
                return Ok(false);
            }
            doc.integrate(update)
                .map_err(|e| format!("applying trace transaction {t}: {e}"))?;
            self.applied[other] += 1;
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Txn;

    /// Two agents typing concurrently at the start of the text, then a merge.
    fn tiny_trace() -> Trace {
        let txn = |agent, pos, ins: &str, deps: Vec<u32>| Txn {
            agent,
            patches: vec![(pos, 0, ins.to_owned())],
            deps,
        };
        Trace {
            name: "tiny".into(),
            end_content: "xyab".into(),
            num_agents: 2,
            txns: vec![
                txn(0, 0, "ab", vec![0, 0]),
                txn(1, 0, "y", vec![1, 0]),
                txn(0, 0, "x", vec![1, 0]),
                txn(1, 0, "Q", vec![2, 1]),
            ],
            by_agent: vec![vec![0, 2], vec![1, 3]],
        }
        .with_last_patch_deleting()
    }

    impl Trace {
        /// Makes the last transaction delete the "Q" it would insert: a delete-only edit.
        fn with_last_patch_deleting(mut self) -> Self {
            self.txns[3].patches = vec![(1, 1, String::new())];
            self.end_content = "xab".into();
            self
        }
    }

    #[test]
    fn agents_wait_for_their_causal_past_and_converge_on_the_end_content() {
        let ids = vec![ClientID::new(11), ClientID::new(12)];
        let room = Arc::new(RoomTrace::new(Arc::new(tiny_trace()), ids.clone()));
        let (doc0, doc1) = (FullDoc::new(ids[0]), FullDoc::new(ids[1]));
        let (mut a0, mut a1) = (Agent::new(room.clone(), 0), Agent::new(room, 1));
        let mut seen = Seen::default();
        assert_eq!(a1.step(&doc1, &seen).unwrap(), Step::Blocked);
        let Step::Edit(_, end) = a0.step(&doc0, &seen).unwrap() else {
            panic!()
        };
        assert!(matches!(a0.step(&doc0, &seen).unwrap(), Step::Edit(..)));
        // Agent 1 must not see "x" (concurrent) when it inserts "y" after "ab" arrived.
        seen.insert(ids[0], end);
        assert!(matches!(a1.step(&doc1, &seen).unwrap(), Step::Edit(..)));
        assert_eq!(doc1.text(), "yab");
        seen.insert(ids[0], doc0.own_clock());
        seen.insert(ids[1], doc1.own_clock());
        assert!(matches!(a1.step(&doc1, &seen).unwrap(), Step::Edit(..)));
        assert_eq!(a1.step(&doc1, &seen).unwrap(), Step::Done);
        assert!(!a0.catch_up(&doc0, &seen).unwrap());
        seen.insert(ids[1], doc1.own_clock());
        assert!(a0.catch_up(&doc0, &seen).unwrap());
        assert_eq!(doc0.text(), doc1.text());
    }
}
