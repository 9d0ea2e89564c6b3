//! Reads the host's /proc and /sys, relative to a root directory so tests can point it at
//! fixtures. Every reader returns `None` (or an empty list) for what this host does not show.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::cpu_list;

/// A view of a host's /proc and /sys under `root` (`/` for the live host).
#[derive(Clone, Debug)]
pub struct Host {
    root: PathBuf,
}

/// One line of /proc/mounts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    /// Device or pseudo file system name.
    pub device: String,
    /// Where it is mounted.
    pub mount_point: PathBuf,
    /// File system type, e.g. `ext4` or `tmpfs`.
    pub fs_type: String,
    /// Mount options, e.g. `rw`, `relatime`, `discard`.
    pub options: Vec<String>,
}

/// The kernel command line, split into `name[=value]` parameters.
#[derive(Clone, Debug, Default)]
pub struct KernelCmdline {
    /// The raw line.
    pub raw: String,
    params: Vec<(String, Option<String>)>,
}

impl KernelCmdline {
    /// Splits a command line on whitespace.
    pub fn parse(raw: &str) -> Self {
        let params = raw
            .split_whitespace()
            .map(|word| match word.split_once('=') {
                Some((name, value)) => (name.to_string(), Some(value.to_string())),
                None => (word.to_string(), None),
            })
            .collect();
        Self {
            raw: raw.trim().to_string(),
            params,
        }
    }

    /// The value of the last occurrence of `name` (the kernel honours the last one).
    pub fn value(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|(param, _)| param == name)
            .map(|(_, value)| value.as_deref().unwrap_or(""))
    }

    /// The CPUs a CPU-list parameter names (`isolcpus`, `nohz_full`, `rcu_nocbs`).
    pub fn cpus(&self, name: &str) -> Vec<usize> {
        self.value(name).map(cpu_list::parse).unwrap_or_default()
    }
}

impl Host {
    /// A view rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The real path of an absolute host path such as `/proc/cmdline`.
    pub fn path(&self, logical: &Path) -> PathBuf {
        let relative = logical.strip_prefix("/").unwrap_or(logical);
        self.root.join(relative)
    }

    /// A file's text, trimmed, or `None` if it is not there.
    pub fn read(&self, logical: &str) -> Option<String> {
        fs::read_to_string(self.path(Path::new(logical)))
            .ok()
            .map(|text| text.trim().to_string())
    }

    /// /proc/cmdline.
    pub fn cmdline(&self) -> KernelCmdline {
        KernelCmdline::parse(&self.read("/proc/cmdline").unwrap_or_default())
    }

    /// Online CPUs, from /sys/devices/system/cpu/online, else the cpuN directories.
    pub fn online_cpus(&self) -> Vec<usize> {
        if let Some(online) = self.read("/sys/devices/system/cpu/online") {
            let cpus = cpu_list::parse(&online);
            if !cpus.is_empty() {
                return cpus;
            }
        }
        let mut cpus: Vec<usize> = self
            .list_dir("/sys/devices/system/cpu")
            .iter()
            .filter_map(|name| name.strip_prefix("cpu")?.parse().ok())
            .collect();
        cpus.sort_unstable();
        cpus
    }

    /// The hardware threads sharing `cpu`'s core (including `cpu` itself).
    pub fn thread_siblings(&self, cpu: usize) -> Option<Vec<usize>> {
        let path = format!("/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list");
        self.read(&path).map(|text| cpu_list::parse(&text))
    }

    /// Siblings of every online CPU that shows them.
    pub fn sibling_map(&self) -> BTreeMap<usize, Vec<usize>> {
        self.online_cpus()
            .into_iter()
            .filter_map(|cpu| Some((cpu, self.thread_siblings(cpu)?)))
            .collect()
    }

    /// `cpu`'s frequency governor.
    pub fn governor(&self, cpu: usize) -> Option<String> {
        self.read(&format!(
            "/sys/devices/system/cpu/cpu{cpu}/cpufreq/scaling_governor"
        ))
    }

    /// NUMA nodes and their CPUs.
    pub fn numa_nodes(&self) -> BTreeMap<usize, Vec<usize>> {
        self.list_dir("/sys/devices/system/node")
            .iter()
            .filter_map(|name| {
                let node: usize = name.strip_prefix("node")?.parse().ok()?;
                let cpus = self.read(&format!("/sys/devices/system/node/{name}/cpulist"))?;
                Some((node, cpu_list::parse(&cpus)))
            })
            .collect()
    }

    /// /proc/mounts.
    pub fn mounts(&self) -> Vec<Mount> {
        let text = self.read("/proc/mounts").unwrap_or_default();
        text.lines()
            .filter_map(|line| {
                let mut fields = line.split_whitespace();
                Some(Mount {
                    device: fields.next()?.to_string(),
                    mount_point: PathBuf::from(unescape_mount(fields.next()?)),
                    fs_type: fields.next()?.to_string(),
                    options: fields
                        .next()
                        .unwrap_or_default()
                        .split(',')
                        .map(str::to_string)
                        .collect(),
                })
            })
            .collect()
    }

