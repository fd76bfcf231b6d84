/* Which processes are traced. Applied at call entry, so filtered-out calls cost one
 * map lookup or comparison and produce nothing. */
#pragma once

static __always_inline bool comm_matches(void) {
  char comm[TLSTAP_COMM_LEN] = {};
  bpf_get_current_comm(comm, sizeof(comm));
#pragma unroll
  for (int i = 0; i < TLSTAP_COMM_LEN; i++) {
    if (comm[i] != filter_comm[i]) return false;
    if (comm[i] == 0) return true;
  }
  return true;
}

static __always_inline bool should_trace(__u32 tgid) {
  if (tracing_stopped) return false;
  if (tgid == self_tgid) return false;
  if (filter_by_pid && !bpf_map_lookup_elem(&traced_pids, &tgid)) return false;
  if (filter_by_uid && (__u32)bpf_get_current_uid_gid() != filter_uid) return false;
  if (filter_by_comm && !comm_matches()) return false;
  return true;
}
