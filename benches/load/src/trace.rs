//! Concurrent editing traces (by default read from `../shared/traces/concurrent/*.json.gz`,
//! gzip'd JSON): each transaction names its agent, its causal parents and splice patches
//! relative to the parents' version. Loading computes, for every transaction,
//! the last transaction of each agent in its causal past, which is what a replaying agent must
//! have applied (and nothing more) before it makes that edit.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

#[derive(Deserialize)]
struct RawTrace {
    #[serde(rename = "endContent")]
    end_content: String,
    #[serde(rename = "numAgents")]
    num_agents: usize,
    txns: Vec<RawTxn>,
}

#[derive(Deserialize)]
struct RawTxn {
    parents: Vec<usize>,
    agent: usize,
    patches: Vec<(u32, u32, String)>,
}

/// One transaction, ready to replay.
#[derive(Debug)]
pub struct Txn {
    pub agent: usize,
    /// Splices `(pos, delete, insert)` applied in order; positions in UTF-16 units.
    pub patches: Vec<(u32, u32, String)>,
    /// Per agent: how many of its transactions are in this one's causal past (for the own
    /// agent: its position in that agent's sequence).
    pub deps: Vec<u32>,
}

impl Txn {
    /// Whether the transaction inserts nothing (it then needs a clock marker, see `agent.rs`).
    pub fn deletes_only(&self) -> bool {
        self.patches.iter().all(|(_, _, ins)| ins.is_empty())
    }
}

/// A loaded trace.
#[derive(Debug)]
pub struct Trace {
    pub name: String,
    pub end_content: String,
    pub num_agents: usize,
    pub txns: Vec<Txn>,
    /// Transaction indices of each agent, in its order.
    pub by_agent: Vec<Vec<usize>>,
}

/// Where `--trace` points: the path itself, or a name under `$CHATSPACE_TRACES` (default
/// `../shared/traces`, relative to the working directory, i.e. the repository root).
pub fn resolve(arg: &str) -> Result<PathBuf, Vec<PathBuf>> {
    let root = std::env::var("CHATSPACE_TRACES").unwrap_or_else(|_| "../shared/traces".into());
    let root = Path::new(&root);
    let candidates = [
        PathBuf::from(arg),
        root.join(arg),
        root.join("concurrent").join(arg),
        root.join("concurrent").join(format!("{arg}.json.gz")),
    ];
    match candidates.iter().find(|p| p.is_file()) {
        Some(found) => Ok(found.clone()),
        None => Err(candidates.to_vec()),
    }
}

pub fn load(path: &Path) -> Result<Trace> {
    let file = std::fs::File::open(path).with_context(|| format!("failed to open {path:?}"))?;
    let reader = std::io::BufReader::new(flate2::read::GzDecoder::new(file));
    let raw: RawTrace =
        serde_json::from_reader(reader).with_context(|| format!("failed to parse {path:?}"))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().trim_end_matches(".json.gz").to_owned())
        .unwrap_or_default();
    prepare(name, raw)
}

fn prepare(name: String, raw: RawTrace) -> Result<Trace> {
    let n = raw.num_agents;
    if n == 0 {
        bail!("the trace has no agents");
    }
    let mut by_agent: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut txns: Vec<Txn> = Vec::with_capacity(raw.txns.len());
    for (i, t) in raw.txns.into_iter().enumerate() {
        if t.agent >= n {
            bail!("transaction {i} names agent {} of {n}", t.agent);
        }
        // Code points equal UTF-16 units only inside the Basic Multilingual Plane.
        if t.patches
            .iter()
            .any(|(_, _, s)| s.chars().any(|c| c > '\u{ffff}'))
        {
            bail!("transaction {i} inserts characters outside the BMP; positions would need converting");
        }
        let mut deps = vec![0u32; n];
        for &p in &t.parents {
            let parent = txns
                .get(p)
                .with_context(|| format!("transaction {i} has a later parent {p}"))?;
            for (d, &pd) in deps.iter_mut().zip(&parent.deps) {
                *d = (*d).max(pd);
            }
            // The parent itself is in the past: its agent's count covers it.
            let own = parent.deps[parent.agent] + 1;
            deps[parent.agent] = deps[parent.agent].max(own);
        }
        let seq = by_agent[t.agent].len() as u32;
        // Replay keeps one document per agent, so each agent's transactions must form a chain.
        if deps[t.agent] != seq {
            bail!("transaction {i} does not follow its agent's previous one");
        }
        by_agent[t.agent].push(i);
        txns.push(Txn {
            agent: t.agent,
            patches: t.patches,
            deps,
        });
    }
    Ok(Trace {
        name,
        end_content: raw.end_content,
        num_agents: n,
        txns,
        by_agent,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(txns: Vec<(Vec<usize>, usize)>) -> RawTrace {
        RawTrace {
            end_content: String::new(),
            num_agents: 2,
            txns: txns
                .into_iter()
                .map(|(parents, agent)| RawTxn {
                    parents,
                    agent,
                    patches: vec![(0, 0, "x".into())],
                })
                .collect(),
        }
    }

    #[test]
    fn dependencies_count_each_agents_transactions_in_the_causal_past() {
        // 0:a0  1:b0 (after 0)  2:a1 (after 0)  3:a2 (merge of 1 and 2)
        let trace = prepare(
            "t".into(),
            raw(vec![
                (vec![], 0),
                (vec![0], 1),
                (vec![0], 0),
                (vec![1, 2], 0),
            ]),
        )
        .unwrap();
        let deps: Vec<_> = trace.txns.iter().map(|t| t.deps.clone()).collect();
        assert_eq!(deps, vec![vec![0, 0], vec![1, 0], vec![1, 0], vec![2, 1]]);
        assert_eq!(trace.by_agent, vec![vec![0, 2, 3], vec![1]]);
    }

    #[test]
    fn an_agent_forking_its_own_history_is_refused() {
        assert!(prepare("t".into(), raw(vec![(vec![], 0), (vec![], 0)])).is_err());
    }

    #[test]
    fn the_shared_concurrent_traces_load_when_present() {
        // Tests run in benches/load; the traces sit beside the repository.
        let traces = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/traces");
        for name in ["friendsforever", "clownschool"] {
            let path = traces.join(format!("concurrent/{name}.json.gz"));
            if !path.is_file() {
                continue;
            }
            let trace = load(&path).unwrap();
            assert!(trace.num_agents >= 2);
            assert_eq!(
                trace.by_agent.iter().map(Vec::len).sum::<usize>(),
                trace.txns.len()
            );
        }
    }
}
