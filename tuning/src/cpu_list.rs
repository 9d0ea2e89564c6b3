//! Linux CPU lists ("0-3,8,10-11"), as found in /proc/cmdline and /sys.

/// Parses a CPU list. Tokens that are not numbers or ranges (the flags `isolcpus` accepts,
/// such as `managed_irq` or `domain`) are skipped, so `isolcpus=managed_irq,domain,2-3`
/// yields `[2, 3]`. The result is sorted and free of duplicates.
pub fn parse(text: &str) -> Vec<usize> {
    let mut cpus = Vec::new();
    for token in text.trim().split(',').map(str::trim) {
        if let Some((low, high)) = token.split_once('-') {
            // A stride form "0-7:2" exists; the stride is the part after ':'.
            let (high, stride) = high.split_once(':').unwrap_or((high, "1"));
            if let (Ok(low), Ok(high), Ok(stride)) = (
                low.parse::<usize>(),
                high.parse::<usize>(),
                stride.parse::<usize>(),
            ) {
                cpus.extend((low..=high).step_by(stride.max(1)));
            }
        } else if let Ok(cpu) = token.parse::<usize>() {
            cpus.push(cpu);
        }
    }
    cpus.sort_unstable();
    cpus.dedup();
    cpus
}

/// Formats CPUs as a compact list, collapsing runs into ranges: `[0,1,2,5]` is `0-2,5`.
pub fn format(cpus: &[usize]) -> String {
    let mut sorted = cpus.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut index = 0;
    while index < sorted.len() {
        let start = sorted[index];
        let mut end = start;
        while index + 1 < sorted.len() && sorted[index + 1] == end + 1 {
            index += 1;
            end = sorted[index];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        index += 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_with_ranges_flags_and_strides() {
        assert_eq!(parse("0-3,8"), vec![0, 1, 2, 3, 8]);
        assert_eq!(parse("managed_irq,domain,2-3"), vec![2, 3]);
        assert_eq!(parse("0-6:2\n"), vec![0, 2, 4, 6]);
        assert_eq!(parse(""), Vec::<usize>::new());
        assert_eq!(parse("3,1,1"), vec![1, 3]);
    }

    #[test]
    fn lists_format_compactly() {
        assert_eq!(format(&[0, 1, 2, 5]), "0-2,5");
        assert_eq!(format(&[7]), "7");
        assert_eq!(format(&[]), "");
        assert_eq!(parse(&format(&[1, 2, 3, 9, 10])), vec![1, 2, 3, 9, 10]);
    }
}
