// vpnsdk::PacketBuffer and vpnsdk::PacketPool.
#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <set>
#include <vector>

#include "vpnsdk/packet.hpp"

using vpnsdk::PacketBuffer;
using vpnsdk::PacketPool;
using vpnsdk::PacketPtr;
using vpnsdk::PoolConfig;

namespace {

std::vector<std::byte> bytes(std::initializer_list<int> v) {
  std::vector<std::byte> out;
  for (int x : v) out.push_back(std::byte(static_cast<std::uint8_t>(x)));
  return out;
}

std::vector<std::byte> contents(const PacketBuffer& b) { return {b.bytes().begin(), b.bytes().end()}; }

// The three regions always add up to the capacity.
void check_layout(const PacketBuffer& b, std::size_t head, std::size_t size) {
  CHECK(b.headroom() == head);
  CHECK(b.size() == size);
  CHECK(b.tailroom() == b.capacity() - head - size);
  CHECK(b.empty() == (size == 0));
  CHECK(b.bytes().size() == size);
}

}  // namespace

TEST_CASE("PacketBuffer: a fresh buffer has the requested headroom and no data", "[packet]") {
  PacketBuffer b(100, 30);
  CHECK(b.capacity() == 100);
  check_layout(b, 30, 0);
  CHECK(b.meta.session == 0);
  CHECK(b.meta.frame_type == 0);
}

TEST_CASE("PacketBuffer: headroom larger than the capacity is clamped", "[packet]") {
  PacketBuffer b(64, 1000);
  check_layout(b, 64, 0);
  CHECK(b.put(1) == nullptr);
  PacketBuffer exact(64, 64);
  check_layout(exact, 64, 0);
}

TEST_CASE("PacketBuffer: push uses exactly the headroom and refuses more without change", "[packet]") {
  PacketBuffer b(100, 30);
  REQUIRE(b.append(bytes({1, 2, 3})));
  std::byte* const payload = b.data();
  std::byte* front = b.push(10);
  REQUIRE(front != nullptr);
  CHECK(front == payload - 10);
  CHECK(b.data() == front);
  check_layout(b, 20, 13);
  CHECK(b.push(21) == nullptr);  // one more than the headroom
  check_layout(b, 20, 13);
  CHECK(b.data() == front);
  REQUIRE(b.push(20) != nullptr);  // exactly the headroom
  check_layout(b, 0, 33);
  CHECK(b.push(1) == nullptr);
  CHECK(b.push(SIZE_MAX) == nullptr);
  check_layout(b, 0, 33);
  CHECK(b.push(0) == b.data());  // zero always fits
  // The payload did not move.
  CHECK(b.data()[30] == std::byte{1});
  CHECK(b.data()[32] == std::byte{3});
}

TEST_CASE("PacketBuffer: pull removes from the front, more than size() is refused without change", "[packet]") {
  PacketBuffer b(50, 10);
  REQUIRE(b.append(bytes({1, 2, 3, 4, 5})));
  CHECK_FALSE(b.pull(6));
  CHECK_FALSE(b.pull(SIZE_MAX));
  check_layout(b, 10, 5);
  REQUIRE(b.pull(2));
  check_layout(b, 12, 3);
  CHECK(contents(b) == bytes({3, 4, 5}));
  REQUIRE(b.pull(3));
  check_layout(b, 15, 0);
  REQUIRE(b.pull(0));
  check_layout(b, 15, 0);
  CHECK_FALSE(b.pull(1));
  // What was pulled is headroom again.
  REQUIRE(b.push(15) != nullptr);
  check_layout(b, 0, 15);
}

TEST_CASE("PacketBuffer: put grows at the back up to exactly the tailroom", "[packet]") {
  PacketBuffer b(40, 8);
  std::byte* at = b.put(4);
  REQUIRE(at != nullptr);
  CHECK(at == b.data());
  check_layout(b, 8, 4);
  std::byte* next = b.put(10);
  REQUIRE(next != nullptr);
  CHECK(next == b.data() + 4);
  check_layout(b, 8, 14);
  CHECK(b.put(19) == nullptr);  // tailroom is 18
  CHECK(b.put(SIZE_MAX) == nullptr);
  check_layout(b, 8, 14);
  REQUIRE(b.put(18) != nullptr);
  check_layout(b, 8, 32);
  CHECK(b.put(1) == nullptr);
  CHECK(b.put(0) != nullptr);  // zero fits even when full
  check_layout(b, 8, 32);
}

