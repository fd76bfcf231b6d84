#include "redact/http2_header_redactor.h"

#include <algorithm>
#include <cstring>
#include <string_view>

#include "protocols/http2/frame.h"

namespace tlstap::redact {

namespace h2 = tlstap::http2;

Http2HeaderRedactor::Http2HeaderRedactor(const RedactNames& names, bool starts_at_beginning)
    : hpack_(names, counts_) {
  if (!starts_at_beginning) {
    state_ = State::lost;
    hpack_.forget();
  }
}

void Http2HeaderRedactor::feed(uint64_t pos, std::span<char> bytes, const Patch& patch) {
  if (!started_) {
    started_ = true;
    fed_end_ = pos;
    if (pos != 0 && state_ == State::preface) gap();  // not the stream's first byte
  } else if (pos != fed_end_) {
    gap();
  }
  if (cut_pending_) {
    cut_pending_ = false;
    feed_pos_ = pos;
    span_ = {};
    release_hold(cut_value_, patch);
    cut_value_.clear();
  }
  feed_pos_ = pos;
  span_ = bytes;
  const std::string_view view(bytes.data(), bytes.size());
  if (state_ == State::lost && h2::is_whole_frames(view, h2::kLargestMaxFrameSize)) {
    // A record that is exactly whole frames: frames start here again. The dynamic table
    // stays unknown.
    state_ = State::frame_header;
    header_size_ = 0;
    expect_continuation_ = false;
  }
  patch_ = &patch;
  size_t i = 0;
  while (i < bytes.size()) {
    const bool held_before = holding_;
    fragment_step_ = false;
    const size_t consumed = step(i);
    // Bytes inside a held value that are not its string's (frame headers, padding): kept
    // with it so that the patch is one contiguous run.
    if (held_before && holding_ && !fragment_step_)
      for (size_t k = i; k < i + consumed; ++k) hold_byte(k, false);
    i += consumed;
    if (holding_ && held_stream_.size() > kHeldStreamCap) lose();
  }
  fed_end_ = std::max(fed_end_, pos + bytes.size());
  span_ = {};
  patch_ = nullptr;
}

size_t Http2HeaderRedactor::step(size_t i) {
  const size_t available = span_.size() - i;
  switch (state_) {
    case State::lost:
      std::memset(span_.data() + i, 0, available);
      counts_.bytes_masked_unparsed += available;
      return available;
    case State::preface:
      if (span_[i] == h2::kClientPreface[preface_matched_]) {
        if (++preface_matched_ == h2::kClientPreface.size()) state_ = State::frame_header;
        return 1;
      }
      // Not the preface: a server direction's first frame, or (after a partial match) not
      // HTTP/2 at all.
      if (preface_matched_ == 0)
        state_ = State::frame_header;
      else
        lose();
      return 0;
    case State::frame_header: {
      const size_t n = std::min(available, sizeof(header_) - header_size_);
      std::memcpy(header_ + header_size_, span_.data() + i, n);
      header_size_ += n;
      if (header_size_ == sizeof(header_)) {
        header_size_ = 0;
        start_frame();
      }
      return n;
    }
    case State::pad_length:
      pad_ = static_cast<uint8_t>(span_[i]);
      if (pad_ > fragment_length_) {
        lose();
        return 1;
      }
      fragment_length_ -= pad_;
      remaining_ = fixed_;
      state_ = fixed_ > 0 ? State::fixed_fields : State::fragment;
      if (fixed_ == 0) start_fragment();
      return 1;
    case State::fixed_fields: {
      const size_t n = std::min<size_t>(available, remaining_);
      remaining_ -= static_cast<uint32_t>(n);
      if (remaining_ == 0) start_fragment();
      return n;
    }
    case State::fragment: {
      fragment_step_ = true;
      const bool was_holding = holding_;
      const auto result = hpack_.byte(span_[i]);
      using R = hpack::HpackBlockRedactor::ByteResult;
      if (result == R::error) {
        lose();
        return 0;  // this byte and the rest: masked as lost
      }
      if (result == R::held || result == R::held_last) {
        if (!was_holding) {
          holding_ = true;
          hold_start_ = feed_pos_ + i;
          held_stream_.clear();
          held_segments_.clear();
        }
        hold_byte(i, true);
      }
      if (result == R::held_last) {
        // Decided: handed back. The patch for earlier bytes was registered with the feed.
        release_hold(hpack_.held_value(), *patch_);
      }
      if (--remaining_ == 0) end_fragment();
      return 1;
    }
    case State::padding:
    case State::other_payload: {
      const size_t n = std::min<size_t>(available, remaining_);
      remaining_ -= static_cast<uint32_t>(n);
      if (remaining_ == 0) state_ = State::frame_header;
      return n;
    }
  }
  return available;
}

void Http2HeaderRedactor::start_frame() {
  const h2::FrameHeader header = h2::parse_frame_header(std::string_view(header_, sizeof(header_)));
  // The largest frame any peer may allow: a longer one, or one a conforming peer cannot send,
  // is not HTTP/2 this walker can follow.
  if (!h2::plausible(header, h2::kLargestMaxFrameSize)) return lose();
  const auto type = static_cast<h2::FrameType>(header.type);
  const bool continuation = type == h2::FrameType::continuation;
  if (expect_continuation_ ? !continuation || header.stream != block_stream_ : continuation)
    return lose();  // RFC 9113 6.10: a header block's frames come back to back
  if (type == h2::FrameType::headers || type == h2::FrameType::push_promise) {
    const bool padded = header.flags & h2::flag::padded;
    fixed_ = 0;
    if (type == h2::FrameType::headers && (header.flags & h2::flag::priority)) fixed_ = 5;
    if (type == h2::FrameType::push_promise) fixed_ = 4;  // the promised stream id
    if (header.length < fixed_ + (padded ? 1u : 0u)) return lose();
    fragment_length_ = header.length - fixed_ - (padded ? 1 : 0);
    pad_ = 0;
    block_stream_ = header.stream;
    end_headers_ = header.flags & h2::flag::end_headers;
    expect_continuation_ = !end_headers_;
    if (padded) {
      state_ = State::pad_length;
    } else if (fixed_ > 0) {
      state_ = State::fixed_fields;
      remaining_ = fixed_;
    } else {
      start_fragment();
    }
    return;
  }
  if (continuation) {
    fragment_length_ = header.length;
    pad_ = 0;
    end_headers_ = header.flags & h2::flag::end_headers;
    expect_continuation_ = !end_headers_;
    start_fragment();
    return;
  }
  remaining_ = header.length;
  state_ = remaining_ > 0 ? State::other_payload : State::frame_header;
}

void Http2HeaderRedactor::start_fragment() {
  state_ = State::fragment;
  remaining_ = fragment_length_;
  if (remaining_ == 0) end_fragment();
}

void Http2HeaderRedactor::end_fragment() {
  if (end_headers_ && !hpack_.end_block()) return lose();  // a block cut inside a field
  remaining_ = pad_;
  state_ = pad_ > 0 ? State::padding : State::frame_header;
}

void Http2HeaderRedactor::lose() {
  if (holding_ && !cut_pending_) {
    hpack_.cut_hold();
    if (patch_)
      release_hold(hpack_.held_value(), *patch_);
    else {
      cut_pending_ = true;
      cut_value_ = hpack_.held_value();
    }
  }
  state_ = State::lost;
  header_size_ = 0;
  preface_matched_ = 0;
  expect_continuation_ = false;
  hpack_.forget();
}

void Http2HeaderRedactor::hold_byte(size_t i, bool string_byte) {
  if (string_byte) {
    if (!held_segments_.empty() &&
        held_segments_.back().first + held_segments_.back().second == held_stream_.size())
      ++held_segments_.back().second;
    else
      held_segments_.push_back({held_stream_.size(), 1});
  }
  held_stream_.push_back(span_[i]);
}

void Http2HeaderRedactor::release_hold(const std::string& masked, const Patch& patch) {
  size_t from = 0;  // in `masked`
  for (const auto& [offset, length] : held_segments_) {
    const size_t n = std::min(length, masked.size() - std::min(masked.size(), from));
    std::memcpy(held_stream_.data() + offset, masked.data() + from, n);
    from += n;
  }
  // Bytes of the current feed are rewritten in place; earlier ones through the patch.
  const size_t earlier = feed_pos_ > hold_start_
                             ? std::min<uint64_t>(held_stream_.size(), feed_pos_ - hold_start_)
                             : 0;
  for (size_t k = earlier; k < held_stream_.size(); ++k) {
    const uint64_t at = hold_start_ + k - feed_pos_;
    if (at < span_.size()) span_[at] = held_stream_[k];
  }
  holding_ = false;
  if (earlier > 0) patch(hold_start_, std::string_view(held_stream_.data(), earlier));
  held_stream_.clear();
  held_segments_.clear();
}

void Http2HeaderRedactor::gap() {
  if (state_ != State::lost || holding_) lose();
  hpack_.forget();
  state_ = State::lost;
}

void Http2HeaderRedactor::flush(const Patch& patch) {
  if (cut_pending_) {
    cut_pending_ = false;
    feed_pos_ = fed_end_;
    span_ = {};
    release_hold(cut_value_, patch);
    cut_value_.clear();
  }
  if (!holding_) return;
  // The value's bytes so far are masked now; the rest of it, when it comes, with 0xff.
  hpack_.cut_hold();
  feed_pos_ = fed_end_;
  span_ = {};
  release_hold(hpack_.held_value(), patch);
}

}  // namespace tlstap::redact
