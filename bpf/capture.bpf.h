/* Reporting a completed TLS call, for every stack's probes: its connection and position
 * (conn.bpf.h), then its bytes, copied in TLSTAP_CHUNK_BYTES pieces into the ring buffer.
 * Failed calls are never reported. */
#pragma once

struct chunk_copy {
  struct tlstap_data_event *event;
  __u64 buf; /* the call's buffer; for a vector (TLSTAP_COOKIE_PR_IO_VECTOR) its PRIOVec array */
  __u64 capture_len;
  /* A vector is copied element by element (chunks end where elements do), from here. */
  struct vector_cursor *cursor;
};

static __always_inline void count_lost_tail(struct chunk_copy *copy, __u64 offset) {
  struct tlstap_loss_counters *lost = loss_counters();
  if (lost) {
    lost->events += 1;
    lost->bytes += copy->capture_len - offset;
  }
}

/* A full chunk is read from the traced process straight into reserved ring space: one copy
 * of 16 KiB instead of two (user memory -> scratch -> ring), and no ring space wasted. */
static __always_inline long send_full_chunk(struct chunk_copy *copy, __u64 src, __u64 offset) {
  __u64 wakeup = ring_wakeup_flags(sizeof(struct tlstap_data_event)); /* before it is queued */
  struct tlstap_data_event *slot = bpf_ringbuf_reserve(&events, sizeof(*slot), 0);
  if (!slot) {
    count_lost_tail(copy, offset);
    return 1; /* later chunks would leave a hole: the record ends at the loss */
  }
  __builtin_memcpy(slot, copy->event, TLSTAP_DATA_EVENT_HEADER_BYTES);
  slot->offset = offset;
  slot->chunk_len = TLSTAP_CHUNK_BYTES;
  slot->flags = 0;
  if (bpf_probe_read_user(slot->data, TLSTAP_CHUNK_BYTES, (const void *)src) != 0) {
    /* The page is not resident and a uprobe cannot fault it in: say so, stop here. */
    slot->flags = TLSTAP_CHUNK_READ_FAULT;
    slot->chunk_len = 0;
  }
  long stop = slot->flags ? 1 : 0;
  bpf_ringbuf_submit(slot, wakeup);
  return stop;
}

/* A partial chunk (most calls are small) is built in scratch space and sent with exactly its
 * size, since a ring reservation's size must be a constant. `len` < TLSTAP_CHUNK_BYTES; with
 * `src` 0 the chunk says the copy stops here for want of readable memory. */
static __always_inline long send_partial_chunk(struct chunk_copy *copy, __u64 src, __u64 offset,
                                               __u64 len) {
  struct tlstap_data_event *event = copy->event;
  len &= TLSTAP_CHUNK_BYTES - 1; /* a bound the verifier can see */
  event->offset = offset;
  event->chunk_len = len;
  event->flags = 0;
  if (!src || bpf_probe_read_user(event->data, len, (const void *)src) != 0) {
    event->flags = TLSTAP_CHUNK_READ_FAULT;
    event->chunk_len = 0;
    len = 0;
  }
  if (ring_output(event, TLSTAP_DATA_EVENT_HEADER_BYTES + len) != 0) {
    count_lost_tail(copy, offset);
    return 1;
  }
  return event->flags ? 1 : 0;
}

/* bpf_loop callback: copy and send chunk number `index`; returning 1 stops the loop. */
static long copy_one_chunk(__u32 index, struct chunk_copy *copy) {
  __u64 offset = (__u64)index * TLSTAP_CHUNK_BYTES;
  if (offset >= copy->capture_len) return 1;
  __u64 len = copy->capture_len - offset;
  if (len >= TLSTAP_CHUNK_BYTES) return send_full_chunk(copy, copy->buf + offset, offset);
  return send_partial_chunk(copy, copy->buf + offset, offset, len);
}

/* bpf_loop callback for a vector: starts the next element, or sends the next chunk of the
 * current one; returning 1 stops the loop. */
static long copy_vector_chunk(__u32 index, struct chunk_copy *copy) {
  struct vector_cursor *at = copy->cursor;
  if (!at || at->offset >= copy->capture_len) return 1;
  if (at->piece_left == 0) {
    struct pr_iovec element;
    if (at->index >= at->count || at->index >= TLSTAP_MAX_PR_IO_VECTOR ||
        bpf_probe_read_user(&element, sizeof(element),
                            (const void *)(copy->buf + at->index * sizeof(element))) != 0) {
      /* The vector holds fewer bytes than the call moved, or cannot be read: said, not hidden. */
      send_partial_chunk(copy, 0, at->offset, 0);
      return 1;
    }
    at->index++;
    at->piece = element.base;
    at->piece_left = element.len > 0 ? element.len : 0;
    return 0;
  }
  __u64 offset = at->offset;
  __u64 piece = at->piece;
  __u64 len = copy->capture_len - offset;
  if (len > at->piece_left) len = at->piece_left;
  if (len >= TLSTAP_CHUNK_BYTES) len = TLSTAP_CHUNK_BYTES;
  at->piece += len;
  at->piece_left -= len;
  at->offset += len;
  if (len == TLSTAP_CHUNK_BYTES) return send_full_chunk(copy, piece, offset);
  return send_partial_chunk(copy, piece, offset, len);
}

