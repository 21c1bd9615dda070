// Packet buffers with headroom and tailroom, drawn from a bounded pool.
//
// Every stage works in place: a transport pushes its frame header into the
// headroom, a cipher pushes a nonce in front and puts a tag behind. Buffers
// come from a PacketPool owned by the host; a PacketPtr returns its buffer
// to the pool when it is destroyed, so after warm-up the data path does not
// allocate. The pool is single-threaded, like the host's event loop.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

namespace vpnsdk {

using SessionId = std::uint64_t;  // 0 means "no session"

// What a stage adds around a packet, so the host can reserve room up front.
struct Overhead {
  std::uint16_t head = 0;
  std::uint16_t tail = 0;
};

struct PacketMeta {
  SessionId session = 0;        // where it came from / goes to
  std::uint8_t frame_type = 0;  // wire frame type when travelling as a frame
  // Received frames only: nonzero when the frame came from an underlay
  // endpoint other than the session's current one. The token is the
  // transport's; the host hands it back through Transport::adopt_path()
  // once the cipher has authenticated the frame (roaming).
  std::uint32_t path = 0;
};

class PacketBuffer {
 public:
  PacketBuffer(std::size_t capacity, std::size_t headroom)
      : storage_(new std::byte[capacity]), capacity_(capacity) {
    reset(headroom);
  }
  PacketBuffer(const PacketBuffer&) = delete;
  PacketBuffer& operator=(const PacketBuffer&) = delete;

  std::byte* data() noexcept { return storage_.get() + offset_; }
  const std::byte* data() const noexcept { return storage_.get() + offset_; }
  std::size_t size() const noexcept { return length_; }
  bool empty() const noexcept { return length_ == 0; }
  std::span<std::byte> bytes() noexcept { return {data(), length_}; }
  std::span<const std::byte> bytes() const noexcept { return {data(), length_}; }

  std::size_t capacity() const noexcept { return capacity_; }
  std::size_t headroom() const noexcept { return offset_; }
  std::size_t tailroom() const noexcept { return capacity_ - offset_ - length_; }

  // Grow at the front by n bytes; returns the new start, or nullptr (and
  // changes nothing) if the headroom is smaller than n.
  std::byte* push(std::size_t n) noexcept {
    if (n > offset_) return nullptr;
    offset_ -= n;
    length_ += n;
    return data();
  }
  // Remove n bytes from the front; false (and no change) if n > size().
  bool pull(std::size_t n) noexcept {
    if (n > length_) return false;
    offset_ += n;
    length_ -= n;
    return true;
  }
  // Grow at the back by n bytes; returns where the new bytes start, or
  // nullptr (and no change) if the tailroom is smaller than n.
  std::byte* put(std::size_t n) noexcept {
    if (n > tailroom()) return nullptr;
    std::byte* at = data() + length_;
    length_ += n;
    return at;
  }
  // Shrink to new_size bytes (from the back); false if new_size > size().
  bool trim(std::size_t new_size) noexcept {
    if (new_size > length_) return false;
    length_ = new_size;
    return true;
  }
  // Empty the buffer, leaving `headroom` bytes in front (clamped to capacity).
  void reset(std::size_t headroom) noexcept {
    offset_ = headroom < capacity_ ? headroom : capacity_;
    length_ = 0;
    meta = {};
  }
  // Copy bytes in after the current data; false if they do not fit.
  bool append(std::span<const std::byte> in) noexcept {
    std::byte* at = put(in.size());
    if (at == nullptr) return false;
    if (!in.empty()) std::memcpy(at, in.data(), in.size());
    return true;
  }

  PacketMeta meta;

