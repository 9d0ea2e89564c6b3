//! `pinwheel tune check`: inspects the host item by item and says pass or warn, why the
//! item matters to a spinning engine, and how to fix it.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cpu_list;
use crate::fsync_latency;
use crate::host::Host;
use crate::plan::{self, Plan, Topology};

/// fdatasync median above which the journal's sync durability gets slow.
const FSYNC_WARN_NS: u64 = 2_000_000;

/// How many fdatasyncs the check times.
const FSYNC_SAMPLES: usize = 16;

/// The outcome of one item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Tuned as a low-latency host should be.
    Pass,
    /// Costs latency or jitter; the fix says what to change.
    Warn,
    /// This host does not show it (common in virtual machines and containers).
    Unknown,
}

/// One inspected item.
#[derive(Clone, Debug, Serialize)]
pub struct Item {
    /// Stable identifier, e.g. `isolcpus`.
    pub id: &'static str,
    /// Pass, warn or unknown.
    pub status: Status,
    /// What was found.
    pub found: String,
    /// Why it matters.
    pub why: &'static str,
    /// How to fix it (empty when it passes).
    pub fix: String,
}

/// What `check` inspects.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// Root of /proc and /sys (`/` for the live host).
    pub root: PathBuf,
    /// The journal's data directory (absolute, as on the host).
    pub data_dir: PathBuf,
    /// The rings' run directory (absolute, as on the host).
    pub run_dir: PathBuf,
}

/// Everything `check` found.
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    /// The core the plan gives the engine; the SMT, governor and IRQ items look at it.
    pub engine_core: usize,
    /// The items, in a fixed order.
    pub items: Vec<Item>,
    /// The pinning plan made from the same findings.
    pub plan: Plan,
}

impl CheckReport {
    /// The item with this id.
    pub fn item(&self, id: &str) -> Option<&Item> {
        self.items.iter().find(|item| item.id == id)
    }

    /// How many items have this status.
    pub fn count(&self, status: Status) -> usize {
        self.items.iter().filter(|i| i.status == status).count()
    }
}

/// Inspects the host.
pub fn check(options: &CheckOptions) -> CheckReport {
    let host = Host::new(&options.root);
    let topology = Topology::of(&host);
    let plan = plan::propose(&topology, 1);
    let core = plan.engine_core;
    let items = vec![
        cmdline_item(&host, "isolcpus", core, WHY_ISOLCPUS),
        cmdline_item(&host, "nohz_full", core, WHY_NOHZ),
        cmdline_item(&host, "rcu_nocbs", core, WHY_RCU),
        smt_item(&host, &topology, core),
        governor_item(&host, core),
        turbo_item(&host),
        cstate_item(&host, core),
        thp_item(&host),
        irqbalance_item(&host),
        irq_affinity_item(&host, core),
        numa_item(&host, &plan),
        run_dir_item(&host, &options.run_dir),
        journal_fs_item(&host, &options.data_dir),
        discard_item(&host, &options.data_dir),
        fsync_item(&host, &options.data_dir),
    ];
    CheckReport {
        engine_core: core,
        items,
        plan,
    }
}

const WHY_ISOLCPUS: &str = "the scheduler keeps other tasks off an isolated core, so nothing \
    preempts the spinning engine";
const WHY_NOHZ: &str = "a tickless core takes no timer interrupt while one task runs: the \
    engine loses no microseconds to the 1-4 ms scheduler tick";
const WHY_RCU: &str = "RCU callbacks run on other cores instead of interrupting the engine's";

fn item(id: &'static str, status: Status, found: String, why: &'static str, fix: &str) -> Item {
    let fix = if status == Status::Pass {
        String::new()
    } else {
        fix.to_string()
    };
    Item {
        id,
        status,
        found,
        why,
        fix,
    }
}

fn cmdline_item(host: &Host, name: &'static str, core: usize, why: &'static str) -> Item {
    let cmdline = host.cmdline();
    let cpus = cmdline.cpus(name);
    let (status, found) = match cmdline.value(name) {
        None => (
            Status::Warn,
            format!("{name} not on the kernel command line"),
        ),
        Some(_) if cpus.contains(&core) => {
            (Status::Pass, format!("{name}={}", cpu_list::format(&cpus)))
        }
        Some(_) => (
            Status::Warn,
            format!(
                "{name}={} does not include engine core {core}",
                cpu_list::format(&cpus)
            ),
        ),
    };
    let fix = format!(
        "add {name}={core} (with the engine core's SMT siblings) to GRUB_CMDLINE_LINUX in \
         /etc/default/grub, run update-grub and reboot; see tuning/README.md"
    );
    item(name, status, found, why, &fix)
}

