/* Go's crypto/tls: (*Conn).Write(b []byte) (int, error) and (*Conn).Read, compiled into every
 * Go program. The generic probes cannot read them:
 * - Go's register ABI (Go >= 1.17 on amd64): the receiver in RAX, the slice's pointer and
 *   length in RBX and RCX, the result n in RAX; the running goroutine in R14.
 * - No uretprobes: they replace return addresses, which breaks Go's stack copying and
 *   unwinding. User space finds every RET of the function (src/discover/return_instructions)
 *   and puts a plain uprobe on each.
 * - A call belongs to a goroutine, not a thread: a Read that blocks parks its goroutine, which
 *   may resume on another thread. Calls are keyed by goroutine.
 * - The connection comes from the *tls.Conn itself: its first field is the net.Conn it wraps;
 *   for *net.TCPConn and *net.UnixConn that points to a netFD whose poll.FD holds Sysfd at
 *   offset 16 (stable since Go 1.9). The fd is only believed when the process's fd table says
 *   it is a socket (its struct socket points back to the file); otherwise no connection. */
#pragma once

#if defined(__TARGET_ARCH_x86)

/* Offsets inside Go's runtime structures (see above). */
#define GO_TLS_CONN_NETCONN_DATA 8 /* tls.Conn.conn (an interface): its data word */
#define GO_NETFD_SYSFD 16          /* netFD.pfd.Sysfd: after fdMutex (uint64 + 2 x uint32) */

struct go_call_key {
  __u32 tgid;
  __u32 reserved;
  __u64 goroutine;
};

/* A Go TLS call between its entry and one of its RETs. LRU: a call that never reaches a RET
 * (a panic unwinds past them) is overwritten by the goroutine's next call or evicted. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, struct go_call_key);
  __type(value, struct pending_call);
} go_calls SEC(".maps");

/* The socket behind `fd` in the current process, or null. */
static __always_inline struct sock *socket_of_fd(long fd) {
  if (fd < 0 || fd > 1000000) return 0;
  struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
  struct fdtable *table = BPF_CORE_READ(task, files, fdt);
  if (!table || fd >= BPF_CORE_READ(table, max_fds)) return 0;
  struct file **files = BPF_CORE_READ(table, fd);
  struct file *file = 0;
  if (bpf_probe_read_kernel(&file, sizeof(file), &files[fd]) != 0 || !file) return 0;
  struct socket *sock = (struct socket *)BPF_CORE_READ(file, private_data);
  if (!sock || BPF_CORE_READ(sock, file) != file) return 0; /* not a socket's file */
  return BPF_CORE_READ(sock, sk);
}

/* The fd of the net.Conn a *tls.Conn wraps, if it is a netFD-backed one; -1 otherwise. */
static __always_inline long go_conn_fd(__u64 tls_conn) {
  __u64 data = 0, netfd = 0;
  long fd = -1;
  if (bpf_probe_read_user(&data, sizeof(data), (const void *)(tls_conn + GO_TLS_CONN_NETCONN_DATA)))
    return -1;
  if (!data || bpf_probe_read_user(&netfd, sizeof(netfd), (const void *)data) || !netfd) return -1;
  if (bpf_probe_read_user(&fd, sizeof(fd), (const void *)(netfd + GO_NETFD_SYSFD))) return -1;
  return fd;
}

SEC("uprobe")
int BPF_KPROBE(go_tls_enter) {
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  __u32 tgid = pid_tgid >> 32;
  if (!should_trace(tgid)) return 0;
  mark_tls_process(tgid);
  __u64 cookie = bpf_get_attach_cookie(ctx);
  struct go_call_key key = {.tgid = tgid, .goroutine = ctx->r14};
  struct pending_call call = {
      .ssl = ctx->ax, /* the *tls.Conn: the session */
      .buf = ctx->bx,
      .len = ctx->cx,
      .function = cookie & TLSTAP_COOKIE_FUNCTION_MASK,
      .direction = (cookie & TLSTAP_COOKIE_WRITE) ? TLSTAP_DIR_WRITE : TLSTAP_DIR_READ,
      .cookie = (__u32)cookie,
      .io_fd = -1,
      .entry_ns = bpf_ktime_get_ns(),
  };
  bpf_map_update_elem(&go_calls, &key, &call, BPF_ANY);
  return 0;
}

/* On each RET of the function: the goroutine's call returns n (RAX). */
SEC("uprobe")
int BPF_KPROBE(go_tls_return) {
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  struct go_call_key key = {.tgid = pid_tgid >> 32, .goroutine = ctx->r14};
  struct pending_call *pending = bpf_map_lookup_elem(&go_calls, &key);
  long n = (long)ctx->ax;
  if (!pending) {
    /* Entered before tlstap attached (a Read parked on an idle keep-alive connection, a long
     * Write): its bytes were not captured, but n says how many there were. */
    if (n > 0 && should_trace(key.tgid)) {
      __u64 cookie = bpf_get_attach_cookie(ctx);
      report_unseen_return(pid_tgid, cookie & TLSTAP_COOKIE_FUNCTION_MASK,
                           (cookie & TLSTAP_COOKIE_WRITE) ? TLSTAP_DIR_WRITE : TLSTAP_DIR_READ,
                           (__u64)n);
    }
    return 0;
  }
  struct pending_call call = *pending;
  bpf_map_delete_elem(&go_calls, &key);
  if (n <= 0) return 0; /* n == 0 with an error: nothing moved */
  long fd = go_conn_fd(call.ssl);
  struct sock *sk = socket_of_fd(fd);
  if (sk) {
    call.io_fd = (__s32)fd;
    call.sk = (__u64)sk;
  }
  return report_tls_call(pid_tgid, &call, (__u64)n);
}

#endif /* __TARGET_ARCH_x86 */
