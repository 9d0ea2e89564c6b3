//! Proposes which core each Pinwheel thread runs on, from the host's topology.
//!
//! The engine spins, so it gets a core to itself: an isolated one if the kernel isolates
//! any, and its SMT siblings stay idle (a busy sibling shares the engine's pipeline and
//! caches). The journal flusher comes next, then the edges; the feed, the least
//! latency-sensitive, shares the housekeeping cores.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::cpu_list;
use crate::host::Host;

/// What the plan is made from.
#[derive(Clone, Debug, Default)]
pub struct Topology {
    /// Online CPUs.
    pub online: Vec<usize>,
    /// CPUs the kernel isolates (isolcpus, else nohz_full).
    pub isolated: Vec<usize>,
    /// SMT siblings per CPU (including the CPU), where the host shows them.
    pub siblings: BTreeMap<usize, Vec<usize>>,
}

/// Which core runs what.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The engine's busy-spinning thread.
    pub engine_core: usize,
    /// The journal's fdatasync thread.
    pub flusher_core: usize,
    /// One core per edge process.
    pub edge_cores: Vec<usize>,
    /// The feed process.
    pub feed_core: usize,
    /// SMT siblings of the engine core, to leave idle.
    pub idle_siblings: Vec<usize>,
    /// Why each choice was made.
    pub notes: Vec<String>,
    /// Kernel parameters that would isolate the engine, if the host does not yet.
    pub suggested_cmdline: Option<String>,
}

impl Topology {
    /// Reads the topology of `host`.
    pub fn of(host: &Host) -> Self {
        let cmdline = host.cmdline();
        let mut isolated = cmdline.cpus("isolcpus");
        if isolated.is_empty() {
            isolated = cmdline.cpus("nohz_full");
        }
        let mut online = host.online_cpus();
        if online.is_empty() {
            online = vec![0];
        }
        isolated.retain(|cpu| online.contains(cpu));
        Self {
            online,
            isolated,
            siblings: host.sibling_map(),
        }
    }

    fn siblings_of(&self, cpu: usize) -> Vec<usize> {
        let mut others = self.siblings.get(&cpu).cloned().unwrap_or_default();
        others.retain(|&other| other != cpu);
        others
    }
}

/// Proposes cores for the engine, flusher, `edges` edges and the feed.
pub fn propose(topology: &Topology, edges: usize) -> Plan {
    assert!(!topology.online.is_empty(), "a host has at least one CPU");
    let mut notes = Vec::new();
    let engine_core = choose_engine(topology, &mut notes);
    let idle_siblings = topology.siblings_of(engine_core);
    if !idle_siblings.is_empty() {
        notes.push(format!(
            "leave SMT sibling(s) {} of the engine core idle",
            cpu_list::format(&idle_siblings)
        ));
    }
    let taken = |cpu: &usize| *cpu == engine_core || idle_siblings.contains(cpu);
    let spare_isolated: Vec<usize> = topology
        .isolated
        .iter()
        .copied()
        .filter(|c| !taken(c))
        .collect();
    let mut housekeeping: Vec<usize> = topology
        .online
        .iter()
        .copied()
        .filter(|c| !topology.isolated.contains(c) && !taken(c))
        .collect();
    if housekeeping.is_empty() {
        notes.push("no core is left for housekeeping: the others share the engine's".into());
        housekeeping.push(engine_core);
    }
    let (flusher_core, edge_pool) = match spare_isolated.split_first() {
        Some((&first, rest)) if !rest.is_empty() => (first, rest.to_vec()),
        Some((&first, _)) => (first, housekeeping.clone()),
        None => (housekeeping[0], housekeeping.clone()),
    };
    let edge_cores = (0..edges).map(|i| edge_pool[i % edge_pool.len()]).collect();
    let feed_core = *housekeeping.last().expect("housekeeping is not empty");
    let suggested_cmdline = topology.isolated.is_empty().then(|| {
        let mut isolate = idle_siblings.clone();
        isolate.push(engine_core);
        let isolate = cpu_list::format(&isolate);
        format!(
            "isolcpus=managed_irq,domain,{isolate} nohz_full={isolate} rcu_nocbs={isolate} \
             irqaffinity={}",
            cpu_list::format(&housekeeping)
        )
    });
    Plan {
        engine_core,
        flusher_core,
        edge_cores,
        feed_core,
        idle_siblings,
        notes,
        suggested_cmdline,
    }
}

