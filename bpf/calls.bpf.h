/* Per-thread frames of TLS calls between entry and return, for every stack's probes.
 *
 * A thread can be inside several TLS calls at once (node writes from JavaScript run by
 * OpenSSL's callbacks while inside SSL_read), so each thread has a small stack of frames.
 * Only an entry that is really the same operation as the call it is nested in (same
 * direction and buffer: an API function implemented with another; see same_operation) is
 * folded into the outer call; any other call gets its own frame and its own record. */
#pragma once

/* The process's start on the boot-time clock, as /proc/PID/stat reports it (in clock ticks
 * there): read from the task at the event, so it is right even when the process is gone by
 * the time user space reads the event. */
static __always_inline __u64 process_start_time(void) {
  struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
  return BPF_CORE_READ(task, group_leader, start_boottime);
}

static __always_inline void mark_tls_process(__u32 tgid) {
  if (bpf_map_lookup_elem(&tls_processes, &tgid)) return;
  __u64 attached_at_start = 0; /* user space says later if its probes came late */
  bpf_map_update_elem(&tls_processes, &tgid, &attached_at_start, BPF_NOEXIST);
}

static __always_inline struct thread_state *thread_state_of(__u64 pid_tgid) {
  return bpf_map_lookup_elem(&threads, &pid_tgid);
}

static __always_inline struct thread_state *thread_state_create(__u64 pid_tgid) {
  struct thread_state *thread = thread_state_of(pid_tgid);
  if (thread) return thread;
  mark_tls_process(pid_tgid >> 32); /* a thread with state is in a TLS process */
  struct thread_state fresh = {.io_fd = -1};
  bpf_map_update_elem(&threads, &pid_tgid, &fresh, BPF_NOEXIST);
  return thread_state_of(pid_tgid);
}

static __always_inline struct pending_call *frame_at(__u64 pid_tgid, __u32 level) {
  struct frame_key key = {.pid_tgid = pid_tgid, .level = level};
  return bpf_map_lookup_elem(&pending_calls, &key);
}

/* The innermost call the current thread is in, or null. */
static __always_inline struct pending_call *current_call(struct thread_state *thread,
                                                         __u64 pid_tgid) {
  if (!thread || thread->depth == 0) return 0;
  return frame_at(pid_tgid, thread->depth - 1);
}

/* NSPR's PRIOVec: {char* iov_base; int iov_len}, padded to 16 bytes on 64-bit machines. */
struct pr_iovec {
  __u64 base;
  __s32 len;
  __s32 padding;
};

/* Whether `addr` lies in the bytes the call was given to send or to fill: its buffer, or for
 * a vector one of the vector's buffers. */
static __always_inline bool in_call_data(const struct pending_call *call, __u64 addr) {
  if (!(call->cookie & TLSTAP_COOKIE_PR_IO_VECTOR))
    return addr >= call->buf && addr - call->buf < call->len;
  for (int i = 0; i < TLSTAP_MAX_PR_IO_VECTOR; i++) {
    if (i >= call->len) break;
    struct pr_iovec element;
    if (bpf_probe_read_user(&element, sizeof(element),
                            (const void *)(call->buf + i * sizeof(element))) != 0)
      return false;
    if (element.len > 0 && addr >= element.base && addr - element.base < (__u64)element.len)
      return true;
  }
  return false;
}

/* Whether `inner`, entered while `outer` runs, is the same operation:
 * - an API function implemented with another (same SSL*, direction and buffer), also by a
 *   tail call (`nested` false: entered at the outer's own stack pointer);
 * - the resend of queued writes by a flush (gnutls_record_uncork: its writes send the
 *   library's own buffer);
 * - one stack's API implemented with another's, strictly nested (GnuTLS's OpenSSL
 *   compatibility library: its SSL_write calls gnutls_record_send on the SSL's GnuTLS session
 *   with the caller's buffer). Another session is not folded at the same stack pointer: that
 *   frame may be one whose return never came. */
