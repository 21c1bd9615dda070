// The published Noise vectors (cacophony, 25519_ChaChaPoly_BLAKE2b), byte for
// byte: every handshake message, the handshake hash, and the transport
// messages sent with the Split() cipher states.
#include <catch2/catch.hpp>

#include <filesystem>

#include "../../../plugins/cipher_noise/handshake_state.hpp"
#include "json_mini.hpp"
#include "support.hpp"

using namespace cipher_noise;
using namespace noise_test;

namespace {

const std::string kVectorFile =
    std::string(VPNHOST_SOURCE_DIR) + "/tests/unit/cipher_noise/vectors/noise-25519-chachapoly-blake2b.json";

// The one Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b vector of the same source (vectors/README.md).
const std::string kPskVectorFile =
    std::string(VPNHOST_SOURCE_DIR) + "/tests/unit/cipher_noise/vectors/noise-ikpsk2-25519-chachapoly-blake2b.json";

Json load_vectors() { return JsonParser(read_file(kVectorFile)).parse(); }
Json load_psk_vectors() { return JsonParser(read_file(kPskVectorFile)).parse(); }

std::vector<Key> psks(const Json& v, const std::string& field) {
  std::vector<Key> out;
  if (!v.has(field)) return out;
  for (const Json& p : v[field].arr) {
    const Bytes b = unhex(p.str);
    REQUIRE(b.size() == kKeyLen);
    Key k;
    std::copy(b.begin(), b.end(), k.data());
    out.push_back(std::move(k));
  }
  return out;
}

const Json& vector_named(const Json& all, const std::string& name) {
  for (const Json& v : all["vectors"].arr)
    if (v["protocol_name"].str == name) return v;
  throw std::runtime_error("no vector " + name);
}

std::optional<DhKeyPair> key(const Json& v, const std::string& field) {
  if (!v.has(field)) return std::nullopt;
  return keypair_from_private(unhex(v[field].str));
}

const Pattern& pattern_of(const std::string& name) {
  if (name == "Noise_IK_25519_ChaChaPoly_BLAKE2b") return pattern_ik();
  if (name == "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b") return pattern_ikpsk2();
  if (name == "Noise_NN_25519_ChaChaPoly_BLAKE2b") return pattern_nn();
  if (name == "Noise_XX_25519_ChaChaPoly_BLAKE2b") return pattern_xx();
  throw std::runtime_error("unexpected pattern " + name);
}

void run_vector(const Json& v) {
  const std::string name = v["protocol_name"].str;
  INFO(name);
  const Pattern& pattern = pattern_of(name);
  REQUIRE(protocol_name(pattern) == name);

  HandshakeConfig ic;
  ic.pattern = &pattern;
  ic.initiator = true;
  ic.prologue = unhex(v["init_prologue"].str);
  ic.s = key(v, "init_static");
  ic.e = key(v, "init_ephemeral");
  ic.psks = psks(v, "init_psks");
  if (v.has("init_remote_static")) {
    PublicKey rs{};
    const Bytes b = unhex(v["init_remote_static"].str);
    std::copy(b.begin(), b.end(), rs.begin());
    ic.rs = rs;
  }
  HandshakeConfig rc;
  rc.pattern = &pattern;
  rc.initiator = false;
  rc.prologue = unhex(v["resp_prologue"].str);
  rc.s = key(v, "resp_static");
  rc.e = key(v, "resp_ephemeral");
  rc.psks = psks(v, "resp_psks");
  if (ic.rs) {
    // The vector's init_remote_static is the responder's public key.
    REQUIRE(rc.s);
    CHECK(hex(rc.s->pub) == hex(*ic.rs));
  }
  HandshakeState init(std::move(ic));
  HandshakeState resp(std::move(rc));

  const auto& messages = v["messages"].arr;
  const std::size_t handshake_messages = pattern.messages.size();
  REQUIRE(messages.size() > handshake_messages);
  for (std::size_t i = 0; i < handshake_messages; ++i) {
    INFO("handshake message " << i);
    HandshakeState& writer = i % 2 == 0 ? init : resp;
    HandshakeState& reader = i % 2 == 0 ? resp : init;
    const Bytes payload = unhex(messages[i]["payload"].str);
    Bytes wire;
    REQUIRE(writer.write_message(payload, wire));
    CHECK(hex(wire) == messages[i]["ciphertext"].str);
    Bytes got;
    REQUIRE(reader.read_message(wire, got));
    CHECK(hex(got) == hex(payload));
  }
  REQUIRE(init.finished());
  REQUIRE(resp.finished());
  CHECK(hex(init.handshake_hash().view()) == v["handshake_hash"].str);
  CHECK(hex(resp.handshake_hash().view()) == v["handshake_hash"].str);

  auto [i1, i2] = init.split();
  auto [r1, r2] = resp.split();
  for (std::size_t i = handshake_messages; i < messages.size(); ++i) {
    INFO("transport message " << i);
    // After the handshake the initiator still sends the even messages.
    const bool from_initiator = i % 2 == 0;
    CipherState& send = from_initiator ? i1 : r2;
    CipherState& recv = from_initiator ? r1 : i2;
    const Bytes payload = unhex(messages[i]["payload"].str);
    Bytes wire;
    REQUIRE(send.encrypt_with_ad({}, payload, wire));
    CHECK(hex(wire) == messages[i]["ciphertext"].str);
    Bytes got;
    REQUIRE(recv.decrypt_with_ad({}, wire, got));
    CHECK(hex(got) == hex(payload));
  }
}

}  // namespace