fn choose_engine(topology: &Topology, notes: &mut Vec<String>) -> usize {
    if !topology.isolated.is_empty() {
        let whole_core_isolated = |cpu: &&usize| {
            topology
                .siblings_of(**cpu)
                .iter()
                .all(|s| topology.isolated.contains(s))
        };
        let engine = *topology
            .isolated
            .iter()
            .find(whole_core_isolated)
            .unwrap_or(&topology.isolated[0]);
        notes.push(format!(
            "engine on isolated core {engine} (isolated: {})",
            cpu_list::format(&topology.isolated)
        ));
        return engine;
    }
    // Without isolation, core 0 takes most interrupts and housekeeping; take the last.
    let engine = *topology.online.last().expect("online is not empty");
    notes.push(format!(
        "no isolated cores: engine on the last online core {engine}; isolate it (see the \
         suggested kernel parameters)"
    ));
    engine
}

impl Plan {
    /// The `[pinning]` section of the Pinwheel config file.
    pub fn to_toml(&self) -> String {
        let edges: Vec<String> = self.edge_cores.iter().map(usize::to_string).collect();
        format!(
            "[pinning]\nengine_core = {}\nflusher_core = {}\nedge_cores = [{}]\nfeed_core = {}\n",
            self.engine_core,
            self.flusher_core,
            edges.join(", "),
            self.feed_core
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topology(online: &[usize], isolated: &[usize], pairs: &[(usize, usize)]) -> Topology {
        let mut siblings = BTreeMap::new();
        for &cpu in online {
            siblings.insert(cpu, vec![cpu]);
        }
        for &(a, b) in pairs {
            siblings.insert(a, vec![a, b]);
            siblings.insert(b, vec![a, b]);
        }
        Topology {
            online: online.to_vec(),
            isolated: isolated.to_vec(),
            siblings,
        }
    }

    #[test]
    fn isolated_host_gets_engine_and_flusher_on_isolated_cores() {
        let plan = propose(&topology(&[0, 1, 2, 3], &[2, 3], &[]), 2);
        assert_eq!((plan.engine_core, plan.flusher_core), (2, 3));
        assert_eq!(plan.edge_cores, vec![0, 1]);
        assert_eq!(plan.feed_core, 1);
        assert!(plan.suggested_cmdline.is_none());
        assert!(plan.idle_siblings.is_empty());
    }

    #[test]
    fn engine_prefers_a_core_whose_sibling_is_isolated_too() {
        // 0/4 1/5 2/6 3/7 pairs; 3 and 6 isolated but their siblings are not; 2+6 both are.
        let topo = topology(
            &[0, 1, 2, 3, 4, 5, 6, 7],
            &[2, 3, 6],
            &[(0, 4), (1, 5), (2, 6), (3, 7)],
        );
        let plan = propose(&topo, 1);
        assert_eq!(plan.engine_core, 2);
        assert_eq!(plan.idle_siblings, vec![6]);
        assert_eq!(plan.flusher_core, 3);
        assert!(!plan.edge_cores.contains(&6) && plan.feed_core != 6);
    }

    #[test]
    fn stock_two_core_host_keeps_core_zero_for_housekeeping() {
        let plan = propose(&topology(&[0, 1], &[], &[]), 1);
        assert_eq!(plan.engine_core, 1);
        assert_eq!((plan.flusher_core, plan.feed_core), (0, 0));
        assert_eq!(plan.edge_cores, vec![0]);
        let cmdline = plan.suggested_cmdline.unwrap();
        assert!(
            cmdline.contains("isolcpus=managed_irq,domain,1 "),
            "{cmdline}"
        );
        assert!(cmdline.contains("irqaffinity=0"), "{cmdline}");
    }

    #[test]
    fn single_core_host_shares_everything() {
        let plan = propose(&topology(&[0], &[], &[]), 2);
        assert_eq!(plan.engine_core, 0);
        assert_eq!(plan.edge_cores, vec![0, 0]);
    }

    #[test]
    fn toml_section_names_every_core() {
        let plan = propose(&topology(&[0, 1, 2, 3], &[2, 3], &[]), 2);
        assert_eq!(
            plan.to_toml(),
            "[pinning]\nengine_core = 2\nflusher_core = 3\nedge_cores = [0, 1]\nfeed_core = 1\n"
        );
    }
}
