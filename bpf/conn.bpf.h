/* Connection identity without OpenSSL struct offsets: while a thread is inside an SSL call,
 * the socket syscalls it makes reveal the fd, and the kernel's sock_{send,recv}_length
 * tracepoints reveal the struct sock (addresses, ports). The result is remembered per SSL*,
 * so calls that OpenSSL serves from its own buffer (no syscall) still get their connection.
 * close(fd) reports the connection's byte counts and frees its state. */
#pragma once

#define TLSTAP_AF_UNIX 1
#define TLSTAP_AF_INET 2
#define TLSTAP_AF_INET6 10

/* Where the current I/O syscall's data starts in the caller's memory: its first buffer. */
static __always_inline void first_buffer(struct thread_state *thread, long syscall_buf,
                                         long syscall_len, bool vectored, bool msghdr) {
  thread->io_buf = 0;
  thread->io_len = 0;
  if (msghdr) {
    struct user_msghdr msg;
    if (bpf_probe_read_user(&msg, sizeof(msg), (const void *)syscall_buf) != 0) return;
    syscall_buf = (long)msg.msg_iov;
    vectored = true;
  }
  if (vectored) {
    struct iovec first;
    if (bpf_probe_read_user(&first, sizeof(first), (const void *)syscall_buf) != 0) return;
    thread->io_buf = (__u64)first.iov_base;
    thread->io_len = first.iov_len;
    return;
  }
  thread->io_buf = (__u64)syscall_buf;
  thread->io_len = (__u64)syscall_len;
}

/* Any I/O syscall of a thread tlstap follows: a candidate only. Callbacks inside an SSL call
 * may write elsewhere (curl's --trace writes its file from OpenSSL's message callback); the
 * socket tracepoint that follows a socket's syscall is what confirms the fd, and the first
 * bytes moved (a TLS record header) confirm that it is TLS traffic. */
static __always_inline void note_io(long fd, long buf, long len, bool vectored, bool msghdr) {
  struct thread_state *thread = thread_state_of(bpf_get_current_pid_tgid());
  if (!thread) return;
  thread->io_fd = (__s32)fd;
  first_buffer(thread, buf, len, vectored, msghdr);
}

#define IO_SYSCALL_HOOK(syscall, vectored, msghdr)                        \
  SEC("tracepoint/syscalls/sys_enter_" #syscall)                          \
  int on_##syscall(struct trace_event_raw_sys_enter *ctx) {               \
    note_io(ctx->args[0], ctx->args[1], ctx->args[2], vectored, msghdr); \
    return 0;                                                             \
  }

IO_SYSCALL_HOOK(read, false, false)
IO_SYSCALL_HOOK(write, false, false)
IO_SYSCALL_HOOK(readv, true, false)
IO_SYSCALL_HOOK(writev, true, false)
IO_SYSCALL_HOOK(recvfrom, false, false)
IO_SYSCALL_HOOK(sendto, false, false)
IO_SYSCALL_HOOK(recvmsg, false, true)
IO_SYSCALL_HOOK(sendmsg, false, true)

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

/* The connection a socket is, as far as the kernel says: addresses, ports, network namespace,
 * role, and whether tlstap saw it begin. */