fn smt_item(host: &Host, topology: &Topology, core: usize) -> Item {
    let why = "an SMT sibling shares the engine core's execution units and L1/L2 caches; \
               anything running there slows the engine";
    let Some(siblings) = host.thread_siblings(core) else {
        return item(
            "smt_siblings",
            Status::Unknown,
            "topology not visible".into(),
            why,
            "",
        );
    };
    let others: Vec<usize> = siblings.into_iter().filter(|&s| s != core).collect();
    let busy: Vec<usize> = others
        .iter()
        .copied()
        .filter(|s| !topology.isolated.contains(s))
        .collect();
    let (status, found) = if others.is_empty() {
        (Status::Pass, format!("core {core} has no SMT sibling"))
    } else if busy.is_empty() {
        (
            Status::Pass,
            format!(
                "sibling(s) {} of core {core} are isolated too",
                cpu_list::format(&others)
            ),
        )
    } else {
        (
            Status::Warn,
            format!(
                "core {core} shares its physical core with {} (not isolated)",
                cpu_list::format(&busy)
            ),
        )
    };
    let fix = format!(
        "isolate the siblings too (isolcpus={}) and leave them idle, or turn SMT off \
         (echo off > /sys/devices/system/cpu/smt/control, or nosmt on the kernel command line)",
        cpu_list::format(&[vec![core], others].concat())
    );
    item("smt_siblings", status, found, why, &fix)
}

fn governor_item(host: &Host, core: usize) -> Item {
    let why = "a power-saving governor lowers the clock of a core it thinks is idle and \
               ramps it up late; latency then depends on recent load";
    let fix = "cpupower frequency-set -g performance (or tuned-adm profile latency-performance)";
    match host.governor(core) {
        None => item(
            "governor",
            Status::Unknown,
            "cpufreq not visible".into(),
            why,
            fix,
        ),
        Some(governor) => {
            let status = if governor == "performance" {
                Status::Pass
            } else {
                Status::Warn
            };
            let found = format!("core {core}: {governor}");
            item("governor", status, found, why, fix)
        }
    }
}

fn turbo_item(host: &Host) -> Item {
    let why = "turbo changes the clock with temperature and with how many cores are busy, so \
               the same work takes different times; a fixed clock gives steady latency";
    let fix = "echo 1 > /sys/devices/system/cpu/intel_pstate/no_turbo (Intel) or \
               echo 0 > /sys/devices/system/cpu/cpufreq/boost (AMD, acpi-cpufreq)";
    let no_turbo = host.read("/sys/devices/system/cpu/intel_pstate/no_turbo");
    let boost = host.read("/sys/devices/system/cpu/cpufreq/boost");
    let (status, found) = match (no_turbo.as_deref(), boost.as_deref()) {
        (Some("1"), _) => (Status::Pass, "intel_pstate no_turbo=1".to_string()),
        (Some(value), _) => (
            Status::Warn,
            format!("intel_pstate no_turbo={value} (turbo on)"),
        ),
        (None, Some("0")) => (Status::Pass, "cpufreq boost=0".to_string()),
        (None, Some(value)) => (Status::Warn, format!("cpufreq boost={value} (turbo on)")),
        (None, None) => (Status::Unknown, "turbo control not visible".to_string()),
    };
    item("turbo", status, found, why, fix)
}

fn cstate_item(host: &Host, core: usize) -> Item {
    let why = "waking from a deep C-state takes tens to hundreds of microseconds; cores that \
               sleep deeply answer the engine's events late";
    let fix = "add intel_idle.max_cstate=1 processor.max_cstate=1 to the kernel command line, \
               or disable deep states (cpupower idle-set -D 2, tuned latency-performance)";
    let cmdline = host.cmdline();
    let limited = ["intel_idle.max_cstate", "processor.max_cstate"]
        .iter()
        .filter_map(|name| cmdline.value(name)?.parse::<u32>().ok())
        .any(|max| max <= 1)
        || cmdline.value("idle") == Some("poll");
    if limited {
        let found = "deep C-states limited on the kernel command line".to_string();
        return item("cstates", Status::Pass, found, why, fix);
    }
    let states = host.idle_states(core);
    if states.is_empty() {
        return item(
            "cstates",
            Status::Unknown,
            "cpuidle not visible".into(),
            why,
            fix,
        );
    }
    // Anything slower to leave than 10 us is "deep" for this purpose.
    let deep: Vec<&str> = states
        .iter()
        .filter(|(_, latency, disabled)| *latency > 10 && !*disabled)
        .map(|(name, _, _)| name.as_str())
        .collect();
    if deep.is_empty() {
        let found = format!("core {core}: no deep C-state enabled");
        item("cstates", Status::Pass, found, why, fix)
    } else {
        let found = format!("core {core}: deep C-states enabled: {}", deep.join(", "));
        item("cstates", Status::Warn, found, why, fix)
    }
}