TEST_CASE("vectors: the copy equals the shared vector file", "[cipher_noise][vectors]") {
  const std::string shared = std::string(VPNHOST_SOURCE_DIR) + "/../shared/vectors/noise-25519-chachapoly-blake2b.json";
  if (!std::filesystem::exists(shared)) {
    WARN("the shared vector directory is not next to this checkout; compared nothing");
    return;
  }
  CHECK(read_file(shared) == read_file(kVectorFile));
}

TEST_CASE("vectors: Noise_IK_25519_ChaChaPoly_BLAKE2b byte for byte", "[cipher_noise][vectors]") {
  run_vector(vector_named(load_vectors(), "Noise_IK_25519_ChaChaPoly_BLAKE2b"));
}

TEST_CASE("vectors: Noise_NN_25519_ChaChaPoly_BLAKE2b byte for byte", "[cipher_noise][vectors]") {
  run_vector(vector_named(load_vectors(), "Noise_NN_25519_ChaChaPoly_BLAKE2b"));
}

TEST_CASE("vectors: Noise_XX_25519_ChaChaPoly_BLAKE2b byte for byte", "[cipher_noise][vectors]") {
  run_vector(vector_named(load_vectors(), "Noise_XX_25519_ChaChaPoly_BLAKE2b"));
}

TEST_CASE("vectors: Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b byte for byte", "[cipher_noise][vectors][psk]") {
  const Json all = load_psk_vectors();
  REQUIRE(all["vectors"].arr.size() == 1);
  const Json& v = vector_named(all, "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b");
  REQUIRE(v["init_psks"].arr.size() == 1);
  run_vector(v);
}

TEST_CASE("vectors: IKpsk2 with another psk: the initiation reads, the response does not", "[cipher_noise][vectors][psk]") {
  // psk2 mixes the psk in at the end of the second message: a responder
  // with the wrong psk still reads the first message (and learns the
  // initiator's static key), which is why the server may not trust a
  // session before the first transport frame from the client opens.
  const Json all = load_psk_vectors();
  const Json& v = vector_named(all, "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b");
  HandshakeConfig ic;
  ic.pattern = &pattern_ikpsk2();
  ic.initiator = true;
  ic.prologue = unhex(v["init_prologue"].str);
  ic.s = key(v, "init_static");
  ic.e = key(v, "init_ephemeral");
  ic.psks = psks(v, "init_psks");
  PublicKey rs{};
  const Bytes b = unhex(v["init_remote_static"].str);
  std::copy(b.begin(), b.end(), rs.begin());
  ic.rs = rs;
  HandshakeConfig rc;
  rc.pattern = &pattern_ikpsk2();
  rc.initiator = false;
  rc.prologue = unhex(v["resp_prologue"].str);
  rc.s = key(v, "resp_static");
  rc.e = key(v, "resp_ephemeral");
  Key wrong;
  wrong.data()[0] = 1;
  rc.psks.push_back(std::move(wrong));
  HandshakeState init(std::move(ic));
  HandshakeState resp(std::move(rc));
  Bytes m1, p1, m2, p2;
  REQUIRE(init.write_message(unhex(v["messages"].arr[0]["payload"].str), m1));
  CHECK(hex(m1) == v["messages"].arr[0]["ciphertext"].str);
  REQUIRE(resp.read_message(m1, p1));
  REQUIRE(resp.write_message(unhex(v["messages"].arr[1]["payload"].str), m2));
  CHECK(hex(m2) != v["messages"].arr[1]["ciphertext"].str);
  CHECK_FALSE(init.read_message(m2, p2));
}

TEST_CASE("vectors: a flipped bit in any handshake message is refused", "[cipher_noise][vectors]") {
  const Json all = load_vectors();
  const Json& v = vector_named(all, "Noise_IK_25519_ChaChaPoly_BLAKE2b");
  const Bytes msg1 = unhex(v["messages"].arr[0]["ciphertext"].str);
  for (std::size_t bit = 0; bit < msg1.size() * 8; bit += 7) {
    HandshakeConfig rc;
    rc.pattern = &pattern_ik();
    rc.initiator = false;
    rc.prologue = unhex(v["resp_prologue"].str);
    rc.s = keypair_from_private(unhex(v["resp_static"].str));
    HandshakeState resp(std::move(rc));
    Bytes tampered = msg1;
    tampered[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    Bytes payload;
    INFO("bit " << bit);
    CHECK_FALSE(resp.read_message(tampered, payload));
    CHECK(payload.empty());
  }
}