static __always_inline bool same_operation(const struct pending_call *outer,
                                           const struct pending_call *inner, bool nested) {
  if (outer->direction != inner->direction) return false;
  if (outer->ssl == inner->ssl)
    return outer->buf == inner->buf || (outer->cookie & TLSTAP_COOKIE_FLUSH);
  return nested && outer->buf == inner->buf;
}

/* Records the entry of a TLS call; `call` holds its arguments. */
static __always_inline void enter_tls_call(__u64 pid_tgid, __u64 sp, struct pending_call *call) {
  struct thread_state *thread = thread_state_create(pid_tgid);
  if (!thread) return;
  /* Frames whose entry stack pointer is below ours cannot be calls we are nested in: their
   * return never came (a longjmp out of a callback). One entered at our very stack pointer is
   * either that too, or the function that tail-called us (GnuTLS's gnutls_record_send is `jmp
   * gnutls_record_send2`): both return probes then fire at one return, and the outer frame
   * must take both. */
#pragma unroll
  for (int i = 0; i < TLSTAP_MAX_NESTED_CALLS; i++) {
    if (thread->depth == 0) break;
    struct pending_call *top = frame_at(pid_tgid, thread->depth - 1);
    if (top && top->entry_sp >= sp) {
      if (same_operation(top, call, top->entry_sp > sp)) {
        /* Reported once, by the outer call. */
        top->same_op_depth++;
        return;
      }
      if (top->entry_sp > sp) break;
    }
    thread->depth--;
    thread->overflow = 0;
  }
  if (thread->depth >= TLSTAP_MAX_NESTED_CALLS) {
    thread->overflow++;
    struct tlstap_loss_counters *lost = loss_counters();
    if (lost) lost->events += 1; /* its bytes are unknown until it returns: not counted */
    return;
  }
  /* A call on another SSL* ends the window in which the thread's next send is taken as a
   * memory-BIO write's ciphertext (node reads on the same SSL* before it flushes); so does a
   * flush of the library's own queue (gnutls_record_uncork): that send is its own I/O. */
  if (thread->flush_ssl != call->ssl || (call->cookie & TLSTAP_COOKIE_FLUSH)) thread->flush_ssl = 0;
  call->entry_sp = sp;
  call->recv_before = thread->outside_recv_sk;
  thread->outside_recv_sk = 0;
  struct frame_key key = {.pid_tgid = pid_tgid, .level = thread->depth};
  if (bpf_map_update_elem(&pending_calls, &key, call, BPF_ANY) == 0) thread->depth++;
}

/* The stack pointer at a return probe, given the one at the function's entry: x86-64's `ret`
 * pops the return address; arm64's leaves the stack pointer as it was at entry. */
#if defined(__TARGET_ARCH_x86)
#define TLSTAP_SP_AFTER_RETURN(entry_sp) ((entry_sp) + 8)
#else
#define TLSTAP_SP_AFTER_RETURN(entry_sp) (entry_sp)
#endif

/* Takes the innermost call off the thread's stack at its return; false when the return is
 * not one to report (no frame, a folded same-operation call, a call beyond the depth, or the
 * return of a call whose entry tlstap did not see: its stack pointer is not the frame's). */
static __always_inline bool leave_tls_call(__u64 pid_tgid, __u64 sp, struct pending_call *out) {
  struct thread_state *thread = thread_state_of(pid_tgid);
  if (!thread || thread->depth == 0) return false;
  if (thread->overflow > 0) {
    thread->overflow--;
    return false;
  }
  __u32 level = thread->depth - 1;
  struct pending_call *top = frame_at(pid_tgid, level);
  if (!top) {
    thread->depth = level; /* evicted: the call cannot be reported */
    return false;
  }
  if (TLSTAP_SP_AFTER_RETURN(top->entry_sp) != sp) {
    /* Not this frame's return: a folded call (it returns first, deeper in the stack), or a
     * call that entered while only its return probe was attached. */
    if (top->same_op_depth > 0 && sp < TLSTAP_SP_AFTER_RETURN(top->entry_sp))
      top->same_op_depth--;
    return false;
  }
  *out = *top;
  struct frame_key key = {.pid_tgid = pid_tgid, .level = level};
  bpf_map_delete_elem(&pending_calls, &key);
  thread->depth = level;
  return true;
}