fn thp_item(host: &Host) -> Item {
    let why = "with THP 'always', khugepaged compacts and collapses pages in the background, \
               stalling the process whose memory it moves";
    let fix = "echo madvise > /sys/kernel/mm/transparent_hugepage/enabled \
               (or transparent_hugepage=madvise on the kernel command line)";
    let Some(setting) = host.read("/sys/kernel/mm/transparent_hugepage/enabled") else {
        return item(
            "transparent_hugepages",
            Status::Unknown,
            "not visible".into(),
            why,
            fix,
        );
    };
    let selected = setting
        .split_whitespace()
        .find(|word| word.starts_with('['))
        .map(|word| word.trim_matches(|c| c == '[' || c == ']').to_string())
        .unwrap_or(setting.clone());
    let status = if selected == "always" {
        Status::Warn
    } else {
        Status::Pass
    };
    item("transparent_hugepages", status, selected, why, fix)
}

fn irqbalance_item(host: &Host) -> Item {
    let why = "irqbalance moves interrupts between cores every few seconds and may move one \
               onto the engine core";
    let fix = "systemctl disable --now irqbalance and pin IRQs to housekeeping cores, or set \
               IRQBALANCE_BANNED_CPULIST to the engine's cores in /etc/default/irqbalance";
    if host.process_running("irqbalance") {
        item(
            "irqbalance",
            Status::Warn,
            "irqbalance is running".into(),
            why,
            fix,
        )
    } else {
        item(
            "irqbalance",
            Status::Pass,
            "irqbalance is not running".into(),
            why,
            fix,
        )
    }
}

fn irq_affinity_item(host: &Host, core: usize) -> Item {
    let why = "an interrupt handled on the engine core stops the engine for its duration";
    let irqs = host.irq_affinities();
    if irqs.is_empty() {
        return item(
            "irq_affinity",
            Status::Unknown,
            "/proc/irq not visible".into(),
            why,
            "",
        );
    }
    let on_core: Vec<String> = irqs
        .iter()
        .filter(|(_, cpus)| cpus.contains(&core))
        .map(|(irq, _)| irq.to_string())
        .collect();
    let fix = format!(
        "for each listed IRQ: echo <housekeeping cores> > /proc/irq/<n>/smp_affinity_list, \
         or irqaffinity=<housekeeping cores> on the kernel command line; here: {}",
        on_core.join(" ")
    );
    if on_core.is_empty() {
        let found = format!("none of {} IRQs may run on core {core}", irqs.len());
        item("irq_affinity", Status::Pass, found, why, &fix)
    } else {
        let found = format!(
            "{} of {} IRQs may run on core {core}: {}",
            on_core.len(),
            irqs.len(),
            on_core.join(",")
        );
        item("irq_affinity", Status::Warn, found, why, &fix)
    }
}

fn numa_item(host: &Host, plan: &Plan) -> Item {
    let why = "memory and cores on another NUMA node add a hop to every cache miss; the engine, \
               its rings and edges belong on one node";
    let fix = "pin all of Pinwheel to one node's cores and memory (numactl --cpunodebind=N \
               --membind=N pinwheel up)";
    let nodes = host.numa_nodes();
    if nodes.is_empty() {
        return item(
            "numa",
            Status::Unknown,
            "NUMA topology not visible".into(),
            why,
            fix,
        );
    }
    let node_of = |cpu: usize| {
        nodes
            .iter()
            .find(|(_, cpus)| cpus.contains(&cpu))
            .map(|n| *n.0)
    };
    let mut used = vec![plan.engine_core, plan.flusher_core, plan.feed_core];
    used.extend(&plan.edge_cores);
    let mut used_nodes: Vec<usize> = used.into_iter().filter_map(node_of).collect();
    used_nodes.sort_unstable();
    used_nodes.dedup();
    let found = format!(
        "{} node(s); the plan uses node(s) {used_nodes:?}",
        nodes.len()
    );
    let status = if used_nodes.len() <= 1 {
        Status::Pass
    } else {
        Status::Warn
    };
    item("numa", status, found, why, fix)
}

