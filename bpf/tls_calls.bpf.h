/* Generic entry and return probes for TLS functions shaped f(session, buffer, length, ...):
 * OpenSSL's SSL_read/SSL_write (and the _ex forms), GnuTLS's gnutls_record_recv/send,
 * wolfSSL, mbedTLS, NSPR's PR_Read/PR_Write (and PR_Writev, whose buffer is a vector). What
 * differs between them (direction, where the byte count is, its width, whether plain I/O goes
 * through the same function, whether it only flushes what earlier calls queued) comes with
 * each probe as its bpf_cookie, from the stack's descriptor in src/stacks/.
 *
 * Entry stashes the arguments in the thread's call frame (calls.bpf.h); the return reports
 * the bytes the call really moved (capture.bpf.h). Failed calls produce nothing. */
#pragma once

SEC("uprobe")
int BPF_KPROBE(tls_call_enter) {
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  if (!should_trace(pid_tgid >> 32)) return 0;
  __u64 cookie = bpf_get_attach_cookie(ctx);
  struct pending_call call = {
      .ssl = PT_REGS_PARM1(ctx),
      .buf = PT_REGS_PARM2(ctx),
      /* An int's upper register half is undefined. */
      .len = (cookie & TLSTAP_COOKIE_RETURNS_64BIT) ? PT_REGS_PARM3(ctx)
                                                    : (__u32)PT_REGS_PARM3(ctx),
      .size_out = (cookie & TLSTAP_COOKIE_MOVED_OUT) ? PT_REGS_PARM4(ctx) : 0,
      .function = cookie & TLSTAP_COOKIE_FUNCTION_MASK,
      .direction = (cookie & TLSTAP_COOKIE_WRITE) ? TLSTAP_DIR_WRITE : TLSTAP_DIR_READ,
      .cookie = (__u32)cookie,
      .io_fd = -1,
      .entry_ns = bpf_ktime_get_ns(),
  };
  enter_tls_call(pid_tgid, PT_REGS_SP(ctx), &call);
  return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(tls_call_return) {
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  struct pending_call call;
  if (!leave_tls_call(pid_tgid, PT_REGS_SP(ctx), &call)) return 0;
  if (call.cookie & TLSTAP_COOKIE_FLUSH) {
    /* Its plaintext was reported by the writes that queued it; what it says is the socket. */
    learn_connection_from_flush(pid_tgid >> 32, &call);
    return 0;
  }

  long ret = PT_REGS_RC(ctx);
  __u64 call_len = 0;
  if (call.cookie & TLSTAP_COOKIE_MOVED_OUT) {
    if ((int)ret != 1) return 0; /* _ex: 1 on success, 0 on failure */
    if (!call.size_out) {
      /* Bytes moved, but how many is nowhere (wolfSSL's _ex forms take a null count): said
       * as a lost event, its bytes unknown. */
      struct tlstap_loss_counters *lost = loss_counters();
      if (lost) lost->events += 1;
      return 0;
    }
    if (bpf_probe_read_user(&call_len, sizeof(call_len), (const void *)call.size_out) != 0)
      return 0;
  } else if (call.cookie & TLSTAP_COOKIE_RETURNS_64BIT) {
    if (ret <= 0) return 0;
    call_len = (__u64)ret;
  } else {
    if ((int)ret <= 0) return 0; /* an int's upper register half is undefined */
    call_len = (__u32)(int)ret;
  }
  if (call_len == 0) return 0;
  if (call.cookie & TLSTAP_COOKIE_ONLY_TLS_SESSIONS) {
    /* It sent or received its own buffer, TLS records in it: the socket layer, not TLS. */
    if (call.plain_io) return 0;
    if (!call.sk) {
      /* No TLS record moved in this call: report it only if its session is known for TLS. */
      struct ssl_state *known = ssl_state_of(pid_tgid >> 32, call.ssl);
      if (!known || known->conn.fd < 0) return 0;
    }
  }
  return report_tls_call(pid_tgid, &call, call_len);
}
