/* Connection identity without OpenSSL struct offsets: while a thread is inside an SSL call,
 * the socket syscalls it makes reveal the fd, and the kernel's sock_{send,recv}_length
 * tracepoints reveal the struct sock (addresses, ports). The result is remembered per SSL*,
 * so calls that OpenSSL serves from its own buffer (no syscall) still get their connection.
 * close(fd) reports the connection's byte counts and frees its state. */
#pragma once

#define TLSTAP_AF_UNIX 1
#define TLSTAP_AF_INET 2
#define TLSTAP_AF_INET6 10

static __always_inline struct pending_call *current_ssl_call(void) {
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  return bpf_map_lookup_elem(&pending_calls, &pid_tgid);
}

/* Any I/O syscall: a candidate only. Callbacks inside an SSL call may write elsewhere (curl's
 * --trace writes its file from OpenSSL's message callback); the socket tracepoint that
 * follows a socket's syscall is what confirms the fd. */
static __always_inline void note_fd(long fd) {
  struct pending_call *call = current_ssl_call();
  if (call) call->last_io_fd = (__s32)fd;
}

#define FD_SYSCALL_HOOK(syscall)                                          \
  SEC("tracepoint/syscalls/sys_enter_" #syscall)                          \
  int on_##syscall(struct trace_event_raw_sys_enter *ctx) {               \
    note_fd(ctx->args[0]);                                                \
    return 0;                                                             \
  }

FD_SYSCALL_HOOK(read)
FD_SYSCALL_HOOK(write)
FD_SYSCALL_HOOK(readv)
FD_SYSCALL_HOOK(writev)
FD_SYSCALL_HOOK(recvfrom)
FD_SYSCALL_HOOK(sendto)
FD_SYSCALL_HOOK(recvmsg)
FD_SYSCALL_HOOK(sendmsg)

static __always_inline void note_role(__s32 fd, __u16 role) {
  if (fd < 0) return;
  __u32 tgid = bpf_get_current_pid_tgid() >> 32;
  if (!should_trace(tgid)) return;
  struct fd_key key = {.tgid = tgid, .fd = fd};
  bpf_map_update_elem(&fd_roles, &key, &role, BPF_ANY);
}

SEC("tracepoint/syscalls/sys_enter_connect")
int on_connect(struct trace_event_raw_sys_enter *ctx) {
  note_role((__s32)ctx->args[0], TLSTAP_ROLE_CLIENT);
  return 0;
}