static __always_inline void describe_socket(__u32 tgid, __s32 fd, struct sock *sk,
                                            struct tlstap_conn_info *conn) {
  __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
  conn->fd = fd;
  conn->family = family;
  conn->netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
  conn->role = TLSTAP_ROLE_UNKNOWN;
  conn->flags = 0;
  if (family == TLSTAP_AF_INET || family == TLSTAP_AF_INET6) {
    if (family == TLSTAP_AF_INET) {
      __u32 local = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
      __u32 remote = BPF_CORE_READ(sk, __sk_common.skc_daddr);
      __builtin_memcpy(conn->laddr, &local, 4);
      __builtin_memcpy(conn->raddr, &remote, 4);
    } else {
      BPF_CORE_READ_INTO(&conn->laddr, sk, __sk_common.skc_v6_rcv_saddr);
      BPF_CORE_READ_INTO(&conn->raddr, sk, __sk_common.skc_v6_daddr);
    }
    conn->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
    conn->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
    __u64 key = (__u64)sk;
    struct sock_role *known = bpf_map_lookup_elem(&sock_roles, &key);
    if (known) {
      conn->role = known->role;
      /* Established before this process's probes were attached (a new executable or library
       * attached just after its exec or mmap): its first TLS calls may not have been seen. */
      __u64 *probes_attached = bpf_map_lookup_elem(&tls_processes, &tgid);
      if (probes_attached && known->established_ns < *probes_attached)
        conn->flags |= TLSTAP_CONN_MIDSTREAM;
    } else if (BPF_CORE_READ(sk, __sk_common.skc_state) != TCP_CLOSE) {
      conn->flags |= TLSTAP_CONN_MIDSTREAM;
    }
    /* else: already closed (its entry went with it): whether tlstap saw it begin, and its
     * role, are not known, so not said. */
    return;
  }
  /* AF_UNIX (user space names it from the paths BPF sends): the role comes from the connect or
   * accept that made the fd in this process. */
  struct fd_key fd_key = {.tgid = tgid, .fd = fd};
  __u16 *role = bpf_map_lookup_elem(&fd_roles, &fd_key);
  if (role) {
    conn->role = *role;
  } else {
    conn->flags |= TLSTAP_CONN_MIDSTREAM;
  }
}

/* The first bytes of a TLS record: content type 20..24, protocol version 3.x. */
static __always_inline bool is_tls_record_header(const __u8 *header) {
  return header[0] >= 20 && header[0] <= 24 && header[1] == 3 && header[2] <= 4;
}

/* Whether a send carries the ciphertext of a memory-BIO SSL_write of `plaintext_len` bytes:
 * among its first records (a handshake's last flight may come first: ChangeCipherSpec,
 * Finished), an application-data record whose length is that of the write's first record
 * plus the cipher's overhead (AEAD tag, explicit IV or MAC and padding: < 320 bytes). */
#define TLSTAP_RECORDS_CHECKED 4
static __always_inline bool is_ciphertext_of(__u64 buf, __u64 len, __u64 plaintext_len) {
  __u64 first = plaintext_len < 16384 ? plaintext_len : 16384;
  __u64 offset = 0;
#pragma unroll
  for (int i = 0; i < TLSTAP_RECORDS_CHECKED; i++) {
    __u8 header[5];
    if (offset + sizeof(header) > len) return false;
    if (bpf_probe_read_user(header, sizeof(header), (const void *)(buf + offset)) != 0)
      return false;
    if (!is_tls_record_header(header)) return false;
    __u64 record = ((__u64)header[3] << 8) | header[4];
    if (header[0] == 23 && record > first && record <= first + 320) return true;
    offset += sizeof(header) + record;
  }
  return false;
}

static __always_inline struct ssl_state *ssl_state_of(__u32 tgid, __u64 ssl) {
  struct ssl_key key = {.tgid = tgid, .ssl = ssl};
  return bpf_map_lookup_elem(&ssl_states, &key);
}

/* Tells user space an SSL* with records already reported without a connection now has one:
 * the records it holds back for that SSL* go out with it (src/capture/binding_hold.h). */
static __always_inline void announce_binding(__u32 tgid, __u64 ssl,
                                             const struct tlstap_conn_info *conn) {
  struct tlstap_ssl_bound_event event = {
      .header = {.kind = TLSTAP_EVENT_SSL_BOUND, .pid = tgid},
      .ssl = ssl,
      .start_time_ns = process_start_time(),
      .conn = *conn,
  };
  if (ring_output(&event, sizeof(event)) != 0) {
    struct tlstap_loss_counters *lost = loss_counters();
    if (lost) lost->process_events += 1;
  }
}

/* A memory-BIO SSL* is matched to the socket its write's ciphertext was sent to. */
static __always_inline void bind_memory_bio(__u32 tgid, __u64 ssl, __s32 fd, struct sock *sk) {
  struct ssl_state *state = ssl_state_of(tgid, ssl);
  if (!state || state->conn.fd >= 0) return;
  struct tlstap_conn_info conn = {};
  describe_socket(tgid, fd, sk, &conn);
  conn.flags |= TLSTAP_CONN_MEMORY_BIO;
  state->conn = conn;
  struct fd_key fd_key = {.tgid = tgid, .fd = fd};
  bpf_map_update_elem(&fd_ssl, &fd_key, &ssl, BPF_ANY);
  announce_binding(tgid, ssl, &conn);
}

