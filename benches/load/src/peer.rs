//! One load-generating connection, on its own task: connect and sync, wait for the start,
//! then type (writers), replay (agents) or just receive, until the writers stop; then drain
//! until everything every writer sent has arrived. A connection the server drops is reopened
//! and resynced (sync step 1/2), as y-websocket's provider does, a bounded number of times.

mod phases;
mod receive;

use std::sync::Arc;
use std::time::Duration;

use rand::{rngs::StdRng, SeedableRng};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::time::Interval;
use yrs::{ClientID, StateVector};

use crate::agent::Agent;
use crate::conn::{Link, Received};
use crate::mix::{Chatter, MixArgs, MixStats};
use crate::replica::Replica;
use crate::tracker::{Deliveries, Schedule, Tracker};
use crate::wire::Framing;

/// Reconnections a client attempts before it gives up.
const MAX_RECONNECTS: u32 = 5;
/// How long a connection may take to open and sync.
const SYNC_TIMEOUT: Duration = Duration::from_secs(60);
/// Hocuspocus closes a socket that sent nothing for 60 s; its provider talks more often.
const HOCUSPOCUS_KEEPALIVE: Duration = Duration::from_secs(20);
/// How often a client checks whether its phase is over.
const CHECK_EVERY: Duration = Duration::from_millis(10);
/// Read buffer per socket. tungstenite zero-fills the whole buffer before every read, so its
/// default (128 KiB) costs 128 KiB of RSS per socket and a 128 KiB memset per read.
pub const READ_BUFFER: usize = 4 * 1024;

/// What a client does.
pub enum Role {
    /// Inserts a marker (`marker.rs`) and `chunk` random letters `rate` times a second: `run`
    /// edits in a row at its cursor (which moves past each insert), then jumps to a random
    /// position among the first `window` units of the text (0: anywhere).
    Writer {
        /// The writer's index in the run, which its markers carry.
        index: u32,
        /// Edits made so far: the sequence number of the last marker.
        made: u32,
        rate: f64,
        chunk: usize,
        run: u32,
        window: u32,
        /// Where the next insert goes and how many inserts remain before the next jump.
        cursor: Option<(u32, u32)>,
    },
    /// Replays one agent of a trace, at most `rate` transactions a second (0: unlimited).
    Agent {
        agent: Agent,
        rate: f64,
    },
    Receiver,
}

/// Run-wide wiring every client shares.
pub struct Shared {
    pub tracker: Arc<Tracker>,
    /// Typed edits carry markers: every client counts deliveries by scanning frames for them
    /// (and only full documents decode). Without: a trace replay, counted by decoded clocks.
    pub markers: bool,
    pub framing: Framing,
    /// The `Cookie` header of the account the sockets belong to (`--sign-up`).
    pub cookie: Option<String>,
    /// The room page's chat traffic, sent by the writers (`--mix`).
    pub mix: Option<MixArgs>,
    /// Limits how many sockets are being opened at once.
    pub connect_gate: Arc<Semaphore>,
    /// Each client reports once it has synced (or failed to).
    pub ready: mpsc::Sender<Result<(), String>>,
    /// The schedule, published once every client is ready.
    pub go: watch::Receiver<Option<Schedule>>,
    /// Writers and agents report (room, id, final clock; a writer's last marker sequence
    /// number when typing with markers) when they stop.
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
    pub deliveries: Deliveries,
    pub sent: u64,
    pub sent_measured: u64,
    pub errors: Vec<String>,
    pub reconnects: u32,
    /// Everything the writers sent arrived.
    pub complete: bool,
    /// Text and state vector of a full document.
    pub doc: Option<(String, StateVector)>,
    /// A writer's chat side (`--mix`).
    pub mix: Option<MixStats>,
    /// Other people's chat messages received.
    pub chat_delivered: u64,
}

pub struct Peer {
    room: usize,
    id: ClientID,
    url: String,
    role: Role,
    replica: Replica,
    shared: Arc<Shared>,
    link: Option<Link>,
    /// A writer's chat side, once it starts typing (`--mix`).
    chatter: Option<Chatter>,
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
    pub fn new(
        room: usize,
        id: ClientID,
        url: String,
        role: Role,
        full: bool,
        shared: Arc<Shared>,
    ) -> Self {
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
            chatter: None,
            rng: StdRng::seed_from_u64(id.get()),
            reported_finish: !writes,
            report: PeerReport {
                room,
                id,
                deliveries: Deliveries::default(),
                sent: 0,
                sent_measured: 0,
                errors: Vec::new(),
                reconnects: 0,
                complete: false,
                doc: None,
                mix: None,
                chat_delivered: 0,
            },
        }
    }

    pub async fn run(mut self) -> PeerReport {
        let synced = {
            let gate = self.shared.connect_gate.clone();
            let _permit = gate.acquire().await;
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
        self.report.mix = self.chatter.take().map(|c| c.stats);
        self.report
    }

    /// Tells the orchestrator our final clock (once; writers and agents only).
    fn report_finish(&mut self) {
        if !self.reported_finish {
            self.reported_finish = true;
            let last = match self.role {
                Role::Writer { made, .. } if self.shared.markers => made,
                _ => self.own_clock(),
            };
            let _ = self.shared.finished.send((self.room, self.id, last));
        }
    }

    fn own_clock(&self) -> u32 {
        match &self.replica {
            Replica::Full(doc) => doc.own_clock(),
            Replica::Light(_) => 0,
        }
    }

    /// Sends a frame; a failure counts as a lost connection.
    async fn send(&mut self, frame: Vec<u8>) -> Result<(), Interrupt> {
        match self.link.as_mut() {
            Some(link) => link
                .send(frame)
                .await
                .map_err(|e| Interrupt::Lost(format!("{e:#}"))),
            None => Ok(()),
        }
    }
}

/// The next message of the socket, or never when there is none.
async fn next(link: &mut Option<Link>) -> Received {
    match link {
        Some(link) => link.recv().await,
        None => std::future::pending().await,
    }
}