 private:
  std::unique_ptr<std::byte[]> storage_;
  std::size_t capacity_;
  std::size_t offset_ = 0;
  std::size_t length_ = 0;
};

class PacketPool;

struct PoolReturn {
  PacketPool* pool = nullptr;
  void operator()(PacketBuffer* b) const noexcept;
};

// Move-only owner of a pooled buffer.
using PacketPtr = std::unique_ptr<PacketBuffer, PoolReturn>;

// A batch of packets handed from one stage to the next. The callee may move
// entries out (taking ownership); whatever it leaves is released by the caller.
using Batch = std::span<PacketPtr>;

struct PoolConfig {
  std::size_t headroom = 128;   // in front of a fresh buffer's data
  std::size_t payload = 9216;   // largest packet/frame body the pool serves
  std::size_t tailroom = 64;    // behind the largest payload
  std::size_t max_buffers = 8192;
  // Of max_buffers, this many only acquire_control() may take: control
  // frames (KEEPALIVE, BYE, WELCOME, handshake messages) find a buffer
  // even when data traffic used up all the others. The host sets it
  // ([host] packet_buffers / 8); 0: no reserve.
  std::size_t control_reserve = 0;
};

class PacketPool {
 public:
  explicit PacketPool(PoolConfig cfg = {}) : cfg_(cfg) {
    all_.reserve(cfg_.max_buffers);
    free_.reserve(cfg_.max_buffers);  // release() must not allocate
  }
  PacketPool(const PacketPool&) = delete;
  PacketPool& operator=(const PacketPool&) = delete;

  // A fresh buffer with the configured headroom, or nullptr when all
  // buffers but the control reserve are in use (the caller drops and counts).
  PacketPtr acquire() {
    if (in_use() >= usable()) {
      ++exhausted_;
      return PacketPtr(nullptr, PoolReturn{this});
    }
    return take();
  }
  // For control frames only: may also use the control reserve; nullptr only
  // when all max_buffers are in use.
  PacketPtr acquire_control() {
    if (in_use() >= cfg_.max_buffers) {
      ++exhausted_;
      ++control_exhausted_;
      return PacketPtr(nullptr, PoolReturn{this});
    }
    if (in_use() >= usable()) ++reserve_used_;
    return take();
  }

  const PoolConfig& config() const noexcept { return cfg_; }
  std::size_t capacity() const noexcept { return cfg_.headroom + cfg_.payload + cfg_.tailroom; }
  std::size_t allocated() const noexcept { return all_.size(); }
  std::size_t in_use() const noexcept { return all_.size() - free_.size(); }
  // Buffers acquire() may hand out: max_buffers minus the control reserve.
  std::size_t usable() const noexcept {
    return cfg_.control_reserve < cfg_.max_buffers ? cfg_.max_buffers - cfg_.control_reserve : 0;
  }
  // True when at least half of the usable buffers are in use: a transport
  // that queues frames per session then holds each session to its fair
  // share (transport_tcp; docs/limits.md, "Packet buffers").
  bool under_pressure() const noexcept { return 2 * in_use() >= usable(); }
  std::uint64_t exhausted() const noexcept { return exhausted_; }
  std::uint64_t control_exhausted() const noexcept { return control_exhausted_; }
  // How many acquire_control() calls were served from the reserve.
  std::uint64_t reserve_used() const noexcept { return reserve_used_; }

 private:
  friend struct PoolReturn;
  void release(PacketBuffer* b) noexcept { free_.push_back(b); }  // capacity reserved up front
  PacketPtr take() {
    PacketBuffer* b = nullptr;
    if (!free_.empty()) {
      b = free_.back();
      free_.pop_back();
    } else {
      all_.push_back(std::make_unique<PacketBuffer>(capacity(), cfg_.headroom));
      b = all_.back().get();
    }
    b->reset(cfg_.headroom);
    return PacketPtr(b, PoolReturn{this});
  }

  PoolConfig cfg_;
  std::vector<std::unique_ptr<PacketBuffer>> all_;
  std::vector<PacketBuffer*> free_;
  std::uint64_t exhausted_ = 0;
  std::uint64_t control_exhausted_ = 0;
  std::uint64_t reserve_used_ = 0;
};

inline void PoolReturn::operator()(PacketBuffer* b) const noexcept {
  if (b != nullptr && pool != nullptr) pool->release(b);
}

}  // namespace vpnsdk