/* accept returns the new connection's fd. */
SEC("tracepoint/syscalls/sys_exit_accept")
int on_accept(struct trace_event_raw_sys_exit *ctx) {
  note_role((__s32)ctx->ret, TLSTAP_ROLE_SERVER);
  return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int on_accept4(struct trace_event_raw_sys_exit *ctx) {
  note_role((__s32)ctx->ret, TLSTAP_ROLE_SERVER);
  return 0;
}

static __always_inline void note_sock(struct sock *sk) {
  struct pending_call *call = current_ssl_call();
  if (!call || call->conn.family != 0 || !sk) return;
  call->conn.fd = call->last_io_fd;
  call->sk = (__u64)sk;
  __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
  call->conn.family = family;
  if (family == TLSTAP_AF_INET) {
    __u32 local = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
    __u32 remote = BPF_CORE_READ(sk, __sk_common.skc_daddr);
    __builtin_memcpy(call->conn.laddr, &local, 4);
    __builtin_memcpy(call->conn.raddr, &remote, 4);
  } else if (family == TLSTAP_AF_INET6) {
    BPF_CORE_READ_INTO(&call->conn.laddr, sk, __sk_common.skc_v6_rcv_saddr);
    BPF_CORE_READ_INTO(&call->conn.raddr, sk, __sk_common.skc_v6_daddr);
  } else {
    return;  /* AF_UNIX: user space names it from the fd */
  }
  call->conn.lport = BPF_CORE_READ(sk, __sk_common.skc_num);
  call->conn.rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(on_sock_send, struct sock *sk, int ret, int flags) {
  note_sock(sk);
  return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(on_sock_recv, struct sock *sk, int ret, int flags) {
  note_sock(sk);
  return 0;
}

static __always_inline bool port_matches(const struct tlstap_conn_info *conn) {
  if (port_filter_count == 0) return true;
  if (conn->family != TLSTAP_AF_INET && conn->family != TLSTAP_AF_INET6) return false;
#pragma unroll
  for (int i = 0; i < TLSTAP_MAX_PORT_FILTERS; i++) {
    if (i >= port_filter_count) break;
    if (port_filters[i] == conn->lport || port_filters[i] == conn->rport) return true;
  }
  return false;
}

static __always_inline void read_unix_name(char *out, struct unix_address *address) {
  out[0] = 0;
  if (!address) return;  /* unbound */
  /* name is a struct sockaddr_un: sun_path follows the 2-byte sun_family. */
  const char *path = (const char *)address + bpf_core_field_offset(address->name) + 2;
  char first = 0;
  bpf_probe_read_kernel(&first, 1, path);
  if (first == 0) { /* abstract namespace */
    out[0] = '@';
    bpf_probe_read_kernel_str(out + 1, TLSTAP_UNIX_PATH_LEN - 1, path + 1);
  } else {
    bpf_probe_read_kernel_str(out, TLSTAP_UNIX_PATH_LEN, path);
  }
}

static __always_inline void send_unix_names(__u32 tgid, __u64 ssl, __s32 fd, __u64 sk) {
  struct tlstap_unix_names_event *event = bpf_ringbuf_reserve(&events, sizeof(*event), 0);
  if (!event) {
    struct tlstap_loss_counters *lost = loss_counters();
    if (lost) lost->process_events += 1;
    return;
  }
  event->header.kind = TLSTAP_EVENT_UNIX_NAMES;
  event->header.pid = tgid;
  event->fd = fd;
  event->reserved = 0;
  event->ssl = ssl;
  struct unix_sock *self = (struct unix_sock *)sk;
  read_unix_name(event->local, BPF_CORE_READ(self, addr));
  struct unix_sock *peer = (struct unix_sock *)BPF_CORE_READ(self, peer);
  event->peer[0] = 0;
  if (peer) read_unix_name(event->peer, BPF_CORE_READ(peer, addr));
  bpf_ringbuf_submit(event, 0);
}

/* Folds what the call revealed into the SSL's remembered state; returns that state (or
 * null when the map cannot hold it: the record then has no connection, but is not lost). */
static __always_inline struct ssl_state *learn_connection(__u32 tgid, __u64 ssl,
                                                          const struct tlstap_conn_info *seen,
                                                          __u64 sk) {
  struct ssl_key key = {.tgid = tgid, .ssl = ssl};
  struct ssl_state *state = bpf_map_lookup_elem(&ssl_states, &key);
  if (!state) {
    struct ssl_state fresh = {.conn = {.fd = -1}};
    bpf_map_update_elem(&ssl_states, &key, &fresh, BPF_NOEXIST);
    state = bpf_map_lookup_elem(&ssl_states, &key);
    if (!state) return 0;
  }
  if (seen->fd >= 0 && seen->fd != state->conn.fd) {
    if (state->conn.fd >= 0) {
      /* The SSL* now runs on another fd: a new connection (an SSL object reused after
       * SSL_clear, or a freed address reused). Positions start again. */
      state->bytes[0] = state->bytes[1] = 0;
      state->conn.family = 0;
    }
    state->conn.fd = seen->fd;
    struct fd_key fd_key = {.tgid = tgid, .fd = seen->fd};
    bpf_map_update_elem(&fd_ssl, &fd_key, &ssl, BPF_ANY);
    __u16 *role = bpf_map_lookup_elem(&fd_roles, &fd_key);
    state->conn.role = role ? *role : TLSTAP_ROLE_UNKNOWN;
  }
  if (seen->family == TLSTAP_AF_UNIX && state->conn.family != TLSTAP_AF_UNIX && sk) {
    send_unix_names(tgid, ssl, state->conn.fd, sk);
  }
  if (seen->family != 0) {
    __s32 fd = state->conn.fd;
    __u16 role = state->conn.role;
    state->conn = *seen;
    state->conn.fd = fd;
    state->conn.role = role;
  }
  return state;
}

SEC("tracepoint/syscalls/sys_enter_close")
int on_close(struct trace_event_raw_sys_enter *ctx) {
  __u32 tgid = bpf_get_current_pid_tgid() >> 32;
  struct fd_key fd_key = {.tgid = tgid, .fd = (__s32)ctx->args[0]};
  bpf_map_delete_elem(&fd_roles, &fd_key);
  __u64 *ssl = bpf_map_lookup_elem(&fd_ssl, &fd_key);
  if (!ssl) return 0;
  struct ssl_key key = {.tgid = tgid, .ssl = *ssl};
  struct ssl_state *state = bpf_map_lookup_elem(&ssl_states, &key);
  if (state && state->conn.fd == fd_key.fd) {
    struct tlstap_close_event event = {
        .header = {.kind = TLSTAP_EVENT_CLOSE, .pid = tgid},
        .ssl = key.ssl,
        .bytes = {state->bytes[0], state->bytes[1]},
        .conn = state->conn,
    };
    if (ring_output(&event, sizeof(event)) != 0) {
      struct tlstap_loss_counters *lost = loss_counters();
      if (lost) lost->process_events += 1;
    }
    bpf_map_delete_elem(&ssl_states, &key);
  }
  bpf_map_delete_elem(&fd_ssl, &fd_key);
  return 0;
}