TEST_CASE("PacketBuffer: trim shrinks from the back, growing is refused", "[packet]") {
  PacketBuffer b(40, 8);
  REQUIRE(b.append(bytes({9, 8, 7, 6})));
  CHECK_FALSE(b.trim(5));
  check_layout(b, 8, 4);
  REQUIRE(b.trim(4));
  check_layout(b, 8, 4);
  REQUIRE(b.trim(2));
  check_layout(b, 8, 2);
  CHECK(contents(b) == bytes({9, 8}));
  REQUIRE(b.trim(0));
  check_layout(b, 8, 0);
}

TEST_CASE("PacketBuffer: append copies, refuses what does not fit without change", "[packet]") {
  PacketBuffer b(12, 4);
  REQUIRE(b.append(bytes({1, 2, 3})));
  REQUIRE(b.append(bytes({4, 5})));
  CHECK(contents(b) == bytes({1, 2, 3, 4, 5}));
  CHECK_FALSE(b.append(bytes({6, 7, 8, 9})));  // tailroom is 3
  check_layout(b, 4, 5);
  CHECK(contents(b) == bytes({1, 2, 3, 4, 5}));
  REQUIRE(b.append({}));
  REQUIRE(b.append(bytes({6, 7, 8})));
  check_layout(b, 4, 8);
  CHECK(contents(b) == bytes({1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST_CASE("PacketBuffer: framing in place around a payload", "[packet]") {
  PacketBuffer b(64, 16);
  REQUIRE(b.append(bytes({0xaa, 0xbb})));
  std::byte* hdr = b.push(4);
  REQUIRE(hdr != nullptr);
  hdr[0] = std::byte{0x01};
  hdr[3] = std::byte{0x04};
  std::byte* tag = b.put(2);
  REQUIRE(tag != nullptr);
  tag[0] = std::byte{0xee};
  tag[1] = std::byte{0xff};
  CHECK(b.size() == 8);
  CHECK(b.data()[0] == std::byte{0x01});
  CHECK(b.data()[4] == std::byte{0xaa});
  CHECK(b.data()[7] == std::byte{0xff});
  // and off again
  REQUIRE(b.pull(4));
  REQUIRE(b.trim(b.size() - 2));
  CHECK(contents(b) == bytes({0xaa, 0xbb}));
  check_layout(b, 16, 2);
}

TEST_CASE("PacketBuffer: reset empties, sets the headroom and clears meta", "[packet]") {
  PacketBuffer b(64, 16);
  REQUIRE(b.append(bytes({1, 2, 3})));
  b.meta.session = 77;
  b.meta.frame_type = 3;
  b.reset(40);
  check_layout(b, 40, 0);
  CHECK(b.meta.session == 0);
  CHECK(b.meta.frame_type == 0);
  b.reset(0);
  check_layout(b, 0, 0);
  CHECK(b.push(1) == nullptr);
  b.reset(65);
  check_layout(b, 64, 0);
}

TEST_CASE("PacketPool: capacity is headroom + payload + tailroom", "[packet][pool]") {
  PacketPool pool(PoolConfig{16, 100, 8, 3});
  CHECK(pool.capacity() == 124);
  CHECK(pool.allocated() == 0);  // allocated on demand
  CHECK(pool.in_use() == 0);
  PacketPtr p = pool.acquire();
  REQUIRE(p);
  CHECK(p->capacity() == 124);
  CHECK(p->headroom() == 16);
  CHECK(p->tailroom() == 108);
  CHECK(p->size() == 0);
}

TEST_CASE("PacketPool: acquire up to max_buffers, then nullptr counted as exhausted", "[packet][pool]") {
  PacketPool pool(PoolConfig{16, 100, 8, 3});
  std::vector<PacketPtr> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(pool.acquire());
    REQUIRE(held.back());
    CHECK(pool.in_use() == static_cast<std::size_t>(i + 1));
  }
  std::set<PacketBuffer*> distinct;
  for (auto& p : held) distinct.insert(p.get());
  CHECK(distinct.size() == 3);
  CHECK(pool.exhausted() == 0);
  PacketPtr none = pool.acquire();
  CHECK_FALSE(none);
  CHECK(pool.exhausted() == 1);
  CHECK_FALSE(pool.acquire());
  CHECK(pool.exhausted() == 2);
  CHECK(pool.allocated() == 3);
  CHECK(pool.in_use() == 3);
  none.reset();  // releasing a null PacketPtr changes nothing
  CHECK(pool.in_use() == 3);

  held.pop_back();
  CHECK(pool.in_use() == 2);
  PacketPtr again = pool.acquire();
  CHECK(again);
  CHECK(pool.exhausted() == 2);
  CHECK(pool.allocated() == 3);
}

TEST_CASE("PacketPool: a released buffer is recycled (same address), fresh again", "[packet][pool]") {
  PacketPool pool(PoolConfig{32, 200, 16, 4});
  PacketPtr a = pool.acquire();
  PacketPtr b = pool.acquire();
  REQUIRE(a);
  REQUIRE(b);
  PacketBuffer* const addr = a.get();
  REQUIRE(a->append(bytes({1, 2, 3, 4})));
  REQUIRE(a->push(32) != nullptr);
  a->meta.session = 99;
  a->meta.frame_type = 3;
  a.reset();
  CHECK(pool.in_use() == 1);
  CHECK(pool.allocated() == 2);

  PacketPtr c = pool.acquire();
  REQUIRE(c);
  CHECK(c.get() == addr);
  CHECK(c->headroom() == 32);
  CHECK(c->size() == 0);
  CHECK(c->tailroom() == 216);
  CHECK(c->meta.session == 0);
  CHECK(c->meta.frame_type == 0);
  CHECK(pool.allocated() == 2);  // nothing new was allocated
}

TEST_CASE("PacketPool: moving a PacketPtr releases the buffer once", "[packet][pool]") {
  PacketPool pool(PoolConfig{8, 64, 8, 2});
  {
    PacketPtr a = pool.acquire();
    PacketPtr b = std::move(a);
    CHECK_FALSE(a);
    CHECK(pool.in_use() == 1);
    std::vector<PacketPtr> batch;
    batch.push_back(std::move(b));
    vpnsdk::Batch view(batch);
    CHECK(view.size() == 1);
    PacketPtr taken = std::move(view[0]);  // a callee takes ownership
    CHECK(pool.in_use() == 1);
  }
  CHECK(pool.in_use() == 0);
  // Both buffers can still be handed out: the free list did not get the same buffer twice.
  PacketPtr x = pool.acquire();
  PacketPtr y = pool.acquire();
  REQUIRE(x);
  REQUIRE(y);
  CHECK(x.get() != y.get());
  CHECK_FALSE(pool.acquire());
}

TEST_CASE("PacketPool: release order is last-in first-out", "[packet][pool]") {
  PacketPool pool(PoolConfig{8, 64, 8, 8});
  std::vector<PacketPtr> v;
  for (int i = 0; i < 4; ++i) v.push_back(pool.acquire());
  PacketBuffer* second = v[1].get();
  PacketBuffer* third = v[2].get();
  v[1].reset();
  v[2].reset();
  CHECK(pool.acquire().get() == third);  // (released again at once)
  PacketPtr p = pool.acquire();
  CHECK(p.get() == third);
  CHECK(pool.acquire().get() == second);
}

TEST_CASE("PacketPool: the control reserve is only for acquire_control()", "[packet][pool]") {
  PacketPool pool(PoolConfig{8, 64, 8, 8, 2});  // 6 usable by acquire(), 2 more for control frames
  CHECK(pool.usable() == 6);
  std::vector<PacketPtr> data;
  for (int i = 0; i < 6; ++i) {
    data.push_back(pool.acquire());
    REQUIRE(data.back());
  }
  CHECK_FALSE(pool.acquire());  // data traffic used up its part
  CHECK(pool.exhausted() == 1);
  PacketPtr k1 = pool.acquire_control();
  PacketPtr k2 = pool.acquire_control();
  CHECK(k1);
  CHECK(k2);
  CHECK(pool.reserve_used() == 2);
  CHECK_FALSE(pool.acquire_control());  // all max_buffers in use
  CHECK(pool.control_exhausted() == 1);
  CHECK(pool.in_use() == 8);
  k1.reset();
  CHECK_FALSE(pool.acquire());  // a returned reserve buffer is not data's: in_use 7 >= usable 6
  CHECK(pool.acquire_control());
  data.clear();
  CHECK(pool.acquire());
  CHECK(pool.reserve_used() == 3);
}

TEST_CASE("PacketPool: under_pressure() from half of the usable buffers in use", "[packet][pool]") {
  PacketPool pool(PoolConfig{8, 64, 8, 10, 2});  // usable 8: pressure from 4 in use
  std::vector<PacketPtr> v;
  for (int i = 0; i < 3; ++i) v.push_back(pool.acquire());
  CHECK_FALSE(pool.under_pressure());
  v.push_back(pool.acquire());
  CHECK(pool.under_pressure());
  v.pop_back();
  CHECK_FALSE(pool.under_pressure());
  // Without a reserve (the default) acquire() may take every buffer, as before.
  PacketPool plain(PoolConfig{8, 64, 8, 2});
  CHECK(plain.usable() == 2);
  PacketPtr a = plain.acquire(), b = plain.acquire();
  CHECK(a);
  CHECK(b);
  CHECK_FALSE(plain.acquire_control());
}
