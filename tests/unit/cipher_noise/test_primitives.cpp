// HMAC-BLAKE2b, HKDF and the ChaChaPoly nonce against values computed
// independently with Python (hmac + hashlib.blake2b, cryptography's
// ChaCha20Poly1305); DH refusal of low-order points; TAI64N ordering.
#include <catch2/catch.hpp>

#include "../../../plugins/cipher_noise/noise_primitives.hpp"
#include "../../../plugins/cipher_noise/tai64n.hpp"
#include "support.hpp"

using namespace cipher_noise;
using namespace noise_test;

namespace {
Bytes iota(std::size_t n) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i);
  return b;
}
}  // namespace

TEST_CASE("primitives: HMAC-BLAKE2b is RFC 2104 with a 128-byte block", "[cipher_noise][primitives]") {
  CHECK(hex(hmac({}, {View{}}).view()) ==
        "198cd2006f66ff83fbbd913f78aca2251caf4f19fe9475aade8cf2091b99a68466775177424f58286886cbae8229644cec747237d4b7"
        "21735485e17372fdf59c");
  CHECK(hex(hmac(iota(64), {text_bytes("vpnhost")}).view()) ==
        "189e904743bae307ae1003723b565776124f509eee3c9017cfb31398b09c2d471e8ede3ad7533a6b06f6ff21072fbd74ac95dccfeef6"
        "7411cb2127901a0a8c25");
  // A key longer than the block is hashed first.
  CHECK(hex(hmac(iota(200), {text_bytes("long key")}).view()) ==
        "3657d96bcab1b777275ca0c25f3bab9388d8ac4d3914495a2b495c756b52dd22dc9531abcd00141e683e53e77cf10f468330f65c569c"
        "44f0f54edd3ad89cb566");
  // Data given in parts is the same as the concatenation.
  CHECK(hex(hmac(iota(64), {text_bytes("vpn"), text_bytes("host")}).view()) ==
        hex(hmac(iota(64), {text_bytes("vpnhost")}).view()));
}

TEST_CASE("primitives: keyed BLAKE2b is not HMAC", "[cipher_noise][primitives]") {
  const Bytes key = iota(64);
  const Bytes msg = text_bytes("vpnhost");
  std::uint8_t keyed[64];
  crypto_generichash(keyed, sizeof keyed, msg.data(), msg.size(), key.data(), key.size());
  CHECK(hex(View(keyed, 64)) != hex(hmac(key, {msg}).view()));
}

TEST_CASE("primitives: HKDF with two and three outputs", "[cipher_noise][primitives]") {
  HashValue o1, o2, o3, p1, p2;
  hkdf(iota(64), iota(32), o1, o2, &o3);
  CHECK(hex(o1.view()) ==
        "b257cf2863e7aa7f84d41d31e58df6dfb1e0a6cf3172192cc35eba2625a21975db4475b2ef89316383acac6b2ac7cf03f7583e0ff20a"
        "64fb208fa5b1199f835f");
  CHECK(hex(o2.view()) ==
        "4f4d712feaff914e80db4d0d400a46056854134b5001018c4f1fe19bb477053c5a9b92f8c937b1328c0ae7e51895b8d68068bc84d594"
        "36cc3b75de5a2d6d0630");
  CHECK(hex(o3.view()) ==
        "c3e03a921f0f492329fe003e995b982fdd8c0596cc3575e01c2f24234e05e4778d233726d60ffe48a7d9ef235a6ff5fac555bafcfdd1"
        "272c4763ded2e01c0c3f");
  hkdf(iota(64), iota(32), p1, p2, nullptr);
  CHECK(hex(p1.view()) == hex(o1.view()));
  CHECK(hex(p2.view()) == hex(o2.view()));
}

TEST_CASE("primitives: ChaChaPoly nonce is 4 zero bytes then n little-endian", "[cipher_noise][primitives]") {
  const auto nonce = nonce_of(0x0102030405060708ULL);
  CHECK(hex(View(nonce.data(), nonce.size())) == "000000000807060504030201");
  Key k(iota(32));
  Bytes out;
  aead_encrypt(k, 0x0102030405060708ULL, text_bytes("ad"), text_bytes("hello noise"), out);
  CHECK(hex(out) == "982cc188c41984770dd84fdb07437cfe9a1d6d8aa3295a0906aecd");
  Bytes back;
  REQUIRE(aead_decrypt(k, 0x0102030405060708ULL, text_bytes("ad"), out, back));
  CHECK(back == text_bytes("hello noise"));
  out[3] ^= 1;
  Bytes none;
  CHECK_FALSE(aead_decrypt(k, 0x0102030405060708ULL, text_bytes("ad"), out, none));
  CHECK(none.empty());
}

TEST_CASE("primitives: DH refuses a low-order public key", "[cipher_noise][primitives]") {
  const DhKeyPair a = generate_keypair();
  const DhKeyPair b = generate_keypair();
  Key ab, ba;
  REQUIRE(dh(a.priv, b.pub, ab));
  REQUIRE(dh(b.priv, a.pub, ba));
  CHECK(hex(ab.view()) == hex(ba.view()));
  Key z;
  const PublicKey zero{};
  CHECK_FALSE(dh(a.priv, zero, z));
  PublicKey one{};
  one[0] = 1;  // the point of order 1... also low order
  CHECK_FALSE(dh(a.priv, one, z));
}

TEST_CASE("primitives: Secret wipes itself", "[cipher_noise][primitives]") {
  Key k(iota(32));
  CHECK(hex(k.view()) != std::string(64, '0'));
  k.wipe();
  CHECK(hex(k.view()) == std::string(64, '0'));
}

TEST_CASE("tai64n: layout and ordering", "[cipher_noise][tai64n]") {
  using namespace std::chrono;
  const system_clock::time_point t0{seconds(1700000000) + nanoseconds(123456789)};
  const Tai64n a = tai64n(t0);
  // 2^62 + 10 + 1700000000 = 0x400000006553f10a; nanoseconds rounded down to 2^24 ns.
  CHECK(hex(View(a.data(), 8)) == "400000006553f10a");
  CHECK(hex(View(a.data() + 8, 4)) == "07000000");
  const Tai64n b = tai64n(t0 + milliseconds(20));
  CHECK(tai64n_after(b, a));
  CHECK_FALSE(tai64n_after(a, b));
  CHECK_FALSE(tai64n_after(a, a));
  // Within the same 2^24 ns slot the timestamps are equal; next() moves on.
  const Tai64n c = tai64n(t0 + nanoseconds(1));
  CHECK_FALSE(tai64n_after(c, a));
  CHECK(tai64n_after(tai64n_next(a), a));
  Tai64n edge = a;
  edge[8] = 0x3b, edge[9] = 0x9a, edge[10] = 0xc9, edge[11] = 0xff;  // 999999999 ns
  const Tai64n carried = tai64n_next(edge);
  CHECK(hex(View(carried.data(), 12)) == "400000006553f10b00000000");
}
