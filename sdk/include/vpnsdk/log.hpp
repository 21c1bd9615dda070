// Plugins log only through the spdlog logger the host hands them
// (HostContext::log), named after the plugin and sharing the host's sinks.
#pragma once
#include <spdlog/spdlog.h>
