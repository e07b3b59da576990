//! One load-generating connection, on its own task: connect and sync, wait for the start,
//! then type (writers), replay (agents) or just receive, until the writers stop; then drain
//! until everything every writer sent has arrived. A connection the server drops is reopened
//! and resynced (sync step 1/2), as y-websocket's provider does, a bounded number of times.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chatspace_crdt::codec::client::{query_awareness_frame, ServerMessage};
use chatspace_crdt::codec::update_frame;
use rand::{rngs::StdRng, Rng, SeedableRng};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::time::{interval_at, sleep_until, Interval, MissedTickBehavior};
use yrs::{ClientID, StateVector};

use crate::agent::{Agent, Step};
use crate::conn::{Link, Received};
use crate::replica::{upper_clocks, Replica};
use crate::tracker::{Deliveries, Schedule, Tracker};
use crate::wire::{Framing, Inbound};

/// Reconnections a client attempts before it gives up.
const MAX_RECONNECTS: u32 = 5;
/// How long a connection may take to open and sync.
const SYNC_TIMEOUT: Duration = Duration::from_secs(60);
/// Hocuspocus closes a socket that sent nothing for 60 s; its provider talks more often.
const HOCUSPOCUS_KEEPALIVE: Duration = Duration::from_secs(20);
/// Read buffer per socket (tungstenite's default is 128 KiB; we hold thousands).
pub const READ_BUFFER: usize = 16 * 1024;

/// What a client does.
pub enum Role {
    /// Inserts `chunk` random letters at a random position, `rate` times a second.
    Writer { rate: f64, chunk: usize },
    /// Replays one agent of a trace, at most `rate` transactions a second (0: unlimited).
    Agent { agent: Agent, rate: f64 },
    Receiver,
}

/// Run-wide wiring every client shares.
pub struct Shared {
    pub tracker: Arc<Tracker>,
    pub framing: Framing,
    /// Limits how many sockets are being opened at once.
    pub connect_gate: Arc<Semaphore>,
    /// Each client reports once it has synced (or failed to).
    pub ready: mpsc::Sender<Result<(), String>>,
    /// The schedule, published once every client is ready.
    pub go: watch::Receiver<Option<Schedule>>,
    /// Writers and agents report (room, id, final clock) when they stop.
    pub finished: mpsc::UnboundedSender<(usize, ClientID, u32)>,
    /// Per room: every writer's final clock, published once all have stopped.
    pub targets: watch::Receiver<Option<Arc<Vec<StateVector>>>>,
    /// How long after the writers stop clients wait for the last deliveries.
    pub drain: Duration,
}

/// What one client measured and ended with.
pub struct PeerReport {
    pub room: usize,
    pub id: ClientID,
    pub writes: bool,
    pub deliveries: Deliveries,
    pub sent: u64,
    pub sent_measured: u64,
    pub errors: Vec<String>,
    pub reconnects: u32,
    /// Everything the writers sent arrived.
    pub complete: bool,
    /// Text and state vector of a full document.
    pub doc: Option<(String, StateVector)>,
}

pub struct Peer {
    room: usize,
    id: ClientID,
    url: String,
    role: Role,
    replica: Replica,
    shared: Arc<Shared>,
    link: Option<Link>,
    rng: StdRng,
    /// Whether our final clock went to the orchestrator (writers and agents, once).
    reported_finish: bool,
    report: PeerReport,
}

/// Why handling a frame stopped the current connection.
enum Interrupt {
    Lost(String),
    Fatal(String),
}

async fn tick(timer: &mut Option<Interval>) {
    match timer {
        Some(timer) => {
            timer.tick().await;
        }
        None => std::future::pending().await,
    }
}

impl Peer {
    pub fn new(room: usize, id: ClientID, url: String, role: Role, full: bool, shared: Arc<Shared>) -> Self {
        let writes = !matches!(role, Role::Receiver);
        let replica = match full || writes {
            true => Replica::full(id),
            false => Replica::Light(StateVector::default()),
        };
        Peer {
            room,
            id,
            url,
            role,
            replica,
            shared,
            link: None,
            rng: StdRng::seed_from_u64(id.get()),
            reported_finish: !writes,
            report: PeerReport {
                room,
                id,
                writes,
                deliveries: Deliveries::default(),
                sent: 0,
                sent_measured: 0,
                errors: Vec::new(),
                reconnects: 0,
                complete: false,
                doc: None,
            },
        }
    }

    pub async fn run(mut self) -> PeerReport {
        let synced = {
            let _permit = self.shared.connect_gate.acquire().await;
            self.connect().await
        };
        let _ = self.shared.ready.send(synced.clone()).await;
        let outcome = match synced {
            Ok(()) => self.work().await,
            Err(error) => Err(error),
        };
        if let Err(error) = outcome {
            self.report.errors.push(error);
        }
        self.report_finish();
        if let Some(link) = self.link.take() {
            link.close().await;
        }
        if let Replica::Full(doc) = &self.replica {
            self.report.doc = Some((doc.text(), doc.state_vector()));
        }
        self.report
    }

