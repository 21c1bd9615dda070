// SDK version and the build fingerprint a plugin carries into the host.
#pragma once
#include <cstdint>

#include <boost/version.hpp>
#include <spdlog/version.h>

#define VPNSDK_ABI_MAJOR 1u
#define VPNSDK_ABI_MINOR 4u
#define VPNSDK_VERSION "0.1.0"

#define VPNSDK_STR2(x) #x
#define VPNSDK_STR(x) VPNSDK_STR2(x)

#if defined(__clang__)
#define VPNSDK_COMPILER_ID "clang-" VPNSDK_STR(__clang_major__)
#elif defined(__GNUC__)
#define VPNSDK_COMPILER_ID "gcc-" VPNSDK_STR(__GNUC__)
#else
#define VPNSDK_COMPILER_ID "unknown"
#endif

#if defined(_GLIBCXX_USE_CXX11_ABI)
#define VPNSDK_STDLIB_ID "libstdc++-cxx11abi" VPNSDK_STR(_GLIBCXX_USE_CXX11_ABI)
#elif defined(_LIBCPP_VERSION)
#define VPNSDK_STDLIB_ID "libc++-" VPNSDK_STR(_LIBCPP_ABI_VERSION)
#else
#define VPNSDK_STDLIB_ID "stdlib-unknown"
#endif

// Set by the vpnsdk CMake target: a hash of the SDK's interface headers.
#ifndef VPNSDK_INTERFACE_HASH
#define VPNSDK_INTERFACE_HASH "unknown"
#endif

// Everything that changes the layout of types crossing the plugin boundary:
// the SDK headers themselves (their hash),
// the C++ standard library ABI, Boost (Asio's io_context), spdlog (logger).
// The compiler is recorded for the message but only its family+major is used.
#define VPNSDK_TOOLCHAIN_ID                                                      \
  VPNSDK_COMPILER_ID " " VPNSDK_STDLIB_ID " boost-" BOOST_LIB_VERSION          \
                     " spdlog-" VPNSDK_STR(SPDLOG_VER_MAJOR) "." VPNSDK_STR(   \
                         SPDLOG_VER_MINOR) " c++" VPNSDK_STR(__cplusplus) " sdk-" VPNSDK_INTERFACE_HASH

namespace vpnsdk {
inline constexpr std::uint32_t kAbiMajor = VPNSDK_ABI_MAJOR;
inline constexpr std::uint32_t kAbiMinor = VPNSDK_ABI_MINOR;
inline constexpr const char* kToolchainId = VPNSDK_TOOLCHAIN_ID;
}  // namespace vpnsdk
