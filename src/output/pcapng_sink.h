// Writes the plaintext of traced connections as a pcapng capture: the records become TCP
// segments (TcpSynthesizer) in Enhanced Packet Blocks, each with the process that made the
// call as its comment. Interface 0 carries the IP packets (link type RAW), interface 1 the
// exported-PDU hints that make Wireshark dissect HTTP streams as HTTP on any port. Written
// through an OutputStream: buffered, flushed by the session, write errors kept and counted.
#pragma once

#include <cstdint>

#include "output/output_stream.h"
#include "output/record.h"
#include "output/tcp_synthesizer.h"

namespace tlstap {

class PcapngSink final : public RecordSink {
 public:
  struct Counts {
    uint64_t packets = 0;
    uint64_t packet_bytes = 0;  // bytes of the packets (headers included)
  };

  // Buffers the Section Header and the Interface Descriptions (written at the next flush).
  explicit PcapngSink(OutputStream& out);

  void data(const DataRecord& record) override { synthesizer_.data(record); }
  void lost(const LostRecord& record) override { (void)record; }  // a gap in the sequence
  void close(const CloseRecord& record) override { synthesizer_.close(record); }

  const Counts& counts() const { return counts_; }
  const TcpSynthesizer::Counts& synthesizer_counts() const { return synthesizer_.counts(); }

 private:
  void write(const SynthesizedPacket& packet);

  OutputStream& out_;
  TcpSynthesizer synthesizer_;
  Counts counts_;
};

}  // namespace tlstap