    /// Tells the orchestrator our final clock (once; writers and agents only).
    fn report_finish(&mut self) {
        if !self.reported_finish {
            self.reported_finish = true;
            let _ = self.shared.finished.send((self.room, self.id, self.own_clock()));
        }
    }

    fn own_clock(&self) -> u32 {
        match &self.replica {
            Replica::Full(doc) => doc.own_clock(),
            Replica::Light(_) => 0,
        }
    }

    /// Opens the socket and completes the sync handshake.
    async fn connect(&mut self) -> Result<(), String> {
        let open = Link::open(&self.url, self.shared.framing, None, READ_BUFFER);
        let mut link = open.await.map_err(|e| format!("{e:#}"))?;
        link.send(self.replica.step1()).await.map_err(|e| format!("{e:#}"))?;
        self.link = Some(link);
        let (mut got_step2, mut sent_step2) = (false, false);
        let deadline = tokio::time::Instant::now() + SYNC_TIMEOUT;
        while !(got_step2 && sent_step2) {
            let Some(link) = self.link.as_mut() else { break };
            let received = tokio::time::timeout_at(deadline, link.recv()).await;
            let received = received.map_err(|_| format!("{}: no sync within {SYNC_TIMEOUT:?}", self.url))?;
            match self.handle(received).await {
                Ok(Some(step)) => {
                    got_step2 |= step == 2;
                    sent_step2 |= step == 1;
                }
                Ok(None) => {}
                Err(Interrupt::Lost(e) | Interrupt::Fatal(e)) => return Err(format!("{}: {e}", self.url)),
            }
        }
        Ok(())
    }

    /// Handles one received message. `Some(1)` after answering the server's step 1,
    /// `Some(2)` after taking in its step 2.
    async fn handle(&mut self, received: Received) -> Result<Option<u8>, Interrupt> {
        let message = match received {
            Received::Frame(Inbound::Message(message)) => message,
            Received::Frame(Inbound::Denied(reason)) => return Err(Interrupt::Fatal(format!("permission denied: {reason}"))),
            Received::Frame(_) => return Ok(None),
            Received::Closed(code) => return Err(Interrupt::Lost(format!("closed by the server with {code}"))),
            Received::Lost(reason) => return Err(Interrupt::Lost(reason)),
            Received::Undecodable(reason) => return Err(Interrupt::Fatal(reason)),
        };
        let (update, step) = match message {
            ServerMessage::SyncStep1(sv) => {
                let answer = self.replica.answer(&sv);
                if let Some(link) = self.link.as_mut() {
                    link.send(answer).await.map_err(|e| Interrupt::Lost(format!("{e:#}")))?;
                }
                return Ok(Some(1));
            }
            ServerMessage::SyncStep2(update) => (update, Some(2)),
            ServerMessage::Update(update) => (update, None),
            _ => return Ok(None),
        };
        let now = Instant::now();
        // An agent's document takes in only what its next edit depends on (agent.rs).
        let sv = match self.role {
            Role::Agent { .. } => upper_clocks(&update),
            _ => self.replica.integrate(&update),
        };
        let sv = sv.map_err(Interrupt::Fatal)?;
        self.shared.tracker.delivered(self.id, &sv, now, &mut self.report.deliveries);
        Ok(step)
    }

    /// Sends a frame; a failure counts as a lost connection.
    async fn send(&mut self, frame: Vec<u8>) -> Result<(), Interrupt> {
        match self.link.as_mut() {
            Some(link) => link.send(frame).await.map_err(|e| Interrupt::Lost(format!("{e:#}"))),
            None => Ok(()),
        }
    }

    /// Waits for the start, runs the load, drains. Errors are fatal to this client.
    async fn work(&mut self) -> Result<(), String> {
        let mut go = self.shared.go.clone();
        let schedule = loop {
            if let Some(schedule) = *go.borrow_and_update() {
                break schedule;
            }
            tokio::select! {
                changed = go.changed() => changed.map_err(|_| "the run was called off".to_owned())?,
                received = next(&mut self.link) => {
                    let outcome = self.handle(received).await;
                    self.recover(outcome).await?;
                }
            }
        };
        let mut edits = self.edit_timer(&schedule);
        let mut keepalive = (self.shared.framing == Framing::Hocuspocus).then(|| {
            tokio::time::interval_at(tokio::time::Instant::now() + HOCUSPOCUS_KEEPALIVE, HOCUSPOCUS_KEEPALIVE)
        });
        let stop = tokio::time::Instant::from_std(schedule.measure_until);
        let mut targets = self.shared.targets.clone();
        let drain_end = stop + self.shared.drain;
        let mut typing = true;
        loop {
            if typing && (tokio::time::Instant::now() >= stop || self.agent_done()) {
                typing = false;
                edits = matches!(self.role, Role::Agent { .. }).then(|| tokio::time::interval(Duration::from_millis(20)));
                self.report_finish();
            }
            if !typing && self.complete(&targets.borrow())? {
                self.report.complete = true;
                return Ok(());
            }
            let outcome = tokio::select! {
                received = next(&mut self.link) => self.handle(received).await.map(|_| ()),
                () = tick(&mut edits) => if typing { self.edit(&schedule).await } else { Ok(()) },
                () = tick(&mut keepalive) => self.send(query_awareness_frame()).await,
                () = sleep_until(stop), if typing => Ok(()),
                _ = targets.changed(), if !typing => Ok(()),
                () = sleep_until(drain_end), if !typing => return Err("not all edits arrived before the drain deadline".into()),
            };
            self.recover(outcome).await?;
        }
    }