/* Called at the return of a memory-BIO SSL_write (no socket I/O of its own, no socket known):
 * the thread's next send is checked for its ciphertext. A later write on the same SSL* before
 * that send keeps the first write's length (its record comes first). */
static __always_inline void expect_ciphertext_send(__u64 pid_tgid, __u64 ssl, __u64 len) {
  struct thread_state *thread = thread_state_of(pid_tgid);
  if (!thread || thread->flush_ssl == ssl) return;
  thread->flush_ssl = ssl;
  thread->flush_len = len;
}

/* A socket moved data for the current thread (sock_{send,recv}_length fire inside the
 * syscall that note_io saw enter). */
static __always_inline void note_sock(struct sock *sk, bool is_send) {
  if (!sk) return;
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  __u32 tgid = pid_tgid >> 32;
  struct thread_state *thread = thread_state_of(pid_tgid);
  if (!thread) {
    /* A thread of a TLS process seen for the first time, receiving outside any call tlstap
     * saw: maybe a read that was in flight when tlstap attached (TLSTAP_CALL_AFTER_UNSEEN_READ). */
    if (is_send || !bpf_map_lookup_elem(&tls_processes, &tgid)) return;
    thread = thread_state_create(pid_tgid);
    if (!thread) return;
    thread->io_fd = -1;
    thread->io_buf = 0;
  }
  __s32 fd = thread->io_fd;
  __u64 buf = thread->io_buf;
  thread->io_buf = 0; /* one syscall, one look */

  if (is_send && thread->flush_ssl) {
    __u64 ssl = thread->flush_ssl;
    thread->flush_ssl = 0; /* the first send after the write decides */
    if (buf && fd >= 0 && is_ciphertext_of(buf, thread->io_len, thread->flush_len)) {
      bind_memory_bio(tgid, ssl, fd, sk);
    }
    /* Matched or not, a send right after a memory-BIO write (maybe another connection's
     * ciphertext) is never taken as the own I/O of a call the thread is still in. */
    return;
  }
  if (thread->depth == 0) {
    if (!is_send) thread->outside_recv_sk = (__u64)sk;
    return;
  }
  __u32 level = thread->depth - 1;
  struct pending_call *call = frame_at(pid_tgid, level);
  if (!call || call->sk || fd < 0 || !buf) return;
  /* Only TLS records are the call's own I/O: a callback may use other sockets. */
  __u8 header[5];
  if (bpf_probe_read_user(header, sizeof(header), (const void *)buf) != 0) return;
  if (!is_tls_record_header(header)) return;
  for (int i = 0; i < TLSTAP_MAX_NESTED_CALLS; i++) {
    /* A function that also serves plain I/O (NSPR's PR_Send) and handed the very bytes it was
     * given to the socket is a plain socket's call, even with TLS records in them (a relay, or
     * an NSPR I/O layer below NSS's SSL layer calling PR_Send(fd->lower, ...)): a TLS layer
     * sends and receives its records in buffers of its own. */
    if (!(call->cookie & TLSTAP_COOKIE_ONLY_TLS_SESSIONS) || !in_call_data(call, buf)) {
      call->io_fd = fd;
      call->sk = (__u64)sk;
      return;
    }
    call->plain_io = 1;
    /* Inside an NSPR call on another descriptor, those records are that call's own I/O, made
     * through a layer below it. (Any other outer call, e.g. OpenSSL's, is left alone.) */
    if (level == 0) return;
    level--;
    call = frame_at(pid_tgid, level);
    if (!call || call->sk || !(call->cookie & TLSTAP_COOKIE_ONLY_TLS_SESSIONS)) return;
  }
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(on_sock_send, struct sock *sk, int ret, int flags) {
  if (ret > 0) note_sock(sk, true);
  return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(on_sock_recv, struct sock *sk, int ret, int flags) {
  if (ret > 0) note_sock(sk, false);
  return 0;
}

/* TCP roles from the socket's own state: every TCP socket, whatever process (or softirq) makes
 * the change, so a connection accepted by one process and served by its child is known. */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(on_sock_state, const struct sock *sk, const int oldstate, const int newstate) {
  __u64 key = (__u64)sk;
  if (newstate == TCP_ESTABLISHED) {
    __u16 role = oldstate == TCP_SYN_SENT   ? TLSTAP_ROLE_CLIENT
                 : oldstate == TCP_SYN_RECV ? TLSTAP_ROLE_SERVER
                                            : TLSTAP_ROLE_UNKNOWN;
    struct sock_role known = {.role = role, .established_ns = bpf_ktime_get_ns()};
    if (role != TLSTAP_ROLE_UNKNOWN) bpf_map_update_elem(&sock_roles, &key, &known, BPF_ANY);
  } else if (newstate == TCP_CLOSE) {
    bpf_map_delete_elem(&sock_roles, &key);
  }
  return 0;
}

/* --port, for calls whose connection is known. A call whose connection is not known yet (a
 * memory-BIO SSL* before its binding) goes to user space, which holds it for its binding and
 * filters it then (src/conn/port_filter_sink.h). */
static __always_inline bool port_matches(const struct tlstap_conn_info *conn) {
  if (port_filter_count == 0) return true;
  if (conn->family == 0) return true;
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
 * null when the map cannot hold it: the record then has no connection, but is not lost).
 * `fresh` says the state was made now: the first call tlstap sees on this SSL*. */
static __always_inline struct ssl_state *learn_connection(__u32 tgid, __u64 ssl, __s32 fd,
                                                          __u64 sk, bool *fresh) {
  struct ssl_key key = {.tgid = tgid, .ssl = ssl};
  struct ssl_state *state = bpf_map_lookup_elem(&ssl_states, &key);
  if (!state) {
    struct ssl_state created = {.conn = {.fd = -1}};
    bpf_map_update_elem(&ssl_states, &key, &created, BPF_NOEXIST);
    state = bpf_map_lookup_elem(&ssl_states, &key);
    if (!state) return 0;
    *fresh = true;
  }
  /* A memory BIO does no I/O: socket traffic inside its calls is a callback's. */
  if (state->conn.flags & TLSTAP_CONN_MEMORY_BIO) return state;
  if (fd < 0 || !sk || fd == state->conn.fd) return state;
  /* Calls on the session were reported before any of them moved a TLS record: GnuTLS's
   * early data, copied out of what the handshake received; writes queued while the session
   * was corked, sent by gnutls_record_uncork. They went over this socket. */
  bool unbound_records = state->conn.fd < 0 && (state->bytes[0] | state->bytes[1]);
  if (state->conn.fd >= 0) {
    /* The SSL* now runs on another fd: a new connection (an SSL object reused after
     * SSL_clear, or a freed address reused). Positions start again. */
    state->bytes[0] = state->bytes[1] = 0;
  }
  describe_socket(tgid, fd, (struct sock *)sk, &state->conn);
  struct fd_key fd_key = {.tgid = tgid, .fd = fd};
  bpf_map_update_elem(&fd_ssl, &fd_key, &ssl, BPF_ANY);
  if (state->conn.family == TLSTAP_AF_UNIX) send_unix_names(tgid, ssl, fd, sk);
  if (unbound_records) announce_binding(tgid, ssl, &state->conn);
  return state;
}

/* At the return of a flush (gnutls_record_uncork), whose plaintext the writes that queued it
 * reported: only its socket I/O is news. */
static __always_inline void learn_connection_from_flush(__u32 tgid, struct pending_call *call) {
  if (!call->sk || call->io_fd < 0) return;
  bool fresh = false;
  learn_connection(tgid, call->ssl, call->io_fd, call->sk, &fresh);
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
    /* A connection --port filters out has no records, and no close record either. */
    if (port_matches(&state->conn)) {
      struct tlstap_close_event event = {
          .header = {.kind = TLSTAP_EVENT_CLOSE, .pid = tgid},
          .ssl = key.ssl,
          .ts_ns = bpf_ktime_get_ns(),
          .start_time_ns = process_start_time(),
          .bytes = {state->bytes[0], state->bytes[1]},
          .conn = state->conn,
      };
      if (ring_output(&event, sizeof(event)) != 0) {
        struct tlstap_loss_counters *lost = loss_counters();
        if (lost) lost->process_events += 1;
      }
    }
    bpf_map_delete_elem(&ssl_states, &key);
  }
  bpf_map_delete_elem(&fd_ssl, &fd_key);
  return 0;
}
