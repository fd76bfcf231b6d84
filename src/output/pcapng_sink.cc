#include "output/pcapng_sink.h"

#include <fmt/format.h>

#include "common/version.h"
#include "output/pcapng_writer.h"

namespace tlstap {
namespace {

constexpr uint32_t kIpInterface = 0;
constexpr uint32_t kHintInterface = 1;

}  // namespace

PcapngSink::PcapngSink(OutputStream& out)
    : out_(out), synthesizer_([this](const SynthesizedPacket& packet) { write(packet); }) {
  std::string& b = out_.buffer();
  pcapng::append_section_header(b, fmt::format("tlstap {}", kVersion));
  pcapng::append_interface(b, pcapng::kLinktypeRaw, "tlstap: TLS plaintext as TCP");
  pcapng::append_interface(b, pcapng::kLinktypeUpperPdu, "tlstap: dissector hints");
  // Not flushed here: handing a buffer over starts the writer thread, and tlstap drops its
  // capabilities before any thread starts. The main loop's first flush sends it.
}

void PcapngSink::write(const SynthesizedPacket& packet) {
  uint32_t interface = packet.kind == SynthesizedPacket::Kind::hint ? kHintInterface : kIpInterface;
  pcapng::append_packet(out_.buffer(), interface, packet.ts_ns, packet.bytes, packet.comment);
  counts_.packets++;
  counts_.packet_bytes += packet.bytes.size();
  out_.record_done();
  out_.flush_if_full();
}

}  // namespace tlstap