    fn agent_done(&self) -> bool {
        matches!(&self.role, Role::Agent { agent, .. } if agent.made() == agent.total())
    }

    /// Whether everything the writers of our room sent has arrived (and, for an agent, is in
    /// its document).
    fn complete(&mut self, targets: &Option<Arc<Vec<StateVector>>>) -> Result<bool, String> {
        let Some(target) = targets.as_ref().and_then(|t| t.get(self.room)) else {
            return Ok(false);
        };
        let seen = &self.report.deliveries.seen;
        let arrived = target.iter().all(|(c, &clock)| *c == self.id || seen.get(c).is_some_and(|&s| s >= clock));
        match (&mut self.role, &self.replica) {
            (Role::Agent { agent, .. }, Replica::Full(doc)) if arrived => agent.catch_up(doc, seen),
            _ => Ok(arrived),
        }
    }

    fn edit_timer(&mut self, schedule: &Schedule) -> Option<Interval> {
        let rate = match self.role {
            Role::Writer { rate, .. } => rate,
            Role::Agent { rate, .. } if rate > 0.0 => rate,
            Role::Agent { .. } => 1000.0,
            Role::Receiver => return None,
        };
        let period = Duration::from_secs_f64(1.0 / rate.max(0.001));
        // Writers start at random offsets within one period, so they do not type in lockstep.
        let offset = period.mul_f64(self.rng.gen::<f64>());
        let start = tokio::time::Instant::from_std(schedule.start) + offset;
        let mut timer = interval_at(start, period);
        timer.set_missed_tick_behavior(MissedTickBehavior::Skip);
        Some(timer)
    }

    /// One tick of a writer or agent.
    async fn edit(&mut self, schedule: &Schedule) -> Result<(), Interrupt> {
        let Replica::Full(doc) = &self.replica else { return Ok(()) };
        let made = match &mut self.role {
            Role::Writer { chunk, .. } => {
                let pos = self.rng.gen_range(0..=doc.len());
                let text: String = (0..*chunk).map(|_| self.rng.gen_range(b'a'..=b'z') as char).collect();
                let update = doc.splice(&[(pos, 0, &text)], false).map_err(Interrupt::Fatal)?;
                Some((update, doc.own_clock()))
            }
            Role::Agent { agent, .. } => match agent.step(doc, &self.report.deliveries.seen).map_err(Interrupt::Fatal)? {
                Step::Edit(update, end) => Some((update, end)),
                Step::Blocked | Step::Done => None,
            },
            Role::Receiver => None,
        };
        let Some((update, end)) = made else { return Ok(()) };
        let now = Instant::now();
        if let Some(log) = self.shared.tracker.log(self.id) {
            log.push(end, now);
        }
        self.report.sent += 1;
        self.report.sent_measured += u64::from(schedule.measured(now));
        self.send(update_frame(&update)).await
    }

    /// After a lost connection: reconnect and resync (what we lack comes in the server's step
    /// 2, what it lacks goes up in ours), at most [`MAX_RECONNECTS`] times.
    async fn recover<T>(&mut self, outcome: Result<T, Interrupt>) -> Result<(), String> {
        let reason = match outcome {
            Ok(_) => return Ok(()),
            Err(Interrupt::Fatal(reason)) => return Err(reason),
            Err(Interrupt::Lost(reason)) => reason,
        };
        self.link = None;
        self.report.errors.push(format!("connection lost: {reason}"));
        while self.report.reconnects < MAX_RECONNECTS {
            self.report.reconnects += 1;
            tokio::time::sleep(Duration::from_millis(100 * u64::from(self.report.reconnects))).await;
            match self.connect().await {
                Ok(()) => return Ok(()),
                Err(error) => self.report.errors.push(format!("reconnect failed: {error}")),
            }
        }
        Err(format!("gave up after {MAX_RECONNECTS} reconnects"))
    }
}

/// The next message of the socket, or never when there is none.
async fn next(link: &mut Option<Link>) -> Received {
    match link {
        Some(link) => link.recv().await,
        None => std::future::pending().await,
    }
}