/* Reports `call`, which moved `call_len` bytes (> 0). */
static __always_inline int report_tls_call(__u64 pid_tgid, struct pending_call *call,
                                           __u64 call_len) {
  __u8 direction = call->direction;
  __u32 tgid = pid_tgid >> 32;
  bool fresh = false;
  struct ssl_state *state = learn_connection(tgid, call->ssl, call->io_fd, call->sk, &fresh);
  __u64 pos = 0;
  struct tlstap_conn_info conn = {.fd = -1};
  __u8 call_flags = 0;
  if (state) {
    /* Positions advance for every successful call, captured or not: a lost or filtered
     * call shows as a jump in the next record's pos. */
    pos = state->bytes[direction & 1];
    state->bytes[direction & 1] += call_len;
    conn = state->conn;
    if (fresh && call->sk && call->recv_before == call->sk && (conn.flags & TLSTAP_CONN_MIDSTREAM))
      call_flags |= TLSTAP_CALL_AFTER_UNSEEN_READ;
    if (conn.fd < 0 && direction == TLSTAP_DIR_WRITE) expect_ciphertext_send(pid_tgid, call->ssl,
                                                                            call_len);
  }
  if (!port_matches(&conn)) return 0;

  __u32 zero = 0;
  struct tlstap_data_event *event = bpf_map_lookup_elem(&chunk_scratch, &zero);
  if (!event) return 0;
  event->header.kind = TLSTAP_EVENT_DATA;
  event->header.pid = tgid;
  event->pos = pos;
  event->conn = conn;
  event->tid = (__u32)pid_tgid;
  event->uid = (__u32)bpf_get_current_uid_gid();
  event->call_id = __sync_fetch_and_add(&next_call_id, 1);
  event->ts_ns = bpf_ktime_get_ns();
  event->entry_ns = call->entry_ns;
  event->ssl = call->ssl;
  event->call_len = call_len;
  event->capture_len = call_len < max_capture_bytes ? call_len : max_capture_bytes;
  event->function = call->function;
  event->direction = direction;
  event->call_flags = call_flags;
  event->start_time_ns = process_start_time();
  bpf_get_current_comm(event->comm, sizeof(event->comm));

  struct chunk_copy copy = {.event = event, .buf = call->buf, .capture_len = event->capture_len};
  __u32 chunks = (event->capture_len + TLSTAP_CHUNK_BYTES - 1) / TLSTAP_CHUNK_BYTES;
  if (call->cookie & TLSTAP_COOKIE_PR_IO_VECTOR) {
    struct vector_cursor *cursor = bpf_map_lookup_elem(&vector_cursors, &zero);
    if (!cursor) return 0;
    __u32 count = call->len < TLSTAP_MAX_PR_IO_VECTOR ? call->len : TLSTAP_MAX_PR_IO_VECTOR;
    *cursor = (struct vector_cursor){.count = count};
    copy.cursor = cursor;
    /* Per element, one iteration starts it and its end can end a chunk early. */
    bpf_loop(chunks + 2 * count, copy_vector_chunk, &copy, 0);
  } else {
    bpf_loop(chunks, copy_one_chunk, &copy, 0);
  }
  return 0;
}

/* A call whose entry was not seen returned, having moved `call_len` bytes (> 0): one event
 * that says so (TLSTAP_CALL_RETURNED_UNSEEN), with no bytes and no connection. */
static __always_inline int report_unseen_return(__u64 pid_tgid, __u8 function, __u8 direction,
                                                __u64 call_len) {
  __u32 zero = 0;
  struct tlstap_data_event *event = bpf_map_lookup_elem(&chunk_scratch, &zero);
  if (!event) return 0;
  event->header.kind = TLSTAP_EVENT_DATA;
  event->header.pid = pid_tgid >> 32;
  event->pos = 0;
  event->conn = (struct tlstap_conn_info){.fd = -1};
  event->tid = (__u32)pid_tgid;
  event->uid = (__u32)bpf_get_current_uid_gid();
  event->call_id = __sync_fetch_and_add(&next_call_id, 1);
  event->ts_ns = bpf_ktime_get_ns();
  event->entry_ns = 0;
  event->ssl = 0;
  event->call_len = call_len;
  event->capture_len = 0;
  event->offset = 0;
  event->chunk_len = 0;
  event->flags = 0;
  event->function = function;
  event->direction = direction;
  event->call_flags = TLSTAP_CALL_RETURNED_UNSEEN;
  event->start_time_ns = process_start_time();
  bpf_get_current_comm(event->comm, sizeof(event->comm));
  if (ring_output(event, TLSTAP_DATA_EVENT_HEADER_BYTES) != 0) {
    struct tlstap_loss_counters *lost = loss_counters();
    if (lost) {
      lost->events += 1;
      lost->bytes += call_len;
    }
  }
  return 0;
}