fn run_dir_item(host: &Host, run_dir: &Path) -> Item {
    let why = "the rings are memory-mapped files: on tmpfs they are plain memory; on a disk \
               file system the kernel writes their pages back, stalling the writer";
    let fix = "keep --run-dir under /dev/shm (the default) or another tmpfs mount";
    match host.mount_for(run_dir) {
        None => item(
            "run_dir_tmpfs",
            Status::Unknown,
            "no mount found".into(),
            why,
            fix,
        ),
        Some(mount) => {
            let found = format!(
                "{} is on {} ({})",
                run_dir.display(),
                mount.fs_type,
                mount.mount_point.display()
            );
            let status = if mount.fs_type == "tmpfs" {
                Status::Pass
            } else {
                Status::Warn
            };
            item("run_dir_tmpfs", status, found, why, fix)
        }
    }
}

fn journal_fs_item(host: &Host, data_dir: &Path) -> Item {
    let why = "the journal is the only database: it must be on a local disk file system that \
               honours fdatasync";
    let fix = "put --data-dir on a local ext4 or xfs file system (not tmpfs, a network or \
               an overlay file system)";
    let volatile = ["tmpfs", "ramfs"];
    let remote = ["nfs", "nfs4", "cifs", "smb3", "fuse", "overlay", "9p"];
    match host.mount_for(data_dir) {
        None => item(
            "journal_filesystem",
            Status::Unknown,
            "no mount found".into(),
            why,
            fix,
        ),
        Some(mount) => {
            let fs = mount.fs_type.as_str();
            let (status, note) = if volatile.contains(&fs) {
                (Status::Warn, " (memory: lost on reboot)")
            } else if remote.contains(&fs) || fs.starts_with("fuse.") {
                (
                    Status::Warn,
                    " (network or layered: slow or unreliable fdatasync)",
                )
            } else {
                (Status::Pass, "")
            };
            let found = format!("{} is on {fs}{note}", data_dir.display());
            item("journal_filesystem", status, found, why, fix)
        }
    }
}

fn discard_item(host: &Host, data_dir: &Path) -> Item {
    let why =
        "with online discard, deleting files (retention = \"delete\", an old data dir) trims \
               their blocks in the next file-system commit, and every fdatasync of the journal \
               waits for it: deleting 512 MiB held one up for 100-175 ms on the development VM";
    let fix = "mount the journal's file system without `discard` and trim in batches \
               (`systemctl enable --now fstrim.timer`), or use retention = \"archive\"";
    match host.mount_for(data_dir) {
        None => item(
            "journal_discard",
            Status::Unknown,
            "no mount found".into(),
            why,
            fix,
        ),
        Some(mount) => {
            let online = mount.options.iter().any(|option| option == "discard");
            let (status, how) = if online {
                (Status::Warn, "with online discard")
            } else {
                (Status::Pass, "without online discard")
            };
            let found = format!("{} is mounted {how}", mount.mount_point.display());
            item("journal_discard", status, found, why, fix)
        }
    }
}

fn fsync_item(host: &Host, data_dir: &Path) -> Item {
    let why = "with sync durability every acknowledgement waits for a group fdatasync; its \
               latency is the floor of an order's round trip";
    let fix = "use a device with power-loss protection (enterprise NVMe), or async durability";
    let Some(dir) = fsync_latency::existing_ancestor(&host.path(data_dir)) else {
        return item(
            "fdatasync_latency",
            Status::Unknown,
            "no directory".into(),
            why,
            fix,
        );
    };
    match fsync_latency::measure(&dir, FSYNC_SAMPLES) {
        Err(error) => item(
            "fdatasync_latency",
            Status::Unknown,
            format!("{error:#}"),
            why,
            fix,
        ),
        Ok(latency) => {
            let found = format!(
                "{} fdatasyncs in {}: p50 {} us, max {} us",
                latency.samples,
                dir.display(),
                latency.p50_ns / 1000,
                latency.max_ns / 1000
            );
            let status = if latency.p50_ns <= FSYNC_WARN_NS {
                Status::Pass
            } else {
                Status::Warn
            };
            item("fdatasync_latency", status, found, why, fix)
        }
    }
}
