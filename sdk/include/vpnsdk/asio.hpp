// Include Boost.Asio through this header: Boost 1.74's awaitable.hpp uses
// std::exchange without including <utility>, which breaks C++20 builds when
// Asio comes first.
#pragma once
#include <utility>

#include <boost/asio/io_context.hpp>
