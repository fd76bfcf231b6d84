/* Process life cycle: follow children of traced processes, and tell user space when a
 * process may have brought a new TLS library (exec, executable mmap), so that it can look
 * at that one process instead of rescanning /proc. */
#pragma once

#define PROT_EXEC_FLAG 0x4

static __always_inline void notify_process(__u32 kind, __u32 tgid, __u32 ppid) {
  struct tlstap_process_event event = {
      .header = {.kind = kind, .pid = tgid},
      .ppid = ppid,
      .ts_ns = bpf_ktime_get_ns(),
  };
  /* Unlike data, exec and mmap wake the reader at once: a new process must be attached to
   * before its first TLS call. An exit can wait for the next drain. */
  __u64 flags =
      kind == TLSTAP_EVENT_EXIT ? ring_wakeup_flags(sizeof(event)) : BPF_RB_FORCE_WAKEUP;
  if (bpf_ringbuf_output(&events, &event, sizeof(event), flags) != 0) {
    struct tlstap_loss_counters *lost = loss_counters();
    if (lost) lost->process_events += 1;
  }
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child) {
  if (!follow_children) return 0;
  __u32 parent_tgid = BPF_CORE_READ(parent, tgid);
  __u32 child_pid = BPF_CORE_READ(child, pid);
  __u32 child_tgid = BPF_CORE_READ(child, tgid);
  if (child_pid != child_tgid) return 0; /* a new thread, not a new process */
  if (!bpf_map_lookup_elem(&traced_pids, &parent_tgid)) return 0;
  __u8 yes = 1;
  bpf_map_update_elem(&traced_pids, &child_tgid, &yes, BPF_ANY);
  return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm) {
  __u32 tgid = bpf_get_current_pid_tgid() >> 32;
  if (!should_trace(tgid)) return 0;
  notify_process(TLSTAP_EVENT_EXEC, tgid, BPF_CORE_READ(task, real_parent, tgid));
  return 0;
}

/* Fires at mmap's entry: user space looks at the process's maps a little later, when the
 * mapping exists. (fexit would be exact but needs ftrace function hooks, which some
 * kernels lack; tracepoints need only tracefs, which user space mounts if needed.) */
SEC("tracepoint/syscalls/sys_enter_mmap")
int on_mmap(struct trace_event_raw_sys_enter *ctx) {
  long prot = ctx->args[2];
  int fd = (int)ctx->args[4];
  if (!(prot & PROT_EXEC_FLAG) || fd < 0) return 0;
  __u32 tgid = bpf_get_current_pid_tgid() >> 32;
  if (!should_trace(tgid)) return 0;
  notify_process(TLSTAP_EVENT_MMAP, tgid, 0);
  return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *task) {
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  /* A thread killed inside TLS calls leaves frames: free them with the thread's state. */
  struct thread_state *thread = thread_state_of(pid_tgid);
  if (thread) {
#pragma unroll
    for (__u32 level = 0; level < TLSTAP_MAX_NESTED_CALLS; level++) {
      struct frame_key key = {.pid_tgid = pid_tgid, .level = level};
      bpf_map_delete_elem(&pending_calls, &key);
    }
    bpf_map_delete_elem(&threads, &pid_tgid);
  }
  __u32 tgid = pid_tgid >> 32;
  if ((__u32)pid_tgid != tgid) return 0; /* not the thread group leader */
  bpf_map_delete_elem(&tls_processes, &tgid);
  bool was_traced = bpf_map_delete_elem(&traced_pids, &tgid) == 0;
  if (was_traced || !filter_by_pid) notify_process(TLSTAP_EVENT_EXIT, tgid, 0);
  return 0;
}