    /// The mount that holds the absolute host path `logical` (longest mount point prefix;
    /// the last such line wins, as a later mount shadows an earlier one).
    pub fn mount_for(&self, logical: &Path) -> Option<Mount> {
        self.mounts()
            .into_iter()
            .filter(|mount| logical.starts_with(&mount.mount_point))
            .enumerate()
            .max_by_key(|(order, mount)| (mount.mount_point.components().count(), *order))
            .map(|(_, mount)| mount)
    }

    /// Whether a process with this command name (/proc/PID/comm) runs.
    pub fn process_running(&self, name: &str) -> bool {
        self.list_dir("/proc")
            .iter()
            .filter(|entry| entry.bytes().all(|b| b.is_ascii_digit()))
            .any(|pid| self.read(&format!("/proc/{pid}/comm")).as_deref() == Some(name))
    }

    /// Every IRQ with its CPU affinity, sorted by IRQ number.
    pub fn irq_affinities(&self) -> Vec<(u32, Vec<usize>)> {
        let mut irqs: Vec<(u32, Vec<usize>)> = self
            .list_dir("/proc/irq")
            .iter()
            .filter_map(|name| {
                let irq = name.parse().ok()?;
                let list = self.read(&format!("/proc/irq/{name}/smp_affinity_list"))?;
                Some((irq, cpu_list::parse(&list)))
            })
            .collect();
        irqs.sort_unstable_by_key(|(irq, _)| *irq);
        irqs
    }

    /// The idle states of `cpu`: (name, exit latency in us, disabled).
    pub fn idle_states(&self, cpu: usize) -> Vec<(String, u64, bool)> {
        let base = format!("/sys/devices/system/cpu/cpu{cpu}/cpuidle");
        let mut states: Vec<(usize, String, u64, bool)> = self
            .list_dir(&base)
            .iter()
            .filter_map(|name| {
                let index: usize = name.strip_prefix("state")?.parse().ok()?;
                let dir = format!("{base}/{name}");
                let label = self.read(&format!("{dir}/name"))?;
                let latency = self.read(&format!("{dir}/latency"))?.parse().unwrap_or(0);
                let disabled = self.read(&format!("{dir}/disable")).as_deref() == Some("1");
                Some((index, label, latency, disabled))
            })
            .collect();
        states.sort_unstable_by_key(|state| state.0);
        states.into_iter().map(|(_, n, l, d)| (n, l, d)).collect()
    }

    /// The CPU model name from /proc/cpuinfo.
    pub fn cpu_model(&self) -> Option<String> {
        let info = self.read("/proc/cpuinfo")?;
        info.lines()
            .find(|line| line.starts_with("model name"))
            .and_then(|line| line.split_once(':'))
            .map(|(_, model)| model.trim().to_string())
    }

    /// The kernel release, e.g. `6.1.0-18-amd64`.
    pub fn kernel_release(&self) -> Option<String> {
        self.read("/proc/sys/kernel/osrelease")
    }

    fn list_dir(&self, logical: &str) -> Vec<String> {
        let Ok(entries) = fs::read_dir(self.path(Path::new(logical))) else {
            return Vec::new();
        };
        entries
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .collect()
    }
}

/// /proc/mounts escapes space, tab, newline and backslash as octal.
fn unescape_mount(field: &str) -> String {
    field
        .replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmdline_takes_last_value_and_cpu_lists() {
        let line = KernelCmdline::parse("ro quiet isolcpus=1 isolcpus=managed_irq,2-3 nohz_full");
        assert_eq!(line.cpus("isolcpus"), vec![2, 3]);
        assert_eq!(line.value("nohz_full"), Some(""));
        assert_eq!(line.value("ro"), Some(""));
        assert_eq!(line.value("rcu_nocbs"), None);
    }

    #[test]
    fn mount_lookup_prefers_the_deepest_and_latest_mount() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("proc")).unwrap();
        fs::write(
            dir.path().join("proc/mounts"),
            "/dev/sda1 / ext4 rw 0 0\ntmpfs /dev/shm tmpfs rw 0 0\n\
             /dev/sdb1 /var/lib xfs rw 0 0\n/dev/sdc1 /var/lib btrfs rw 0 0\n\
             /dev/sdd1 /mnt/my\\040disk ext4 rw 0 0\n",
        )
        .unwrap();
        let host = Host::new(dir.path());
        let fs_of = |p: &str| host.mount_for(Path::new(p)).unwrap().fs_type;
        assert_eq!(fs_of("/dev/shm/pinwheel-x"), "tmpfs");
        assert_eq!(fs_of("/var/lib/pinwheel"), "btrfs");
        assert_eq!(fs_of("/home/me"), "ext4");
        assert_eq!(fs_of("/mnt/my disk/j"), "ext4");
        assert_eq!(
            fs_of("/devices"),
            "ext4",
            "a prefix must match whole components"
        );
    }
}
