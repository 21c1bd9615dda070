// The plugin entry point: one exported C symbol returning a descriptor.
//
//   VPNSDK_DEFINE_PLUGIN(MyCipher, "cipher_rot", vpnsdk::Stage::cipher, "1.0.0",
//                        "ROT-n demo cipher", kOptions, kNeeds, kProvides)
//
// The host reads struct_size/abi_major/abi_minor/toolchain before touching
// anything else, so a plugin built against another SDK is refused with a
// message, never run.
#pragma once
#include <cstddef>
#include <cstdint>
#include <exception>
#include <iterator>
#include <new>
#include <span>

#include "vpnsdk/context.hpp"
#include "vpnsdk/options.hpp"
#include "vpnsdk/status.hpp"
#include "vpnsdk/version.hpp"

#define VPNSDK_EXPORT __attribute__((visibility("default")))

namespace vpnsdk {

enum class Stage : std::uint32_t { transport = 1, cipher, device, router, responder };

inline const char* stage_name(Stage s) noexcept {
  switch (s) {
    case Stage::transport: return "transport";
    case Stage::cipher: return "cipher";
    case Stage::device: return "device";
    case Stage::router: return "router";
    case Stage::responder: return "responder";
  }
  return "unknown";
}

// Base of every stage interface; the host dynamic_casts to the stage type.
class VPNSDK_EXPORT Plugin {
 public:
  virtual ~Plugin() = default;
  // Live reload (SIGHUP, `vpnhost reload`): the manifest was read again and
  // `next` holds this plugin's options from it (already checked against the
  // schema). Re-read external files (e.g. authorized_clients) and apply what
  // can change while running; or return an error and change nothing, and
  // the host keeps running on the old configuration. The default accepts
  // only unchanged options.
  virtual Status reload(const Options& next, bool options_changed) {
    (void)next;
    if (!options_changed) return {};
    return Status::error(Code::config, "its options cannot change while running; restart to apply them");
  }
};

struct PluginDescriptor {
  // Stable prefix: never reordered in any ABI version.
  std::uint32_t struct_size;
  std::uint32_t abi_major;  // must equal the host's
  std::uint32_t abi_minor;  // must be <= the host's
  const char* toolchain;    // VPNSDK_TOOLCHAIN_ID the plugin was built with

  const char* name;     // equals the file name without ".so"
  Stage stage;
  const char* version;  // the plugin's own semantic version
  const char* summary;  // one line
  const OptionSpec* options;
  std::size_t option_count;
  // nullptr-terminated lists of capabilities ("cipher", "device", ...).
  // Every plugin provides its stage's name implicitly.
  const char* const* needs;
  const char* const* provides;

  // Never throw: errors come back through `error`.
  Plugin* (*create)(const HostContext& ctx, Status& error) noexcept;
  void (*destroy)(Plugin* p) noexcept;
};

// Exported symbol name; the version is in the name so an incompatible
// future entry point can coexist.
inline constexpr const char* kEntrySymbol = "vpnhost_plugin_v1";
using EntryFunction = const PluginDescriptor*();

namespace detail {
template <class T>
Plugin* create_plugin(const HostContext& ctx, Status& error) noexcept {
  if (ctx.abi_major != kAbiMajor) {
    error = Status::error(Code::config, "host context has another SDK ABI");
    return nullptr;
  }
  try {
    return new T(ctx);
  } catch (const ConfigError& e) {
    error = Status::error(Code::config, e.what());
  } catch (const std::exception& e) {
    error = Status::error(Code::internal, e.what());
  } catch (...) {
    error = Status::error(Code::internal, "unknown exception in plugin constructor");
  }
  return nullptr;
}
template <class T>
void destroy_plugin(Plugin* p) noexcept {
  delete p;  // virtual destructor; must not throw
}
}  // namespace detail

}  // namespace vpnsdk

// Defines the exported entry point. OPTIONS is a std::array/C array of
// OptionSpec (may be empty: use vpnsdk::kNoOptions); NEEDS/PROVIDES are
// nullptr-terminated const char* arrays or nullptr.
#define VPNSDK_DEFINE_PLUGIN(TYPE, NAME, STAGE, VERSION, SUMMARY, OPTIONS, NEEDS, PROVIDES) \
  extern "C" VPNSDK_EXPORT const ::vpnsdk::PluginDescriptor* vpnhost_plugin_v1() {           \
    static const ::vpnsdk::PluginDescriptor d{                                               \
        sizeof(::vpnsdk::PluginDescriptor),                                                  \
        VPNSDK_ABI_MAJOR,                                                                    \
        VPNSDK_ABI_MINOR,                                                                    \
        VPNSDK_TOOLCHAIN_ID,                                                                 \
        NAME,                                                                                \
        STAGE,                                                                               \
        VERSION,                                                                             \
        SUMMARY,                                                                             \
        std::data(OPTIONS),                                                                  \
        std::size(OPTIONS),                                                                  \
        NEEDS,                                                                               \
        PROVIDES,                                                                            \
        &::vpnsdk::detail::create_plugin<TYPE>,                                              \
        &::vpnsdk::detail::destroy_plugin<TYPE>};                                            \
    return &d;                                                                               \
  }

namespace vpnsdk {
// For plugins without options: VPNSDK_DEFINE_PLUGIN(..., vpnsdk::kNoOptions, ...)
inline constexpr std::span<const OptionSpec> kNoOptions{};
}  // namespace vpnsdk
